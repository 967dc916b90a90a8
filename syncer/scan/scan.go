// Package scan compares a folder on disk with its records in syncer/db and
// reports what changed, reading only files whose size, mtime or inode
// differ from their record. A file it reads is read once for both its
// SHA-256 and its CHK convergent key, so that the upload's key pass is
// already done: a changed file is read twice in all (scan, upload), not
// three times.
//
// CONTRACT (written by the coordinator before the implementation; the
// implementer may add to it but must keep these signatures and meanings).
package scan

import (
	"context"
	"errors"
	"io/fs"

	"github.com/lafssync/lafssync/syncer/db"
)

// Change is one path whose local state differs from its record.
type Change struct {
	Path string // slash-separated, NFC, relative to the folder root
	// Gone: the file is no longer there (or is now ignored/skipped).
	Gone bool
	// The new local state (when not Gone): Size, MtimeNs, Inode, Mode,
	// Hash and Key filled in; the synced fields copied from the old record.
	Rec db.Record
	// Had: there was a record before (Old is it).
	Had bool
	Old db.Record
}

// Skipped is a path the folder cannot sync, with the reason in the user's
// words ("symbolic link: not synced", "permission denied: …",
// "name not valid on Windows: …").
type Skipped struct {
	Path   string
	Reason string
}

// Ignorer says whether a path is ignored (syncer/ignore.Matcher) or has a
// name that cannot be synced ("" = fine).
type Ignorer interface {
	Ignored(rel string, isDir bool) bool
	BadName(rel string) string
}

// Keyer gives the convergent-key hasher of a file of the given size
// (immutable.Client.NewKeyHasher over the node's convergence secret and
// encoding parameters).
type Keyer func(size int64) (interface {
	Write(p []byte) (int, error)
	Key() ([16]byte, error)
}, error)

// Options are a scan's inputs.
type Options struct {
	Root   string  // the folder on disk
	FS     fs.FS   // nil: os.DirFS(Root) with lstat semantics
	Ignore Ignorer // nil: nothing ignored
	Keyer  Keyer
	// Paths limits the scan to these paths (files or directories, each
	// scanned recursively); empty means the whole folder.
	Paths []string
	// A file whose size or mtime changes while it is read is left for
	// the next scan and reported in Result.Unstable.
	Workers int // concurrent hashers (default 4)
}

// Result is what a scan found.
type Result struct {
	Changes  []Change
	Skipped  []Skipped
	Unstable []string // changed while being read; scan again later
	Files    int      // files looked at
	Hashed   int      // files read
	Bytes    int64    // bytes read
}

// Scan compares the folder with f's records. It writes nothing to the
// database: the engine commits Changes as it handles them.
func Scan(ctx context.Context, f *db.Folder, o Options) (*Result, error) {
	return nil, errors.New("scan.Scan: not built yet")
}
