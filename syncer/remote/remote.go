// Package remote is a synced folder's side on the grid, in the layout of
// docs/sync-format.md: a plain Tahoe directory tree (files as CHK/LIT
// entries with size/mtime/mode and a "lafssync" metadata key, subfolders
// as mutable directories) plus the hidden ".lafssync" entry holding the
// folder's generation and change journal ("state", for O(1) polls) and
// its history (previous versions and tombstones).
//
// CONTRACT (written by the coordinator before the implementation; the
// implementer may add to it but must keep these signatures and meanings).
package remote

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/syncer/vv"
)

// Grid is what the folder sync needs of a node: clients over the storage
// servers usable now (each call may return different servers) and how
// healthy the grid looks. node/client.Client provides the first two; the
// app wires them. gridtest.New is the in-memory implementation.
type Grid interface {
	Immutable() *immutable.Client
	Dirs() *dirnode.Client
	Health() Health
}

// Health is the grid as the node sees it now.
type Health struct {
	Reachable int // storage servers connected
	Known     int // storage servers the node knows of (announced or configured)
	Happy     int // servers-of-happiness an upload needs
}

// OK says whether an upload can meet servers-of-happiness now.
func (h Health) OK() bool { return h.Reachable >= h.Happy && h.Happy > 0 }

// StateName is the hidden entry at the folder's root.
const StateName = ".lafssync"

// FileMeta is what a file's entry metadata says (besides Tahoe's own
// "tahoe" key, which is kept as Tahoe writes it).
type FileMeta struct {
	Size  int64
	Mtime time.Time   // stored as float seconds ("mtime"), as tahoe cp does
	Mode  fs.FileMode // "mode": only 0o644 or 0o755 are written and honoured
	Ver   vv.Vector   // "lafssync"."ver"
	By    string      // "lafssync"."by": the device that made this version
	Hash  [32]byte    // "lafssync"."hash": SHA-256 of the plaintext (base32 in JSON)
}

// Entry is one child of a folder directory as the engine sees it.
type Entry struct {
	Name string
	Dir  bool
	Cap  string // files: the read cap; directories: the cap the folder was opened with gives (write or read)
	Meta FileMeta
	// Foreign is true for an entry without valid "lafssync" metadata
	// (linked by stock Tahoe, say): Meta has what could be read (size,
	// mtime) and a zero Ver and Hash.
	Foreign bool
}

// OpKind is what a commit does to one name.
type OpKind int

const (
	Put    OpKind = iota // link Cap with Meta at Name (a file)
	Delete               // unlink Name; its last version goes to history with a tombstone
	Mkdir                // make Name a (mutable) subdirectory if it is not one
)

// Op is one change within one directory. Base is the version the writer
// based its change on: the op applies only if the current entry's Ver
// equals Base (a nil Base: only if no file entry exists under Name).
// That test is what turns a concurrent change by another device into a
// conflict the engine sees, rather than a lost update.
type Op struct {
	Kind OpKind
	Name string
	Cap  string
	Meta FileMeta
	Base vv.Vector
}

// OpResult is what happened to one Op.
type OpResult struct {
	Applied bool
	// Current is the entry found under the name when the op was not applied
	// (nil: there was none).
	Current *Entry
}

// Version is one previous version of a file, newest first in History.
type Version struct {
	N        int // 1 = the most recent previous version
	Cap      string
	Meta     FileMeta
	Replaced time.Time // when it stopped being the current version
	Deleted  bool      // it was the file's last version before a delete
}

// Tombstone says a file was deleted, which version, by whom and when.
type Tombstone struct {
	Ver  vv.Vector
	Hash [32]byte
	By   string
	Time time.Time
}

// Retention is how much history a writer keeps per file: a version is
// pruned only when it is beyond both limits (the rule that keeps more).
type Retention struct {
	Versions int           // default 10
	MaxAge   time.Duration // default 30 days
}

// Errors callers decide on.
var (
	ErrReadOnly = errors.New("this folder is shared with you read-only")
	ErrNoFolder = errors.New("not a LAFS Sync folder")
	ErrNotFound = errors.New("no such file or directory in the folder")
)

