package client

// Path resolution: what "alias:dir/name" and "CAP/dir/name" arguments name,
// the directories along them, and where a new link goes. The CLI (put, ln,
// mv, rm, ls, cp) and the web API share it, so both keep the same rules:
//
//   - TO ending in a slash (alias:dir/), or naming no path (alias:, a bare
//     DIRCAP), means into that directory, under the child's own name.
//   - An existing file at TO is replaced (with dirnode.ReplaceFiles); an
//     existing directory never is. With LinkOptions.IntoDir (put, cp) a
//     link onto an existing directory goes into it, as cp and mv do on a
//     local disk.
//   - Missing parent directories of TO are made.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/storage"
)

// TargetError is a path or cap argument that names nothing usable.
type TargetError struct{ msg string }

func (e *TargetError) Error() string { return e.msg }

// SplitTarget reads "alias:path", or a bare cap (CAP or CAP/path).
func (e *Client) SplitTarget(s string) (rootCap string, path []string, err error) {
	var rest string
	if strings.HasPrefix(s, "URI:") {
		// CAP or CAP/path/inside (caps contain no '/').
		rootCap, rest, _ = strings.Cut(s, "/")
	} else {
		alias, r, ok := strings.Cut(s, ":")
		if !ok {
			first, _, _ := strings.Cut(s, "/")
			if _, known := e.Aliases[first]; known {
				return "", nil, &TargetError{fmt.Sprintf("%q is not alias:path: did you mean %s:%s? (an alias is followed by a colon)",
					s, first, strings.TrimPrefix(s[len(first):], "/"))}
			}
			return "", nil, &TargetError{fmt.Sprintf("%q is neither a cap nor alias:path (aliases: lafs list-aliases)", s)}
		}
		root, ok := e.Aliases[alias]
		if !ok {
			return "", nil, &TargetError{fmt.Sprintf("unknown alias %q: create it with 'lafs create-alias %s'", alias, alias)}
		}
		rootCap, rest = root, r
	}
	for _, p := range strings.Split(rest, "/") {
		if p != "" {
			path = append(path, p)
		}
	}
	return rootCap, path, nil
}

// Resolve walks alias:path (or CAP/path) to the cap it names.
func (e *Client) Resolve(ctx context.Context, s string) (string, error) {
	p, err := e.ParsePath(s)
	if err != nil {
		return "", err
	}
	if len(p.Names) == 0 {
		return p.Root, nil
	}
	parent, err := e.WalkDir(ctx, p, len(p.Names)-1, false)
	if err != nil {
		return "", err
	}
	ent, err := e.Lookup(ctx, p, parent)
	if err != nil {
		return "", err
	}
	if ent.WriteCap != "" {
		return ent.WriteCap, nil
	}
	return ent.ReadCap, nil
}

// ResolveCap walks alias:path (or CAP/path) to the cap it names, parsed.
func (e *Client) ResolveCap(ctx context.Context, s string) (cap.Cap, error) {
	cs, err := e.Resolve(ctx, s)
	if err != nil {
		return nil, err
	}
	return cap.Parse(cs)
}

// ParentDir resolves alias:dir/name to the directory and the last name,
// making missing parents. It does not look at what is at name: use
// LinkTarget, which never replaces a directory, to decide where a new
// link goes.
func (e *Client) ParentDir(ctx context.Context, s string) (*dirnode.Directory, string, error) {
	c, path, err := e.SplitTarget(s)
	if err != nil {
		return nil, "", err
	}
	if len(path) == 0 {
		return nil, "", &TargetError{"the target names a directory, not an entry inside it: add /NAME"}
	}
	root, err := e.Dirs.Open(c)
	if err != nil {
		return nil, "", err
	}
	parent, err := e.Dirs.MkdirAll(ctx, root, strings.Join(path[:len(path)-1], "/"))
	return parent, path[len(path)-1], err
}

// Path is a parsed alias:path or CAP/path argument.
type Path struct {
	// Root is the root directory's cap (a secret: never shown).
	Root string
	// Names are the path's elements below the root.
	Names []string
	// Slash is set when the argument ended in "/" or ":" or named no
	// path: it names a directory to put things into.
	Slash bool
	// shown is the root as shown in messages: "alias:" or a redacted
	// cap and "/".
	shown string
}

// ParsePath parses s (alias:path, CAP, or CAP/path) against the aliases.
func (e *Client) ParsePath(s string) (*Path, error) {
	root, names, err := e.SplitTarget(s)
	if err != nil {
		return nil, err
	}
	p := &Path{Root: root, Names: names,
		Slash: len(names) == 0 || strings.HasSuffix(s, "/") || strings.HasSuffix(s, ":")}
	if alias, _, ok := strings.Cut(s, ":"); ok && !strings.HasPrefix(s, "URI:") {
		p.shown = alias + ":"
	} else if c, err := cap.Parse(root); err == nil {
		p.shown = cap.Redacted(c) + "/"
	} else {
		p.shown = "URI:[unparsable]/"
	}
	return p, nil
}

