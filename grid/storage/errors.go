package storage

import (
	"errors"
	"fmt"
)

// The grid layer's error vocabulary, shared by immutable and mutable files
// and by every Server implementation, so that callers (sync, status, the
// CLI) can tell a server that is offline from a share that is corrupt from
// a server that is full:
//
//   - errors.Is(err, ErrUnavailable): a server could not be reached or did
//     not answer (*UnavailableError names it);
//   - errors.Is(err, ErrCorruptShare): a share failed verification
//     (*CorruptShareError names it);
//   - errors.Is(err, ErrNotEnoughShares): too few good shares to read a file;
//   - ErrNoSpace, ErrReadOnly, ErrTooLarge: the server refused to store.

// ErrUnavailable is wrapped by every error a Server returns because it
// could not be reached: connection refused or reset, a timeout, the server
// answering 5xx, or (in memory) a test taking it offline.
var ErrUnavailable = errors.New("storage server unavailable")

// UnavailableError names a server that could not be reached and why. It
// matches ErrUnavailable and its cause with errors.Is.
type UnavailableError struct {
	// ID is the server's stable ID; Nickname is for people (may be empty).
	ID, Nickname string
	// Err is the cause (a network error, context.DeadlineExceeded, an HTTP
	// status); may be nil.
	Err error
}

// Unavailable returns an *UnavailableError for the server described by info.
func Unavailable(info ServerInfo, cause error) *UnavailableError {
	return &UnavailableError{ID: info.ID, Nickname: info.Nickname, Err: cause}
}

func (e *UnavailableError) Error() string {
	name := e.Nickname
	if name == "" {
		name = e.ID
	}
	if e.Err == nil {
		return fmt.Sprintf("storage server %s is unavailable", name)
	}
	return fmt.Sprintf("storage server %s is unavailable: %v", name, e.Err)
}

// Unwrap gives ErrUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrUnavailable}
	}
	return []error{ErrUnavailable, e.Err}
}

// ErrCorruptShare is wrapped by every error about a share that failed
// verification (immutable or mutable).
var ErrCorruptShare = errors.New("corrupt share")

// CorruptShareError says a share failed verification: it should be
// skipped, reported to its server (AdviseCorrupt) and, by a repairer,
// treated as missing. It matches ErrCorruptShare with errors.Is.
type CorruptShareError struct {
	Kind Kind
	// Server is the nickname of the server holding the share; empty where
	// the share's source is not a server (e.g. inside the CHK decoder).
	Server string
	Share  int
	Reason string
}

func (e *CorruptShareError) Error() string {
	if e.Server == "" {
		return fmt.Sprintf("%s share %d is corrupt: %s", e.Kind, e.Share, e.Reason)
	}
	return fmt.Sprintf("%s share %d on %s is corrupt: %s", e.Kind, e.Share, e.Server, e.Reason)
}

// Unwrap gives ErrCorruptShare.
func (e *CorruptShareError) Unwrap() error { return ErrCorruptShare }

// ErrNotEnoughShares means fewer than k good shares (of any one version,
// for a mutable file) could be found, so the file cannot be read now.
var ErrNotEnoughShares = errors.New("not enough good shares to recover the file")
