// Package storage defines the storage-server interface the grid layer needs
// to place, read, check and repair shares. It is the one boundary between
// the pure data model (grid) and the network (node): node implements Server
// over Tahoe's HTTP storage protocol and in-process; package mem implements
// it in memory for tests.
//
// The semantics follow Tahoe's storage server as exposed by the HTTP storage
// protocol ("GBS", ../shared/reference/gbs.md §1): immutable shares are
// allocated, written in chunks and become visible only when complete;
// mutable shares change only through read-test-write. Reads past the end of
// a share return what exists (short reads are not errors).
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/lafssync/lafssync/grid/base32"
)

// SI is a 16-byte storage index.
type SI [16]byte

// String is the 26-character base32 form Tahoe prints and uses in paths.
func (si SI) String() string { return base32.Encode(si[:]) }

// ParseSI parses the base32 form of a storage index.
func ParseSI(s string) (SI, error) {
	var si SI
	b, err := base32.DecodeFixed(s, len(si))
	if err != nil {
		return si, fmt.Errorf("storage index %q: %w", s, err)
	}
	copy(si[:], b)
	return si, nil
}

// Secret is a 32-byte secret: lease renew/cancel, upload secret, write enabler.
type Secret [32]byte

// LogValue keeps secrets out of logs.
func (Secret) LogValue() slog.Value { return slog.StringValue("[secret]") }

// String keeps secrets out of formatted errors and logs.
func (Secret) String() string { return "[secret]" }

// LeaseSecrets authorise adding and renewing a lease on a share.
type LeaseSecrets struct {
	Renew  Secret
	Cancel Secret
}

// ServerInfo is what a client knows about a server before talking to it.
type ServerInfo struct {
	// ID is stable and unique, e.g. "v0-<base32 ed25519 key>".
	ID string
	// Nickname is for people; it may be empty and need not be unique.
	Nickname string
	// PermutationSeed fixes the server's place on the permuted ring.
	PermutationSeed []byte
	// LeaseSeed (Tahoe: the 20-byte Foolscap tub ID) keys the per-server
	// lease secrets and mutable write enablers.
	LeaseSeed [20]byte
}

// Version is a server's self-description (GBS GET /storage/v1/version).
type Version struct {
	MaxImmutableShareSize uint64
	MaxMutableShareSize   uint64
	AvailableSpace        uint64
	Application           string
}

// Kind distinguishes immutable shares from mutable slots.
type Kind int

// Share kinds.
const (
	Immutable Kind = iota
	Mutable
)

func (k Kind) String() string {
	if k == Mutable {
		return "mutable"
	}
	return "immutable"
}

// Allocation is the answer to AllocateBuckets.
type Allocation struct {
	// AlreadyHave is every complete share the server holds for the index,
	// requested or not.
	AlreadyHave []int
	// Allocated are the requested shares the caller may now write. A
	// requested share in neither list is being uploaded by someone else or
	// did not fit.
	Allocated []int
}

// ReadVector is a byte range to read.
type ReadVector struct {
	Offset, Size uint64
}

// TestVector requires the Size bytes at Offset to equal Specimen (a
// missing share reads as empty; reads past the end are short).
type TestVector struct {
	Offset, Size uint64
	Specimen     []byte
}

// WriteVector writes Data at Offset, extending the share as needed.
type WriteVector struct {
	Offset uint64
	Data   []byte
}

// TestWrite is the test-and-write request for one mutable share.
type TestWrite struct {
	Tests  []TestVector
	Writes []WriteVector
	// NewLength, when set, truncates or extends the share afterwards;
	// 0 deletes it.
	NewLength *uint64
}

// RTWResult is the answer to ReadTestWrite.
type RTWResult struct {
	// OK is true when every test passed and the writes were applied.
	OK bool
	// Reads holds, for every share the server had before the writes,
	// the read vectors' results.
	Reads map[int][][]byte
}

// Server is one storage server as the grid layer sees it. All methods are
// safe for concurrent use. Errors wrap the sentinels below where a caller
// must decide what to do.
type Server interface {
	Info() ServerInfo
	Version(ctx context.Context) (Version, error)

	// AllocateBuckets reserves allocatedSize bytes for each requested share
	// that is not already present; uploadSecret identifies the uploader so
	// a retried call is idempotent.
	AllocateBuckets(ctx context.Context, si SI, lease LeaseSecrets, upload Secret, shares []int, allocatedSize uint64) (Allocation, error)
	// WriteShare writes data at offset of an allocated share. It reports
	// complete once every byte of the allocation has been written; the share
	// is then visible to readers. Rewriting a byte with a different value
	// is ErrConflict; writing past the allocation is ErrOutOfRange.
	WriteShare(ctx context.Context, si SI, shnum int, upload Secret, offset uint64, data []byte) (complete bool, err error)
	// AbortShare drops an incomplete share.
	AbortShare(ctx context.Context, si SI, shnum int, upload Secret) error
	// ListShares lists the complete immutable shares of si (empty, not an
	// error, if there are none).
	ListShares(ctx context.Context, si SI) ([]int, error)
	// ReadShare reads length bytes at offset of a complete immutable share;
	// the result is short past the end.
	ReadShare(ctx context.Context, si SI, shnum int, offset, length uint64) ([]byte, error)

	// AddLease adds or renews a lease on every share of si (immutable or
	// mutable). ErrNotFound if the server has none.
	AddLease(ctx context.Context, si SI, lease LeaseSecrets) error
	// AdviseCorrupt tells the server a share failed verification.
	AdviseCorrupt(ctx context.Context, kind Kind, si SI, shnum int, reason string) error

	// ListMutableShares lists the shares of a mutable slot.
	ListMutableShares(ctx context.Context, si SI) ([]int, error)
	// ReadMutableShare reads a range of a mutable share (short past the end).
	ReadMutableShare(ctx context.Context, si SI, shnum int, offset, length uint64) ([]byte, error)
	// ReadTestWrite atomically reads, tests and (if every test passes)
	// writes shares of a mutable slot. The first write creates the slot and
	// records the write enabler; a later mismatch is ErrUnauthorized.
	ReadTestWrite(ctx context.Context, si SI, writeEnabler Secret, lease LeaseSecrets, tw map[int]TestWrite, reads []ReadVector) (RTWResult, error)
}

// Sentinel errors a Server's errors wrap.
var (
	ErrNotFound     = errors.New("no such share")
	ErrConflict     = errors.New("write conflicts with data already written")
	ErrOutOfRange   = errors.New("write past the allocated size")
	ErrUnauthorized = errors.New("secret does not match")
	ErrComplete     = errors.New("share is already complete")
	ErrReadOnly     = errors.New("server is read-only")
	ErrNoSpace      = errors.New("not enough space on the server")
	ErrTooLarge     = errors.New("share larger than the server accepts")
)

// MaxMutableShareSize is Tahoe's advertised limit (69105 TB).
const MaxMutableShareSize = 69105 * 1000 * 1000 * 1000 * 1000

// LeaseDuration is how long a new or renewed lease lasts (Tahoe: 31 days).
const LeaseDurationSeconds = 31 * 24 * 60 * 60

// Unique joins lists of servers, keeping the first of any that share an ID
// (a server both announced and listed statically counts once).
func Unique(lists ...[]Server) []Server {
	seen := map[string]bool{}
	var out []Server
	for _, l := range lists {
		for _, s := range l {
			if id := s.Info().ID; !seen[id] {
				seen[id] = true
				out = append(out, s)
			}
		}
	}
	return out
}
