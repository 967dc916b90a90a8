package remote

import (
	"context"
	"crypto/rsa"
	"errors"
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
	// Bad, if not "", says why the entry cannot be synced (a cap that is
	// neither a file nor a directory cap, say), in the user's words; the
	// engine reports it with the path and leaves the entry alone.
	Bad string
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
	// BaseCap is the cap the writer based its change on when the entry it
	// saw was Foreign (it has no version to test): with a zero Base, the op
	// applies to a Foreign or Bad entry only if that entry's Cap equals
	// BaseCap. With BaseCap empty, a zero Base means "no entry".
	BaseCap string
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
	// ErrDirGone: another device removed (or replaced) the directory while
	// a Commit was writing into it, so the commit's changes are not in
	// the folder. Nothing is lost locally; commit again (the directory is
	// made anew).
	ErrDirGone = errors.New("another device removed the directory while the changes were being written; they will be written again")
)

// KeySource is what a Grid may also implement to supply the RSA keys of
// the mutable files a folder makes (directories, state): the app passes
// its key pool, gridtest hands out pre-generated keys. Without it the
// Dirs client's Options decide (Pool, or a fresh key each time).
type KeySource interface {
	NewKey(ctx context.Context) (*rsa.PrivateKey, error)
}
