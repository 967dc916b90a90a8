package dirnode

import (
	"context"
	"errors"
	"fmt"

	"github.com/lafssync/lafssync/grid/cap"
)

// Replace says what linking a name may replace when the name exists
// (Tahoe's replace= argument).
type Replace int

const (
	// ReplaceNothing refuses any existing entry (replace=false): ErrExists.
	ReplaceNothing Replace = iota
	// ReplaceFiles replaces anything but a directory (replace=only-files);
	// an existing directory is ErrIsDirectory. Putting a file always
	// uses it: a file never replaces a directory, whose subtree (and the
	// only copy of its write cap) would become unreachable.
	ReplaceFiles
	// ReplaceAny replaces whatever is there (replace=true when linking an
	// existing cap, as `ln` does).
	ReplaceAny
)

// ErrIsDirectory means the name holds a directory and the link's Replace
// policy does not replace directories.
var ErrIsDirectory = errors.New("entry is a directory")

// IsDirEntry reports whether e links a directory (its write cap, else its
// read cap, parses as one). Caps of unknown kinds are not directories, as
// in Tahoe's only-files check.
func IsDirEntry(e *Entry) bool {
	s := e.WriteCap
	if s == "" {
		s = e.ReadCap
	}
	return cap.ParseChild(s).IsDir()
}

// allows reports whether the policy lets old (nil if none) be replaced,
// and the error if not.
func (r Replace) allows(name string, old *Entry) error {
	switch {
	case old == nil || r == ReplaceAny:
		return nil
	case r == ReplaceFiles && !IsDirEntry(old):
		return nil
	case r == ReplaceFiles:
		return fmt.Errorf("%q: %w", name, ErrIsDirectory)
	}
	return fmt.Errorf("%q: %w", name, ErrExists)
}

// Link links name to child under a Replace policy, as one
// read-modify-write (the policy is applied to the directory as written,
// so a directory created concurrently is never replaced). It reports
// whether an existing entry was replaced.
func (d *Directory) Link(ctx context.Context, name string, child cap.Cap, metadata map[string]any, replace Replace) (replaced bool, err error) {
	rc, wc := childCaps(child)
	return d.link(ctx, name, rc, wc, metadata, replace)
}

// Check reports, without writing, whether linking name under replace
// would be refused now (a cheap early answer before an upload; Link
// decides).
func (d *Directory) Check(ctx context.Context, name string, replace Replace) error {
	if err := CheckName(name); err != nil {
		return err
	}
	e, err := d.Get(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return replace.allows(name, e)
}

func childCaps(child cap.Cap) (rc, wc string) {
	if child.IsReadOnly() {
		return child.String(), ""
	}
	wc = child.String()
	if r := child.ReadOnly(); r != nil {
		rc = r.String()
	}
	return rc, wc
}

func (d *Directory) link(ctx context.Context, name, readCap, writeCap string, metadata map[string]any, replace Replace) (replaced bool, err error) {
	if err := CheckName(name); err != nil {
		return false, err
	}
	n := Normalize(name)
	readCap = stripROPrefix(readCap, false) // as stored, so reads agree
	err = d.modify(ctx, func(es Entries, afterConflict bool) error {
		old := es[n]
		replaced = false
		// A write that reported a conflict may still have landed (a torn
		// race). Finding exactly our link on a retry is not proof it will
		// stay (the other side of the race may win), so the version is
		// confirmed by writing it again.
		if old != nil && afterConflict && old.ReadCap == readCap && old.WriteCap == writeCap {
			return nil
		}
		if err := replace.allows(name, old); err != nil {
			return err
		}
		replaced = old != nil
		es[n] = &Entry{ReadCap: readCap, WriteCap: writeCap, Metadata: d.linkMetadata(old, metadata)}
		return nil
	})
	return replaced, err
}