// Shown is the first n path elements as shown in messages
// ("home:docs/2026"; a cap root is redacted).
func (p *Path) Shown(n int) string {
	return p.shown + strings.Join(p.Names[:n], "/")
}

// String is the whole path as shown in messages.
func (p *Path) String() string { return p.Shown(len(p.Names)) }

// Last is the path's last name ("" for a root).
func (p *Path) Last() string {
	if len(p.Names) == 0 {
		return ""
	}
	return p.Names[len(p.Names)-1]
}

// NoEntryError is a name missing from a directory.
type NoEntryError struct{ Name, Dir string }

func (e *NoEntryError) Error() string {
	return fmt.Sprintf("no entry %q in %s (lafs ls %s)", e.Name, e.Dir, ShellQuote(e.Dir))
}

func (e *NoEntryError) Unwrap() error { return dirnode.ErrNotFound }

// NoEntry is the error for the i-th name missing from its directory.
func (p *Path) NoEntry(i int) error { return &NoEntryError{p.Names[i], p.Shown(i)} }

// NotDirError is a path element that is not a directory.
type NotDirError struct {
	Path string
	Err  error // why it could not be opened as one, if known
}

func (e *NotDirError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s is not a directory: %v", e.Path, e.Err)
	}
	return e.Path + " is not a directory"
}

func (e *NotDirError) Unwrap() error { return e.Err }

// Dir is a directory reached along a path.
type Dir struct {
	D *dirnode.Directory
	// SI is the directory's storage index.
	SI storage.SI
	// Shown is the directory as shown in messages.
	Shown string
	// Chain holds the storage indexes of the directories from the root
	// to this one (inclusive).
	Chain []storage.SI
}

// WalkDir opens the directory at the first n elements of p. With create
// set, missing directories are made; otherwise they are a *NoEntryError.
func (e *Client) WalkDir(ctx context.Context, p *Path, n int, create bool) (*Dir, error) {
	c := p.Root
	var chain []storage.SI
	for i := 0; ; i++ {
		d, err := e.Dirs.Open(c)
		if err != nil {
			return nil, &NotDirError{p.Shown(i), err}
		}
		si, _ := d.Cap().StorageIndex()
		chain = append(chain, si)
		if i == n {
			return &Dir{D: d, SI: si, Shown: p.Shown(n), Chain: chain}, nil
		}
		ent, err := d.Get(ctx, p.Names[i])
		if errors.Is(err, dirnode.ErrNotFound) {
			if !create {
				return nil, p.NoEntry(i)
			}
			// New directories cannot be in the chain of anything moved.
			if d, err = e.Dirs.MkdirAll(ctx, d, strings.Join(p.Names[i:n], "/")); err != nil {
				return nil, fmt.Errorf("make %s: %w", p.Shown(n), err)
			}
			si, _ := d.Cap().StorageIndex()
			return &Dir{D: d, SI: si, Shown: p.Shown(n), Chain: append(chain, si)}, nil
		}
		if err != nil {
			return nil, err
		}
		if !cap.ParseChild(ent.ReadCap).IsDir() {
			return nil, &NotDirError{Path: p.Shown(i + 1)}
		}
		if c = ent.WriteCap; c == "" {
			c = ent.ReadCap
		}
	}
}

// Lookup returns the entry p's full path names, from its parent (as
// WalkDir(ctx, p, len(p.Names)-1, …) returned it).
func (e *Client) Lookup(ctx context.Context, p *Path, parent *Dir) (*dirnode.Entry, error) {
	last := len(p.Names) - 1
	ent, err := parent.D.Get(ctx, p.Names[last])
	if errors.Is(err, dirnode.ErrNotFound) {
		return nil, p.NoEntry(last)
	}
	return ent, err
}

// CapEntry is the entry linking c would make.
func CapEntry(c cap.Cap) *dirnode.Entry {
	if c.IsReadOnly() {
		return &dirnode.Entry{ReadCap: c.String()}
	}
	ent := &dirnode.Entry{WriteCap: c.String()}
	if r := c.ReadOnly(); r != nil {
		ent.ReadCap = r.String()
	}
	return ent
}

