package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/syncer/api"
)

func newSyncAddCmd(opts *options) *cobra.Command {
	var name, to string
	cmd := &cobra.Command{
		Use:   "add LOCAL_DIR [--name NAME] [--to DIRCAP]",
		Short: "Sync LOCAL_DIR with a new grid directory, or with --to join a folder of another device of yours",
		Long: `add keeps LOCAL_DIR (made if missing) in step with the grid: a new grid directory is made
for it, and its files are uploaded and kept up to date. --name names the folder (default:
the directory's base name). --to DIRCAP joins an existing folder instead: DIRCAP is its
write cap, from 'lafs sync share FOLDER --write' on your other device; both devices then
keep the folder in step.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return addFolder(cmd, opts, api.AddRequest{Path: args[0], Name: name, To: to})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the folder's name (default: LOCAL_DIR's base name)")
	cmd.Flags().StringVar(&to, "to", "", "join this existing folder: its write cap (lafs sync share FOLDER --write)")
	return cmd
}

func newSyncFollowCmd(opts *options) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "follow READCAP LOCAL_DIR [--name NAME]",
		Short: "Mirror a friend's folder read-only into LOCAL_DIR",
		Long: `follow mirrors the folder READCAP (from 'lafs sync share FOLDER' on the friend's device)
into LOCAL_DIR (made if missing): its files arrive, and so do its later changes. It is
read-only: your local edits are not uploaded (lafs sync status counts them).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return addFolder(cmd, opts, api.AddRequest{Path: args[1], Name: name, Follow: args[0]})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the folder's name (default: LOCAL_DIR's base name)")
	return cmd
}

func addFolder(cmd *cobra.Command, opts *options, r api.AddRequest) error {
	abs, err := filepath.Abs(r.Path)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Path, err)
	}
	r.Path = abs
	_, serr := os.Stat(abs)
	missing := errors.Is(serr, fs.ErrNotExist)
	s, err := dialSync(opts)
	if err != nil {
		return err
	}
	st, err := s.c.Add(cmd.Context(), r)
	if err != nil {
		return s.failed("add "+abs, err)
	}
	out := cmd.OutOrStdout()
	if _, err := os.Stat(abs); missing && err == nil {
		// The node made it: say so, so that a mistyped path shows.
		fmt.Fprintf(out, "%s did not exist: made it, empty.\n", st.Path)
	}
	switch {
	case r.Follow != "":
		fmt.Fprintf(out, "Following into %s as folder %q (read-only: local edits are not uploaded).\n", st.Path, st.Name)
	case r.To != "":
		fmt.Fprintf(out, "Syncing %s as folder %q, joined to your existing folder.\n", st.Path, st.Name)
	default:
		fmt.Fprintf(out, "Syncing %s as folder %q, in a new grid directory.\n", st.Path, st.Name)
		fmt.Fprintf(out, "Your other devices join it with: lafs sync add DIR --to CAP   (CAP from: lafs sync share %s --write)\n", client.ShellQuote(st.Name))
	}
	fmt.Fprintf(out, "How it is doing: lafs sync status %s\n", client.ShellQuote(st.Name))
	return nil
}
