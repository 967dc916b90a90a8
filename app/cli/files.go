package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/storagenode"
)

// env is what the file commands need: the servers of the node's static
// list, the client's secrets and parameters, and its aliases.
type env struct {
	dir     string
	imm     *immutable.Client
	dirs    *dirnode.Client
	aliases map[string]string
}

func openEnv(opts *options) (*env, error) {
	dir := opts.nodeDir
	servers, err := storagenode.DialAll(dir, nil)
	if err != nil {
		return nil, err
	}
	if len(servers) == 0 {
		return nil, fmt.Errorf("no storage servers known in %s: start the local grid with 'lafs daemon' (or 'make run'), or list servers there", config.ServersPath(dir))
	}
	secrets, err := config.LoadClientSecrets(dir)
	if err != nil {
		return nil, err
	}
	p := immutable.DefaultParams()
	if c, err := config.Load(dir); err == nil {
		p.K, p.Happy, p.N = c.SharesNeeded, c.SharesHappy, c.SharesTotal
	}
	aliases, err := config.LoadAliases(dir)
	if err != nil {
		return nil, err
	}
	return &env{
		dir:     dir,
		imm:     &immutable.Client{Servers: servers, Params: p, Convergence: secrets.Convergence, LeaseSecret: secrets.Lease},
		dirs:    &dirnode.Client{Servers: servers, Options: mutable.Options{K: p.K, N: p.N, LeaseSecret: secrets.Lease}},
		aliases: aliases,
	}, nil
}

// splitTarget reads "alias:path", or a bare cap.
func (e *env) splitTarget(s string) (rootCap string, path []string, err error) {
	if strings.HasPrefix(s, "URI:") {
		return s, nil, nil
	}
	alias, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", nil, fmt.Errorf("%q is neither a cap nor alias:path (aliases: lafs list-aliases)", s)
	}
	root, ok := e.aliases[alias]
	if !ok {
		return "", nil, fmt.Errorf("unknown alias %q: create it with 'lafs create-alias %s'", alias, alias)
	}
	for _, p := range strings.Split(rest, "/") {
		if p != "" {
			path = append(path, p)
		}
	}
	return root, path, nil
}

// resolve walks alias:path to the cap it names.
func (e *env) resolve(ctx context.Context, s string) (string, error) {
	c, path, err := e.splitTarget(s)
	if err != nil {
		return "", err
	}
	for i, name := range path {
		d, err := e.dirs.Open(c)
		if err != nil {
			return "", fmt.Errorf("%s is not a directory: %w", strings.Join(path[:i], "/"), err)
		}
		ent, err := d.Get(ctx, name)
		if err != nil {
			return "", err
		}
		if c = ent.WriteCap; c == "" {
			c = ent.ReadCap
		}
	}
	return c, nil
}

// parentDir resolves alias:dir/name to the directory and the last name.
func (e *env) parentDir(ctx context.Context, s string) (*dirnode.Directory, string, error) {
	c, path, err := e.splitTarget(s)
	if err != nil {
		return nil, "", err
	}
	if len(path) == 0 {
		return nil, "", fmt.Errorf("%q names no entry inside the directory", s)
	}
	root, err := e.dirs.Open(c)
	if err != nil {
		return nil, "", err
	}
	parent, err := e.dirs.MkdirAll(ctx, root, strings.Join(path[:len(path)-1], "/"))
	return parent, path[len(path)-1], err
}

func newPutCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "put FILE [alias:path]",
		Short: "Upload a file (immutable); print its cap, and link it at alias:path if given",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := openEnv(opts)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			up, err := e.imm.Upload(cmd.Context(), f)
			if err != nil {
				return fmt.Errorf("upload %s: %w", args[0], err)
			}
			if len(args) == 2 {
				d, name, err := e.parentDir(cmd.Context(), args[1])
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
			e, err := openEnv(opts)
			if err != nil {
				return err
			}
			s, err := e.resolve(cmd.Context(), args[0])
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
				if err := download(cmd.Context(), e, c, f); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
				// Only a complete, verified download replaces OUTFILE.
				return os.Rename(f.Name(), args[1])
			}
			return download(cmd.Context(), e, c, out)
		},
	}
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i+1]
	}
	return "."
}

func download(ctx context.Context, e *env, c cap.Cap, w io.Writer) error {
	switch {
	case c.IsDir():
		return fmt.Errorf("%s is a directory: use 'lafs ls'", c.Kind())
	case c.IsMutable():
		f, err := mutable.Open(c.String(), e.dirs.Servers, e.dirs.Options)
		if err != nil {
			return err
		}
		data, _, err := f.Read(ctx)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	_, err := e.imm.Download(ctx, c, w)
	return err
}

func newLsCmd(opts *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls alias:[path]|DIRCAP",
		Short: "List a directory",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := openEnv(opts)
			if err != nil {
				return err
			}
			s, err := e.resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			d, err := e.dirs.Open(s)
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
			e, err := openEnv(opts)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				d, err := e.dirs.Create(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), d.Cap().String())
				return nil
			}
			c, path, err := e.splitTarget(args[0])
			if err != nil {
				return err
			}
			root, err := e.dirs.Open(c)
			if err != nil {
				return err
			}
			_, err = e.dirs.MkdirAll(cmd.Context(), root, strings.Join(path, "/"))
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
			e, err := openEnv(opts)
			if err != nil {
				return err
			}
			if _, ok := e.aliases[name]; ok {
				return fmt.Errorf("alias %q already exists", name)
			}
			d, err := e.dirs.Create(cmd.Context())
			if err != nil {
				return err
			}
			e.aliases[name] = d.Cap().String()
			if err := config.SaveAliases(e.dir, e.aliases); err != nil {
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
			e, err := openEnv(opts)
			if err != nil {
				return err
			}
			s, err := e.resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			c, err := cap.Parse(s)
			if err != nil {
				return err
			}
			res, err := e.imm.Check(cmd.Context(), c, verify)
			if err != nil {
				return err
			}
			if repair && !res.Healthy {
				rr, err := e.imm.Repair(cmd.Context(), c, verify)
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
