package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/node/client"
)

// ln, mv and rm change links in directories, as Tahoe's commands of the
// same names do: ln and mv replace an existing file at the target but
// never a directory, and make missing parent directories of the target.

func init() {
	moreCommands = append(moreCommands, newLnCmd, newMvCmd, newRmCmd)
}

func newLnCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "ln FROM TO",
		Short: "Link FROM (a cap or alias:path) at TO (alias:path) as well",
		Long: `ln adds a link: the child FROM names (a cap, or alias:path) is linked at TO too.
TO ending in a slash (alias:dir/) links it inside that directory under FROM's last name.
An existing file at TO is replaced; an existing directory is not. Missing parent
directories of TO are made.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, from, err := openTarget(opts, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var child *dirnode.Entry
			if len(from.path) == 0 {
				c, err := cap.Parse(from.root)
				if err != nil {
					return fmt.Errorf("ln %s: %w", from.shownDir(0), err)
				}
				child = capEntry(c)
			} else {
				src, err := from.dir(ctx, e, len(from.path)-1, false)
				if err != nil {
					return err
				}
				if child, err = from.entry(ctx, src); err != nil {
					return err
				}
			}
			dst, name, err := linkTarget(ctx, e, from, args[1], child)
			if err != nil {
				return err
			}
			if err := dst.d.Set(ctx, name, child.ReadCap, child.WriteCap, child.Metadata, true); err != nil {
				return dst.linkError(name, err)
			}
			return nil
		},
	}
}

func newMvCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "mv FROM TO",
		Short: "Move (rename) the link FROM (alias:path) to TO (alias:path)",
		Long: `mv renames a link, within a directory or into another one. TO ending in a slash
(alias:dir/) moves FROM into that directory under its own name. An existing file at TO
is replaced; an existing directory is not. Missing parent directories of TO are made.

Between directories the child is linked at TO first and unlinked from FROM second, so
if the second step fails the child is in both places (remove one with 'lafs rm'), never
in neither. Within one directory the rename is a single write.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, from, err := openTarget(opts, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if len(from.path) == 0 {
				return fmt.Errorf("mv: %s names no link to move: give alias:path (to link a cap somewhere, use 'lafs ln')", from.shownDir(0))
			}
			src, err := from.dir(ctx, e, len(from.path)-1, false)
			if err != nil {
				return err
			}
			child, err := from.entry(ctx, src)
			if err != nil {
				return err
			}
			dst, name, err := linkTarget(ctx, e, from, args[1], child)
			if err != nil {
				return err
			}
			// A directory moved beneath itself would be reachable only from
			// inside itself: lost. (Only the path walked to TO is known, so
			// this catches the mistakes made by typing, not every cycle.)
			if c := cap.ParseChild(child.ReadCap); c.IsDir() {
				si, _ := c.StorageIndex()
				for _, s := range dst.chain {
					if s == si {
						return fmt.Errorf("mv: cannot move %s into itself (%s)", from.shownDir(len(from.path)), args[1])
					}
				}
			}
			oldName := from.path[len(from.path)-1]
			if src.si == dst.si {
				d := src.d
				if d.ReadOnly() {
					d = dst.d // the same directory, reached by a writable cap
				}
				if err := d.Rename(ctx, oldName, name, true); err != nil {
					return dst.linkError(name, err)
				}
				return nil
			}
			if src.d.ReadOnly() {
				return fmt.Errorf("mv: %s is read-only, so %s cannot be unlinked from it (to add a link only, use 'lafs ln')", src.shown, args[0])
			}
			if err := dst.d.Set(ctx, name, child.ReadCap, child.WriteCap, child.Metadata, true); err != nil {
				return dst.linkError(name, err)
			}
			if err := src.d.Delete(ctx, oldName); err != nil {
				return fmt.Errorf("mv: linked at %s, but could not unlink %s (it is in both now; remove it with 'lafs rm %s'): %w",
					args[1], args[0], shellQuote(args[0]), err)
			}
			return nil
		},
	}
}

func newRmCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:     "rm alias:path",
		Aliases: []string{"unlink"},
		Short:   "Remove the link alias:path from its directory",
		Long: `rm unlinks alias:path from its directory (Tahoe's rm and unlink). The child itself is
not deleted: anyone holding its cap can still read it, and other links to it stay.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, t, err := openTarget(opts, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if len(t.path) == 0 {
				return fmt.Errorf("rm: %s is a whole directory, not a link in one: give alias:path/NAME", t.shownDir(0))
			}
			parent, err := t.dir(ctx, e, len(t.path)-1, false)
			if err != nil {
				return err
			}
			name := t.path[len(t.path)-1]
			err = parent.d.Delete(ctx, name)
			switch {
			case errors.Is(err, dirnode.ErrNotFound):
				return t.noEntry(len(t.path) - 1)
			case errors.Is(err, dirnode.ErrReadOnly):
				return fmt.Errorf("rm: %s is read-only: unlink with a writable cap of it", t.shownDir(len(t.path)-1))
			}
			return err
		},
	}
}

// target is a parsed alias:path or CAP/path argument.
type target struct {
	root  string // the root directory's cap (a secret: never shown)
	shown string // the root as shown in messages: "alias:" or a redacted cap and "/"
	path  []string
}

// openTarget opens the node's client and parses s against its aliases.
func openTarget(opts *options, s string) (*client.Client, *target, error) {
	e, err := client.Open(opts.nodeDir)
	if err != nil {
		return nil, nil, err
	}
	t, err := parseTarget(e, s)
	return e, t, err
}

func parseTarget(e *client.Client, s string) (*target, error) {
	root, path, err := e.SplitTarget(s)
	if err != nil {
		return nil, err
	}
	t := &target{root: root, path: path}
	if alias, _, ok := strings.Cut(s, ":"); ok && !strings.HasPrefix(s, "URI:") {
		t.shown = alias + ":"
	} else if c, err := cap.Parse(root); err == nil {
		t.shown = cap.Redacted(c) + "/"
	} else {
		t.shown = "URI:[unparsable]/"
	}
	return t, nil
}

// shownDir is the first n path elements for messages: "home:docs/2026".
func (t *target) shownDir(n int) string {
	return t.shown + strings.Join(t.path[:n], "/")
}

// noEntryError is a name missing from a directory.
type noEntryError struct{ name, dir string }

func (e *noEntryError) Error() string {
	return fmt.Sprintf("no entry %q in %s (lafs ls %s)", e.name, e.dir, shellQuote(e.dir))
}

func (e *noEntryError) Unwrap() error { return dirnode.ErrNotFound }

func (t *target) noEntry(i int) error { return &noEntryError{t.path[i], t.shownDir(i)} }

// openDir is a directory reached along a target's path.
type openDir struct {
	d     *dirnode.Directory
	si    storage.SI
	shown string
	// chain holds the storage indexes of the directories from the root
	// to this one (inclusive).
	chain []storage.SI
}

// dir opens the directory at the first n elements of the path. With create
// set, missing directories are made; otherwise they are a noEntryError.
func (t *target) dir(ctx context.Context, e *client.Client, n int, create bool) (*openDir, error) {
	c := t.root
	var chain []storage.SI
	for i := 0; ; i++ {
		d, err := e.Dirs.Open(c)
		if err != nil {
			return nil, fmt.Errorf("%s is not a directory: %w", t.shownDir(i), err)
		}
		si, _ := d.Cap().StorageIndex()
		chain = append(chain, si)
		if i == n {
			return &openDir{d: d, si: si, shown: t.shownDir(n), chain: chain}, nil
		}
		ent, err := d.Get(ctx, t.path[i])
		if errors.Is(err, dirnode.ErrNotFound) {
			if !create {
				return nil, t.noEntry(i)
			}
			// New directories cannot be in the chain of anything moved.
			if d, err = e.Dirs.MkdirAll(ctx, d, strings.Join(t.path[i:n], "/")); err != nil {
				return nil, fmt.Errorf("make %s: %w", t.shownDir(n), err)
			}
			si, _ := d.Cap().StorageIndex()
			return &openDir{d: d, si: si, shown: t.shownDir(n), chain: append(chain, si)}, nil
		}
		if err != nil {
			return nil, err
		}
		if !cap.ParseChild(ent.ReadCap).IsDir() {
			return nil, fmt.Errorf("%s is not a directory", t.shownDir(i+1))
		}
		if c = ent.WriteCap; c == "" {
			c = ent.ReadCap
		}
	}
}

// entry returns the entry the full path names, from its parent src.
func (t *target) entry(ctx context.Context, src *openDir) (*dirnode.Entry, error) {
	last := len(t.path) - 1
	ent, err := src.d.Get(ctx, t.path[last])
	if errors.Is(err, dirnode.ErrNotFound) {
		return nil, t.noEntry(last)
	}
	return ent, err
}

// capEntry is the entry linking c would make.
func capEntry(c cap.Cap) *dirnode.Entry {
	if c.IsReadOnly() {
		return &dirnode.Entry{ReadCap: c.String()}
	}
	ent := &dirnode.Entry{WriteCap: c.String()}
	if r := c.ReadOnly(); r != nil {
		ent.ReadCap = r.String()
	}
	return ent
}

// linkTarget resolves the TO of ln and mv to its directory and the name
// to link, making missing parents. It refuses to replace a directory.
func linkTarget(ctx context.Context, e *client.Client, from *target, to string, child *dirnode.Entry) (*openDir, string, error) {
	t, err := parseTarget(e, to)
	if err != nil {
		return nil, "", err
	}
	var dst *openDir
	var name string
	if strings.HasSuffix(to, "/") || strings.HasSuffix(to, ":") || len(t.path) == 0 {
		// Into the directory TO, under FROM's own name.
		if len(from.path) == 0 {
			return nil, "", fmt.Errorf("a cap has no name to link it under: end TO with the name, e.g. %sNAME", strings.TrimSuffix(to, "/")+"/")
		}
		name = from.path[len(from.path)-1]
		if dst, err = t.dir(ctx, e, len(t.path), true); err != nil {
			return nil, "", err
		}
	} else {
		name = t.path[len(t.path)-1]
		if dst, err = t.dir(ctx, e, len(t.path)-1, true); err != nil {
			return nil, "", err
		}
	}
	if err := dirnode.CheckName(name); err != nil {
		return nil, "", fmt.Errorf("cannot link %q in %s: %w", name, dst.shown, err)
	}
	old, err := dst.d.Get(ctx, name)
	switch {
	case errors.Is(err, dirnode.ErrNotFound):
	case err != nil:
		return nil, "", err
	case cap.ParseChild(old.ReadCap).IsDir() && !sameChild(old, child):
		where := joinShown(dst.shown, name)
		return nil, "", fmt.Errorf("%s is a directory and is not replaced: to put the link inside it, end TO with a slash (%s/)", where, where)
	}
	return dst, name, nil
}

// joinShown appends a name to a directory as shown in messages.
func joinShown(dir, name string) string {
	if strings.HasSuffix(dir, ":") || strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

func sameChild(a, b *dirnode.Entry) bool {
	return a.ReadCap == b.ReadCap && a.WriteCap == b.WriteCap
}

func (d *openDir) linkError(name string, err error) error {
	if errors.Is(err, dirnode.ErrReadOnly) {
		return fmt.Errorf("cannot link %q: %s is read-only (use a writable cap of it)", name, d.shown)
	}
	return fmt.Errorf("link %q in %s: %w", name, d.shown, err)
}

// shellQuote quotes s for a shell when it needs it, so a suggested
// command can be pasted.
func shellQuote(s string) string {
	if !strings.ContainsAny(s, " \t\n'\"\\$`!*?&;|<>()[]{}#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
