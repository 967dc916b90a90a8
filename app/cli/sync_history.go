package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/syncer/api"
)

func newSyncHistoryCmd(opts *options) *cobra.Command {
	var asJSON, deleted bool
	cmd := &cobra.Command{
		Use:   "history PATH [--json] | history --deleted [DIR] [--json]",
		Short: "List the versions of a file in a synced folder, deleted files included",
		Long: `history lists the versions the grid keeps of PATH, a file in a synced folder (it need not
exist locally any more: a deleted file's versions are kept too). Version 0 is the current
one; 1 the most recent previous one, and so on. Get one back with 'lafs sync restore PATH
--version N'. --json prints the list (docs/webapi.md).

history --deleted lists the files deleted from DIR and its subfolders whose versions the
grid keeps, newest first: DIR is a synced folder (its directory or name) or a directory
in one (default: the current directory).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if deleted {
				return cobra.MaximumNArgs(1)(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := dialSync(opts)
			if err != nil {
				return err
			}
			if deleted {
				dir := "."
				if len(args) == 1 {
					dir = args[0]
				}
				return listDeleted(cmd, s, dir, asJSON)
			}
			f, rel, err := s.within(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			vs, err := s.c.History(cmd.Context(), f.Name, rel)
			if err != nil {
				if errorsIsNoFolder(err) {
					return fmt.Errorf("%s: the grid keeps no version of it in folder %s (%v)", rel, f.Name, err)
				}
				return s.explain(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSONOut(out, vs)
			}
			if len(vs) == 0 {
				fmt.Fprintf(out, "%s: no versions kept.\n", rel)
				return nil
			}
			fmt.Fprintf(out, "%s in folder %s:\n", rel, f.Name)
			fmt.Fprintf(out, "  %3s  %10s  %-19s  %-10s  %s\n", "N", "SIZE", "MODIFIED", "BY", "")
			for _, v := range vs {
				note := ""
				switch {
				case v.N == 0 && !v.Deleted:
					note = "current"
				case v.Deleted:
					note = "deleted " + when(v.Replaced)
				case !v.Replaced.IsZero():
					note = "replaced " + when(v.Replaced)
				}
				fmt.Fprintf(out, "  %3d  %10s  %-19s  %-10s  %s\n", v.N, sizeText(uint64(max(v.Size, 0))), when(v.Mtime), v.By, note)
			}
			fmt.Fprintf(out, "Restore one with: lafs sync restore %s --version N [--to OUT]\n", client.ShellQuote(args[0]))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the versions as JSON")
	cmd.Flags().BoolVar(&deleted, "deleted", false, "list the deleted files of a folder or directory instead")
	return cmd
}

// listDeleted prints the deleted files under dir: a synced folder (its
// name or directory) or a directory inside one.
func listDeleted(cmd *cobra.Command, s *syncConn, dir string, asJSON bool) error {
	ctx := cmd.Context()
	f, err := s.resolve(ctx, dir)
	rel := ""
	if err != nil {
		var ierr error
		if f, rel, ierr = s.within(ctx, dir); ierr != nil {
			return err
		}
	}
	l, err := s.c.Deleted(ctx, f.Name, rel)
	if err != nil {
		if errorsIsNoFolder(err) {
			return fmt.Errorf("%s: %v", dir, err)
		}
		return s.explain(err)
	}
	out := cmd.OutOrStdout()
	if asJSON {
		return writeJSONOut(out, l)
	}
	where := "folder " + f.Name
	if rel != "" {
		where = rel + "/ in folder " + f.Name
	}
	if len(l.Files) == 0 {
		fmt.Fprintf(out, "No deleted files kept in %s.\n", where)
		return nil
	}
	fmt.Fprintf(out, "Deleted files in %s, newest first:\n", where)
	fmt.Fprintf(out, "  %-19s  %10s  %-10s  %s\n", "DELETED", "SIZE", "BY", "PATH")
	for _, d := range l.Files {
		fmt.Fprintf(out, "  %-19s  %10s  %-10s  %s\n", when(d.Deleted), sizeText(uint64(max(d.Size, 0))), d.By, d.Path)
	}
	if l.Truncated {
		fmt.Fprintf(out, "Only the %d most recently deleted are listed; there may be more (name a subdirectory to see its own).\n", len(l.Files))
	}
	p := filepath.Join(f.Path, filepath.FromSlash(l.Files[0].Path))
	fmt.Fprintf(out, "See a file's versions with: lafs sync history %s; get it back with: lafs sync restore %s\n", client.ShellQuote(p), client.ShellQuote(p))
	return nil
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func errorsIsNoFolder(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.Status == 404
}

func newSyncRestoreCmd(opts *options) *cobra.Command {
	var version int
	var to string
	cmd := &cobra.Command{
		Use:   "restore PATH [--version N] [--to OUT]",
		Short: "Get back a previous version of a file in a synced folder (or a deleted file)",
		Long: `restore writes a previous version of PATH (a file in a synced folder; see 'lafs sync
history PATH'): --version N (default: the most recent previous one), to PATH itself or
--to OUT. A file already there is never overwritten: it is kept as a conflict copy beside
it. Restored into the folder, the version syncs to the other devices as a new change.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version < 0 {
				return fmt.Errorf("--version %d: want 1 or more (lafs sync history shows them)", version)
			}
			s, err := dialSync(opts)
			if err != nil {
				return err
			}
			f, rel, err := s.within(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			r := api.RestoreRequest{Path: rel, Version: version}
			if to != "" {
				if r.To, err = filepath.Abs(to); err != nil {
					return fmt.Errorf("--to %s: %w", to, err)
				}
			}
			res, err := s.c.Restore(cmd.Context(), f.Name, r)
			if err != nil {
				if errorsIsNoFolder(err) {
					return fmt.Errorf("restore %s: %v (lafs sync history %s lists the versions kept)", rel, err, client.ShellQuote(args[0]))
				}
				return s.failed("restore "+rel, err)
			}
			which := "the most recent previous version"
			if version > 0 {
				which = fmt.Sprintf("version %d", version)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored %s of %s to %s\n", which, rel, res.Path)
			return nil
		},
	}
	cmd.Flags().IntVar(&version, "version", 0, "which version (lafs sync history PATH lists them; default: the most recent previous one)")
	cmd.Flags().StringVar(&to, "to", "", "write it here instead of PATH")
	return cmd
}