// LinkOptions say how LinkTarget places a link.
type LinkOptions struct {
	// Name is the child's own name (FROM's last name, the local file's
	// name), used when TO names a directory to link into. "" when it
	// has none (a bare cap, standard input, a web API body).
	Name string
	// IntoDir makes TO naming an existing directory mean into that
	// directory, under Name (put, cp). Without it such a TO is an
	// *IsDirError (ln, mv, as Tahoe's do).
	IntoDir bool
	// Replace says what may happen to an existing entry at the target:
	// dirnode.ReplaceFiles (ln, mv, put, cp; Tahoe's replace=true and
	// only-files) or dirnode.ReplaceNothing (replace=false; the zero
	// value). A directory is never replaced, whatever it says (even
	// dirnode.ReplaceAny): link with dirnode.Directory.Link and
	// dirnode.ReplaceFiles, which applies the same rule atomically.
	Replace dirnode.Replace
}

// IsDirError is an existing directory that a link would have replaced.
type IsDirError struct {
	// Path is the directory as shown in messages.
	Path string
	// NoName is set when the link could not go into it because the
	// child has no name of its own.
	NoName bool
}

func (e *IsDirError) Unwrap() error { return dirnode.ErrIsDirectory }

func (e *IsDirError) Error() string {
	if e.NoName {
		return fmt.Sprintf("%s is a directory and is not replaced: to link inside it, name the new entry (%s/NAME)", e.Path, e.Path)
	}
	return fmt.Sprintf("%s is a directory and is not replaced: to put the link inside it, end TO with a slash (%s/)", e.Path, e.Path)
}

// ExistsError is an existing entry that dirnode.ReplaceNothing kept.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s already exists and is not replaced", e.Path)
}

func (e *ExistsError) Unwrap() error { return dirnode.ErrExists }

// NoNameError is a link into a directory for a child without a name.
type NoNameError struct{ Dir string }

func (e *NoNameError) Error() string {
	return fmt.Sprintf("nothing names the new entry in %s: end the target with the name, e.g. %s", e.Dir, JoinShown(e.Dir, "NAME"))
}

// LinkTarget resolves where a link to child (nil when not known yet, e.g.
// before an upload) goes for the target to: the directory, made with its
// missing parents, and the name within it. It never lets a directory be
// replaced (*IsDirError), and with dirnode.ReplaceNothing not a file either
// (*ExistsError). Linking a directory onto itself (the same caps) is not
// a replacement.
func (e *Client) LinkTarget(ctx context.Context, to *Path, child *dirnode.Entry, o LinkOptions) (*Dir, string, error) {
	var dst *Dir
	var name string
	var err error
	if to.Slash {
		// Into the directory TO, under the child's own name.
		if o.Name == "" {
			return nil, "", &NoNameError{to.String()}
		}
		name = o.Name
		if dst, err = e.WalkDir(ctx, to, len(to.Names), true); err != nil {
			return nil, "", err
		}
	} else {
		name = to.Last()
		if dst, err = e.WalkDir(ctx, to, len(to.Names)-1, true); err != nil {
			return nil, "", err
		}
	}
	if err := dirnode.CheckName(name); err != nil {
		return nil, "", fmt.Errorf("cannot link %q in %s: %w", name, dst.Shown, err)
	}
	old, err := dst.D.Get(ctx, name)
	switch {
	case errors.Is(err, dirnode.ErrNotFound):
		return dst, name, nil
	case err != nil:
		return nil, "", err
	}
	where := JoinShown(dst.Shown, name)
	if cap.ParseChild(old.ReadCap).IsDir() {
		if child != nil && sameChild(old, child) {
			return dst, name, nil
		}
		if !o.IntoDir || to.Slash {
			return nil, "", &IsDirError{Path: where}
		}
		if o.Name == "" {
			return nil, "", &IsDirError{Path: where, NoName: true}
		}
		// Onto an existing directory: into it, once (what is there under
		// the child's name is decided as for any other target).
		into := &Path{Root: to.Root, Names: to.Names, Slash: true, shown: to.shown}
		return e.LinkTarget(ctx, into, child, LinkOptions{Name: o.Name, Replace: o.Replace})
	}
	if o.Replace == dirnode.ReplaceNothing && (child == nil || !sameChild(old, child)) {
		return nil, "", &ExistsError{where}
	}
	return dst, name, nil
}

// LinkError words an error from linking name in d.
func (d *Dir) LinkError(name string, err error) error {
	if errors.Is(err, dirnode.ErrReadOnly) {
		return fmt.Errorf("cannot link %q: %s is read-only (use a writable cap of it)", name, d.Shown)
	}
	return fmt.Errorf("link %q in %s: %w", name, d.Shown, err)
}

// JoinShown appends a name to a directory as shown in messages.
func JoinShown(dir, name string) string {
	if strings.HasSuffix(dir, ":") || strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

func sameChild(a, b *dirnode.Entry) bool {
	return a.ReadCap == b.ReadCap && a.WriteCap == b.WriteCap
}

// ShellQuote quotes s for a shell when it needs it, so a suggested
// command can be pasted.
func ShellQuote(s string) string {
	if !strings.ContainsAny(s, " \t\n'\"\\$`!*?&;|<>()[]{}#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
