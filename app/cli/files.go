package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
)

func newPutCmd(opts *options) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "put FILE [alias:path]",
		Short: "Upload a file (immutable); print its cap, and link it at alias:path if given",
		Long: `put uploads FILE as an immutable file, prints its cap, and links it at alias:path if
given (making missing parent directories). While it runs, a progress bar is drawn on
standard error if that is a terminal (not with --quiet): first while the file is read to
derive its convergent key, then while it is encoded and sent.`,
		Args: cobra.RangeArgs(1, 2),
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
			var in io.ReadSeeker = f
			var bar *progress
			if st, err := f.Stat(); err == nil && st.Size() > chk.LITThreshold {
				// Upload reads the file twice when the key is convergent.
				phases := []string{"uploading"}
				if e.Imm.Convergence != nil {
					phases = []string{"hashing", "uploading"}
				}
				bar = newProgress(cmd.ErrOrStderr(), quiet, phases[0], st.Size())
				in = &progressReader{r: f, p: bar, phases: phases}
			}
			up, err := e.Imm.Upload(cmd.Context(), in)
			bar.finish() // before anything else is printed
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
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "draw no progress bar")
	return cmd
}

func newGetCmd(opts *options) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "get CAP|alias:path [OUTFILE]",
		Short: "Download a file to OUTFILE (default: standard output)",
		Long: `get downloads a file to OUTFILE, which only a complete, verified download replaces, or
to standard output. A progress bar is drawn on standard error if that is a terminal and
the file is not being written to the same terminal (not with --quiet).`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, c, err := openCap(cmd, opts, args[0])
			if err != nil {
				return err
			}
			total := int64(-1) // unknown for mutable files
			if n := cap.Describe(c).Size; n != nil {
				total = *n
			}
			var bar *progress
			if len(args) == 2 || !isTerminal(cmd.OutOrStdout()) {
				bar = newProgress(cmd.ErrOrStderr(), quiet, "receiving", total)
				defer bar.finish()
			}
			var out io.Writer = progressWriter{cmd.OutOrStdout(), bar}
			if len(args) == 2 {
				f, err := os.CreateTemp(dirOf(args[1]), ".lafs-get-*")
				if err != nil {
					return err
				}
				defer os.Remove(f.Name())
				if err := e.Download(cmd.Context(), c, progressWriter{f, bar}); err != nil {
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
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "draw no progress bar")
	return cmd
}

// openCap opens the node's client and resolves target (CAP or
// alias:path) to the cap it names.
func openCap(cmd *cobra.Command, opts *options, target string) (*client.Client, cap.Cap, error) {
	e, err := client.Open(opts.nodeDir)
	if err != nil {
		return nil, nil, err
	}
	c, err := e.ResolveCap(cmd.Context(), target)
	return e, c, err
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
		Long: `ls lists a directory: one line per entry, "file NAME" or "dir  NAME/", sorted by name.

With --json it prints a JSON array (empty: []) of the entries, sorted by name:

  [{"name": "report.txt", "type": "file", "ro_uri": "URI:CHK:...", "metadata": {...}}]

type is "file", "dir" or "unknown"; ro_uri is the entry's read cap (a secret: anyone
holding it can read the child; write caps are never printed); metadata is the link's
metadata as stored (Tahoe's "tahoe" timestamps, "size" for files put by lafs). Fields may
be added; none will change meaning.`,
		Args: cobra.ExactArgs(1),
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
					Type     string         `json:"type"`
					ReadCap  string         `json:"ro_uri,omitempty"`
					Metadata map[string]any `json:"metadata"`
				}
				items := []item{}
				for _, n := range names {
					items = append(items, item{n, entryType(entries[n].ReadCap), entries[n].ReadCap, entries[n].Metadata})
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

// entryType is "file", "dir" or "unknown" for a directory entry's read cap.
func entryType(readCap string) string {
	switch c := cap.ParseChild(readCap); {
	case c.Kind() == cap.KindUnknown:
		return "unknown"
	case c.IsDir():
		return "dir"
	}
	return "file"
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
	var showCaps, asJSON bool
	cmd := &cobra.Command{
		Use:   "list-aliases",
		Short: "List aliases (their caps only with --show-caps: they are secrets)",
		Long: `list-aliases prints the aliases, sorted, one "NAME:" a line, or "NAME: CAP" with --show-caps.

With --json it prints a JSON object keyed by alias name, as Tahoe's list-aliases --json:

  {"home": {"readwrite": "URI:DIR2:...", "readonly": "URI:DIR2-RO:..."}}

The caps are included only with --show-caps (otherwise each value is {}); readwrite is
absent for an alias that holds only a read cap.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			aliases, err := config.LoadAliases(opts.nodeDir)
			if err != nil {
				return err
			}
			if asJSON {
				type caps struct {
					ReadWrite string `json:"readwrite,omitempty"`
					ReadOnly  string `json:"readonly,omitempty"`
				}
				out := map[string]caps{}
				for name, s := range aliases {
					var cs caps
					if showCaps {
						if c, err := cap.Parse(s); err != nil {
							cs.ReadWrite = s // as Tahoe: the alias's cap, whatever it is
						} else {
							if !c.IsReadOnly() {
								cs.ReadWrite = s
							}
							if r := c.ReadOnly(); r != nil {
								cs.ReadOnly = r.String()
							}
						}
					}
					out[name] = cs
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out) // map keys are sorted
			}
			names := make([]string, 0, len(aliases))
			for name := range aliases {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				c := aliases[name]
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
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newCheckCmd(opts *options) *cobra.Command {
	var verify, repair, asJSON bool
	cmd := &cobra.Command{
		Use:   "check [--verify] [--repair] CAP|alias:path",
		Short: "Check an immutable file's shares; --verify reads every block, --repair restores missing shares",
		Long: `check finds every share of an immutable file and prints one line on its health; --verify
also downloads and checks every block, --repair regenerates and places missing shares.
It exits with status 2 if the file is not recoverable.

With --json it prints one JSON object instead (after a repair, the state after it):

  {"Shares": {"0": ["SERVER-ID", ...], ...}, "Needed": 3, "Total": 10, "Happiness": 10,
   "Recoverable": true, "Healthy": true, "Bad": null, "Verified": false, "repaired": 7}

Shares maps share numbers to the IDs of the servers holding them; Bad lists shares
that failed verification or could not be listed ({"Server", "Share", "Reason"}); repaired
(shares placed) is present only when --repair placed shares. Fields may be added; none
will change meaning.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, c, err := openCap(cmd, opts, args[0])
			if err != nil {
				return err
			}
			res, err := e.Imm.Check(cmd.Context(), c, verify)
			if err != nil {
				return err
			}
			var repaired *int
			if repair && !res.Healthy {
				rr, err := e.Imm.Repair(cmd.Context(), c, verify)
				if err != nil {
					return err
				}
				if !asJSON {
					fmt.Fprintf(cmd.OutOrStdout(), "repaired: placed %d shares\n", rr.Placed)
				}
				res, repaired = rr.After, &rr.Placed
			}
			if asJSON {
				err := json.NewEncoder(cmd.OutOrStdout()).Encode(struct {
					*immutable.CheckResult
					Repaired *int `json:"repaired,omitempty"`
				}{res, repaired})
				if err != nil {
					return err
				}
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), res.Summary())
			}
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
