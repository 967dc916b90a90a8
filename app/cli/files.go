package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
)

func newPutCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "put FILE [alias:path]",
		Short: "Upload a file (immutable); print its cap, and link it at alias:path if given",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			up, err := e.Imm.Upload(cmd.Context(), f)
			if err != nil {
				return fmt.Errorf("upload %s: %w", args[0], err)
			}
			if len(args) == 2 {
				d, name, err := e.ParentDir(cmd.Context(), args[1])
				if err != nil {
					return err
				}
				md := map[string]any{"size": float64(up.Bytes)}
				if err := d.SetCap(cmd.Context(), name, up.Cap, md, true); err != nil {
					return fmt.Errorf("link %s: %w", args[1], err)
				}
			}
			// Printing the cap is what put is for (as in Tahoe).
			fmt.Fprintln(cmd.OutOrStdout(), up.Cap.String())
			return nil
		},
	}
}

func newGetCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "get CAP|alias:path [OUTFILE]",
		Short: "Download a file to OUTFILE (default: standard output)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			s, err := e.Resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			c, err := cap.Parse(s)
			if err != nil {
				return err
			}
			var out io.Writer = cmd.OutOrStdout()
			if len(args) == 2 {
				f, err := os.CreateTemp(dirOf(args[1]), ".lafs-get-*")
				if err != nil {
					return err
				}
				defer os.Remove(f.Name())
				if err := e.Download(cmd.Context(), c, f); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
				// Only a complete, verified download replaces OUTFILE.
				return os.Rename(f.Name(), args[1])
			}
			return e.Download(cmd.Context(), c, out)
		},
	}
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i+1]
	}
	return "."
}

func newLsCmd(opts *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls alias:[path]|DIRCAP",
		Short: "List a directory",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			s, err := e.Resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			d, err := e.Dirs.Open(s)
			if err != nil {
				return err
			}
			names, entries, err := d.List(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				type item struct {
					Name     string         `json:"name"`
					ReadCap  string         `json:"ro_uri,omitempty"`
					Metadata map[string]any `json:"metadata"`
				}
				var items []item
				for _, n := range names {
					items = append(items, item{n, entries[n].ReadCap, entries[n].Metadata})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			for _, n := range names {
				kind := "file"
				if c := cap.ParseChild(entries[n].ReadCap); c.IsDir() {
					kind, n = "dir", n+"/"
				}
				fmt.Fprintf(out, "%-4s %s\n", kind, n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (read caps included: they are secrets)")
	return cmd
}

func newMkdirCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "mkdir [alias:path]",
		Short: "Make a directory (and its parents); with no argument, make an unlinked one and print its cap",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				d, err := e.Dirs.Create(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), d.Cap().String())
				return nil
			}
			c, path, err := e.SplitTarget(args[0])
			if err != nil {
				return err
			}
			root, err := e.Dirs.Open(c)
			if err != nil {
				return err
			}
			_, err = e.Dirs.MkdirAll(cmd.Context(), root, strings.Join(path, "/"))
			return err
		},
	}
}

func newCreateAliasCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "create-alias NAME",
		Short: "Make a new directory and remember it as NAME: (in private/aliases)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.TrimSuffix(args[0], ":")
			if name == "" || strings.ContainsAny(name, ":/ ") {
				return fmt.Errorf("alias %q: use letters, digits, - and _", args[0])
			}
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			if _, ok := e.Aliases[name]; ok {
				return fmt.Errorf("alias %q already exists", name)
			}
			d, err := e.Dirs.Create(cmd.Context())
			if err != nil {
				return err
			}
			e.Aliases[name] = d.Cap().String()
			if err := config.SaveAliases(e.Dir, e.Aliases); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Alias %q created\n", name)
			return nil
		},
	}
}

func newListAliasesCmd(opts *options) *cobra.Command {
	var showCaps bool
	cmd := &cobra.Command{
		Use:   "list-aliases",
		Short: "List aliases (their caps only with --show-caps: they are secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			aliases, err := config.LoadAliases(opts.nodeDir)
			if err != nil {
				return err
			}
			for name, c := range aliases {
				if showCaps {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", name, c)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%s:\n", name)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&showCaps, "show-caps", false, "print each alias's directory cap")
	return cmd
}

func newCheckCmd(opts *options) *cobra.Command {
	var verify, repair, asJSON bool
	cmd := &cobra.Command{
		Use:   "check [--verify] [--repair] CAP|alias:path",
		Short: "Check an immutable file's shares; --verify reads every block, --repair restores missing shares",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			s, err := e.Resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			c, err := cap.Parse(s)
			if err != nil {
				return err
			}
			res, err := e.Imm.Check(cmd.Context(), c, verify)
			if err != nil {
				return err
			}
			if repair && !res.Healthy {
				rr, err := e.Imm.Repair(cmd.Context(), c, verify)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "repaired: placed %d shares\n", rr.Placed)
				res = rr.After
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.Summary())
			if !res.Recoverable {
				return exitError{2}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "download and check every block of every share")
	cmd.Flags().BoolVar(&repair, "repair", false, "regenerate and place missing shares")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
