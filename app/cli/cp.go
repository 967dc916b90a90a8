package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/node/client"
)

func newCpCmd(opts *options) *cobra.Command {
	var recursive, quiet bool
	cmd := &cobra.Command{
		Use:   "cp [-r] SOURCE... TARGET",
		Short: "Copy files and directories between this computer and the grid, or within the grid",
		Long: `cp copies as Tahoe's 'tahoe cp' does. Each SOURCE and TARGET is a local path, alias:path
or a cap; at least one side is on the grid.

  lafs cp file.txt home:docs/          upload into home:docs, as file.txt
  lafs cp file.txt home:docs/new.txt   upload as new.txt
  lafs cp home:docs/new.txt ./         download into the current directory
  lafs cp -r ~/photos home:            upload the folder as home:photos
  lafs cp -r home:photos ~/restore     download the directory (made if missing)
  lafs cp home:a.txt work:             grid to grid: an immutable file is linked, not copied

The rules (as /bin/cp and tahoe cp): a trailing slash says TARGET is a directory. A TARGET
that does not exist is a file when there is one file SOURCE, else a directory that is made.
Several SOURCEs need a directory TARGET. Into a directory, each SOURCE goes under its own
name; a directory SOURCE (with -r) becomes a subdirectory of that name; a bare directory
cap's contents are copied into TARGET itself; a bare file cap has no name, so it needs a file
TARGET. Existing files are replaced; a directory is never replaced by a file. Only regular
files and directories are copied: anything else is skipped with a warning (exit status 1).
Downloads are written as 'lafs get' writes them: complete or not at all.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return interruptible(cmd, func(ctx context.Context) error {
				e, err := client.Open(opts.nodeDir)
				if err != nil {
					return err
				}
				k := &copier{e: e, cmd: cmd, quiet: quiet, recursive: recursive, nodeDir: opts.nodeDir}
				if err := k.run(ctx, args[:len(args)-1], args[len(args)-1]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "copied %d files (%s), made %d directories\n", k.files, humanBytes(k.bytes), k.dirs)
				if k.skipped > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "lafs cp: %d skipped (not regular files or directories)\n", k.skipped)
					return exitError{1}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "copy directories and everything in them")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "draw no progress bars")
	return cmd
}

// copier does one cp.
type copier struct {
	e                *client.Client
	cmd              *cobra.Command
	quiet, recursive bool
	nodeDir          string

	files, dirs, skipped int
	bytes                int64
}

// endpoint is one SOURCE or TARGET.
type endpoint struct {
	arg   string       // as shown in messages (caps redacted)
	local string       // a local path, or "" on the grid
	path  *client.Path // on the grid
	name  string       // its own name ("" for a bare cap)
	slash bool         // ends in a slash: names a directory

	// What is there (found by stat/resolve).
	exists, isDir bool
	c             cap.Cap // on the grid
}

// isGrid reports whether arg names something on the grid: a cap, or
// alias:path for a known alias. "X:..." with an unknown alias is an
// error rather than a local file (as in Tahoe), except a path with a
// slash before the colon.
func (k *copier) isGrid(arg string) (bool, error) {
	if strings.HasPrefix(arg, "URI:") {
		return true, nil
	}
	alias, _, ok := strings.Cut(arg, ":")
	if !ok || strings.ContainsAny(alias, `/\`) {
		return false, nil
	}
	if _, known := k.e.Aliases[alias]; known {
		return true, nil
	}
	return false, fmt.Errorf("unknown alias %q in %s: create it with 'lafs create-alias %s' (for a local file with a colon in its name, write ./%s)", alias, arg, alias, arg)
}

func (k *copier) endpoint(ctx context.Context, arg string) (*endpoint, error) {
	ep := &endpoint{arg: arg, slash: strings.HasSuffix(arg, "/")}
	grid, err := k.isGrid(arg)
	if err != nil {
		return nil, err
	}
	if !grid {
		ep.local = arg
		ep.name = filepath.Base(filepath.Clean(arg))
		st, err := os.Stat(arg)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			ep.exists, ep.isDir = true, st.IsDir()
			if !st.IsDir() {
				if err := regular(arg, st); err != nil {
					return nil, err
				}
			}
		}
		return ep, nil
	}
	if ep.path, err = k.e.ParsePath(arg); err != nil {
		return nil, err
	}
	// Messages show the path with any cap redacted, never the cap.
	ep.arg, ep.name = ep.path.String(), ep.path.Last()
	cs, err := k.e.Resolve(ctx, arg)
	if errors.Is(err, dirnode.ErrNotFound) {
		return ep, nil
	}
	if err != nil {
		return nil, err
	}
	if ep.c, err = cap.Parse(cs); err != nil {
		return nil, fmt.Errorf("%s: %w", arg, err)
	}
	ep.exists, ep.isDir = true, ep.c.IsDir()
	return ep, nil
}

func (k *copier) run(ctx context.Context, srcArgs []string, dstArg string) error {
	var srcs []*endpoint
	anyDir := false
	for _, a := range srcArgs {
		s, err := k.endpoint(ctx, a)
		if err != nil {
			return err
		}
		if !s.exists {
			if s.local != "" {
				return fmt.Errorf("%s: no such file or directory", s.arg)
			}
			return fmt.Errorf("%s: nothing is linked there (lafs ls %s)", s.arg, client.ShellQuote(parentArg(s.arg)))
		}
		if s.isDir && !k.recursive {
			return fmt.Errorf("%s is a directory: copy it with 'lafs cp -r'", s.arg)
		}
		anyDir = anyDir || s.isDir
		srcs = append(srcs, s)
	}
	dst, err := k.endpoint(ctx, dstArg)
	if err != nil {
		return err
	}
	for _, s := range srcs {
		if s.local != "" && dst.local != "" {
			return fmt.Errorf("cp %s %s: both are on this computer: use cp(1); lafs cp copies to, from or within the grid", s.arg, dst.arg)
		}
	}
	intoDir := dst.slash || len(srcs) > 1 || anyDir || (dst.exists && dst.isDir)
	if !intoDir {
		// One file onto a file (existing or not).
		return k.copyFile(ctx, srcs[0], dst, nil)
	}
	if dst.exists && !dst.isDir {
		return fmt.Errorf("%s is a file: copying several sources or a directory needs a directory target", dst.arg)
	}
	td, err := k.targetDir(ctx, dst)
	if err != nil {
		return err
	}
	for _, s := range srcs {
		switch {
		case !s.isDir && s.name == "":
			return fmt.Errorf("%s is a file cap without a name: copy it to a file target (e.g. %s)", cap.Redacted(s.c), client.JoinShown(td.shown, "NAME"))
		case !s.isDir:
			if err := k.copyFile(ctx, s, nil, td); err != nil {
				return err
			}
		case s.name == "":
			// A bare directory cap: its contents go into the target.
			if err := k.copyDir(ctx, s, td); err != nil {
				return err
			}
		default:
			sub, err := td.sub(ctx, k, s.name)
			if err != nil {
				return err
			}
			if err := k.copyDir(ctx, s, sub); err != nil {
				return err
			}
		}
	}
	return nil
}

// parentArg is the directory of an alias:path argument, for a hint.
func parentArg(a string) string {
	a = strings.TrimSuffix(a, "/")
	if i := strings.LastIndexByte(a, '/'); i >= 0 {
		return a[:i]
	}
	if i := strings.IndexByte(a, ':'); i >= 0 {
		return a[:i+1]
	}
	return a
}

// dirRef is a target directory: local, or on the grid.
type dirRef struct {
	local string
	d     *dirnode.Directory
	shown string
}

// targetDir opens (making it, and its parents, if missing) the directory
// dst names.
func (k *copier) targetDir(ctx context.Context, dst *endpoint) (*dirRef, error) {
	if dst.local != "" {
		if !dst.exists {
			if err := os.MkdirAll(dst.local, 0o755); err != nil {
				return nil, err
			}
			k.dirs++
		}
		return &dirRef{local: dst.local, shown: dst.local}, nil
	}
	dir, err := k.e.WalkDir(ctx, dst.path, len(dst.path.Names), true)
	if err != nil {
		return nil, err
	}
	if !dst.exists {
		k.dirs++
	}
	return &dirRef{d: dir.D, shown: dir.Shown}, nil
}

// sub opens (making it if missing) the subdirectory name of r.
func (r *dirRef) sub(ctx context.Context, k *copier, name string) (*dirRef, error) {
	if r.local != "" {
		p := filepath.Join(r.local, name)
		st, err := os.Stat(p)
		switch {
		case err == nil && !st.IsDir():
			return nil, fmt.Errorf("%s is a file: it is not replaced by a directory", p)
		case errors.Is(err, os.ErrNotExist):
			if err := os.Mkdir(p, 0o755); err != nil {
				return nil, err
			}
			k.dirs++
		case err != nil:
			return nil, err
		}
		return &dirRef{local: p, shown: p}, nil
	}
	shown := client.JoinShown(r.shown, name)
	if err := dirnode.CheckName(name); err != nil {
		return nil, fmt.Errorf("cannot make %s: %w", shown, err)
	}
	_, err := r.d.Get(ctx, name)
	made := errors.Is(err, dirnode.ErrNotFound)
	d, err := k.e.Dirs.MkdirAll(ctx, r.d, name)
	if err != nil {
		return nil, fmt.Errorf("make %s: %w", shown, err)
	}
	if made {
		k.dirs++
	}
	return &dirRef{d: d, shown: shown}, nil
}

// copyDir copies the contents of the directory s into r.
func (k *copier) copyDir(ctx context.Context, s *endpoint, r *dirRef) error {
	if s.local != "" {
		ents, err := os.ReadDir(s.local)
		if err != nil {
			return err
		}
		for _, ent := range ents {
			p := filepath.Join(s.local, ent.Name())
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			child := &endpoint{arg: p, local: p, name: ent.Name(), exists: true, isDir: st.IsDir()}
			switch {
			case st.IsDir():
				sub, err := r.sub(ctx, k, ent.Name())
				if err != nil {
					return err
				}
				if err := k.copyDir(ctx, child, sub); err != nil {
					return err
				}
			case st.Mode().IsRegular():
				if err := k.copyFile(ctx, child, nil, r); err != nil {
					return err
				}
			default:
				fmt.Fprintf(k.cmd.ErrOrStderr(), "lafs cp: skipped %v\n", regular(p, st))
				k.skipped++
			}
		}
		return nil
	}
	d, err := k.e.Dirs.Open(s.c.String())
	if err != nil {
		return err
	}
	names, entries, err := d.List(ctx)
	if err != nil {
		return fmt.Errorf("list %s: %w", s.arg, err)
	}
	for _, n := range names {
		ent := entries[n]
		cs := ent.WriteCap
		if cs == "" {
			cs = ent.ReadCap
		}
		c := cap.ParseChild(cs)
		shown := client.JoinShown(s.arg, n)
		child := &endpoint{arg: shown, name: n, exists: true, isDir: c.IsDir(), c: c}
		switch {
		case c.Kind() == cap.KindUnknown:
			fmt.Fprintf(k.cmd.ErrOrStderr(), "lafs cp: skipped %s: a kind of object this version does not know\n", shown)
			k.skipped++
		case c.IsDir():
			sub, err := r.sub(ctx, k, n)
			if err != nil {
				return err
			}
			if err := k.copyDir(ctx, child, sub); err != nil {
				return err
			}
		default:
			if err := k.copyFile(ctx, child, nil, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFile copies the file s to the file dst, or with dst nil into the
// directory r under s's own name.
func (k *copier) copyFile(ctx context.Context, s, dst *endpoint, r *dirRef) error {
	name := s.name
	// To this computer.
	if (dst != nil && dst.local != "") || (r != nil && r.local != "") {
		out := ""
		if dst != nil {
			out = dst.local
		} else {
			out = filepath.Join(r.local, name)
		}
		if st, err := os.Stat(out); err == nil && st.IsDir() {
			return fmt.Errorf("%s is a directory: it is not replaced by a file", out)
		}
		total := int64(-1)
		if n := cap.Describe(s.c).Size; n != nil {
			total = *n
		}
		bar := newProgress(k.cmd.ErrOrStderr(), k.quiet, "receiving", total)
		err := downloadTo(ctx, k.e, s.c, out, bar)
		bar.finish()
		if err != nil {
			return fmt.Errorf("copy %s to %s: %w", s.arg, out, err)
		}
		if st, err := os.Stat(out); err == nil {
			k.bytes += st.Size()
		}
		k.files++
		return nil
	}
	// To the grid: where it goes.
	var d *dirnode.Directory
	var shown string
	if dst != nil {
		lo := client.LinkOptions{Name: s.name, IntoDir: true, Replace: dirnode.ReplaceFiles}
		dir, n, err := k.e.LinkTarget(ctx, dst.path, nil, lo)
		if err != nil {
			return err
		}
		d, shown, name = dir.D, dir.Shown, n
	} else {
		d, shown = r.d, r.shown
		if err := d.Check(ctx, name, dirnode.ReplaceFiles); err != nil {
			return linkErr(shown, name, err)
		}
	}
	c, size, err := k.gridFile(ctx, s)
	if err != nil {
		return err
	}
	md := map[string]any{}
	if !c.IsMutable() {
		md["size"] = float64(size)
	}
	if _, err := d.Link(ctx, name, c, md, dirnode.ReplaceFiles); err != nil {
		return linkErr(shown, name, err)
	}
	k.files++
	k.bytes += size
	return nil
}

func linkErr(dir, name string, err error) error {
	where := client.JoinShown(dir, name)
	switch {
	case errors.Is(err, dirnode.ErrIsDirectory):
		return &client.IsDirError{Path: where}
	case errors.Is(err, dirnode.ErrReadOnly):
		return fmt.Errorf("cannot link %q: %s is read-only (use a writable cap of it)", name, dir)
	}
	return fmt.Errorf("link %s: %w", where, err)
}

// gridFile is the cap to link for the file s on the grid: uploaded from
// this computer, the same cap for an immutable file on the grid, or a new
// immutable copy of a mutable file's current contents (as tahoe cp).
func (k *copier) gridFile(ctx context.Context, s *endpoint) (cap.Cap, int64, error) {
	if s.local != "" {
		in, err := openSource(s.local, nil, k.nodeDir)
		if err != nil {
			return nil, 0, err
		}
		defer in.close()
		p := &putter{e: k.e, cmd: k.cmd, quiet: k.quiet}
		return p.upload(ctx, in)
	}
	if !s.c.IsMutable() {
		size := int64(0)
		if n := cap.Describe(s.c).Size; n != nil {
			size = *n
		}
		return s.c, size, nil
	}
	f, err := mutable.Open(s.c.String(), k.e.Dirs.Servers, k.e.Dirs.Options)
	if err != nil {
		return nil, 0, err
	}
	data, _, err := f.Read(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", s.arg, err)
	}
	up, err := k.e.Imm.Upload(ctx, bytes.NewReader(data))
	if err != nil {
		return nil, 0, fmt.Errorf("copy %s: %w", s.arg, err)
	}
	return up.Cap, up.Bytes, nil
}