// Folder is an opened folder root. Methods are safe for concurrent use.
type Folder struct {
	g Grid
	// implementation fields
}

// Create makes a new empty folder (root directory, .lafssync/state,
// .lafssync/history) and returns it with its write cap.
func Create(ctx context.Context, g Grid, device string) (*Folder, error) {
	return nil, errors.New("remote.Create: not built yet")
}

// Open opens a folder by its root cap (write cap: read-write; read cap:
// read-only). A directory without .lafssync is adopted (a plain Tahoe
// directory the user wants synced) when opened with a write cap: the hidden
// entry is created on the first Commit.
func Open(ctx context.Context, g Grid, rootCap, device string) (*Folder, error) {
	return nil, errors.New("remote.Open: not built yet")
}

// WriteCap is the root's write cap ("" when read-only). ReadCap is its
// read cap. ReadOnly says which.
func (f *Folder) WriteCap() string { return "" }
func (f *Folder) ReadCap() string  { return "" }
func (f *Folder) ReadOnly() bool   { return true }

// Poll is the cheap check: it reads .lafssync/state only (a constant number
// of server requests, whatever the tree's size) and returns the current
// generation and the directories (slash-separated paths, "" = root)
// changed after generation since. full is true when the journal does not
// reach back to since (or state is missing or unreadable): the caller walks
// the whole tree. since == gen means nothing changed.
func (f *Folder) Poll(ctx context.Context, since uint64) (gen uint64, dirs []string, full bool, err error) {
	return 0, nil, true, errors.New("not built")
}

// List reads one directory of the folder ("" = root; the root's
// .lafssync entry is never listed). ErrNotFound if it does not exist.
func (f *Folder) List(ctx context.Context, dir string) (map[string]*Entry, error) {
	return nil, errors.New("not built")
}

// Walk visits every directory of the tree, parents before children, with
// bounded concurrency; fn gets each directory's entries. A directory that
// cannot be read is reported to fn with err set and its subtree skipped.
func (f *Folder) Walk(ctx context.Context, fn func(dir string, entries map[string]*Entry, err error) error) error {
	return errors.New("not built")
}

// Commit applies ops to directory dir (made, with its parents, if
// missing) in one publish of that directory, each op tested against the
// entry it finds (see Op). Entries replaced by a Put and removed by a
// Delete are moved to history (with a tombstone for a Delete), pruned to
// r, before the directory is published; then state gets generation+1 and
// a journal record naming dir. Concurrent writers of the same directory or
// of state are retried, never lost. results[i] is what happened to ops[i].
func (f *Folder) Commit(ctx context.Context, dir string, ops []Op, r Retention) (results []OpResult, err error) {
	return nil, errors.New("not built")
}

// History lists the previous versions of path (a slash-separated file
// path), newest first; a deleted file's history starts with its last
// version (Deleted set). ErrNotFound if there is none.
func (f *Folder) History(ctx context.Context, path string) ([]Version, error) {
	return nil, errors.New("not built")
}

// Tombstone says whether path was deleted and which version was (nil,
// nil: no tombstone).
func (f *Folder) Tombstone(ctx context.Context, path string) (*Tombstone, error) {
	return nil, errors.New("not built")
}

// Upload stores a file's contents as CHK (LIT when tiny), with key as its
// convergent key (the scan computed it; immutable.UploadKeyed), and returns
// the read cap. progress, if not nil, gets the plaintext bytes done so far.
// A source that changes under the upload fails with immutable.ErrSourceChanged.
func (f *Folder) Upload(ctx context.Context, r io.Reader, size int64, key [16]byte, progress func(done int64)) (string, error) {
	return "", errors.New("not built")
}

// Download writes the verified contents of a file cap to w.
func (f *Folder) Download(ctx context.Context, fileCap string, w io.Writer) error {
	return errors.New("not built")
}

// Snapshot makes a frozen immutable copy of the tree (DIR2-CHK, .lafssync
// left out) and returns its read cap.
func (f *Folder) Snapshot(ctx context.Context) (string, error) {
	return "", errors.New("not built")
}
