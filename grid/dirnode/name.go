package dirnode

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxNameLen is the longest entry name, in bytes of its UTF-8 (NFC) form:
// the limit of most filesystems (ext4, APFS, NTFS in UTF-16 units, which a
// 255-byte UTF-8 name never exceeds), so that folder sync can create every
// name it finds.
const MaxNameLen = 255

// ErrBadName is wrapped by every error about a name a directory will not
// take (see CheckName).
var ErrBadName = errors.New("invalid entry name")

// NameError is a name CheckName refused, and why.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("entry name %q is not allowed: %s", e.Name, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBadName) true.
func (e *NameError) Unwrap() error { return ErrBadName }

// CheckName rejects names a directory must not be given. Writing is
// strict, reading lenient: every operation that adds or renames an entry
// calls it (Set, SetCap, Rename, Move, Mkdir, MkdirAll, Modify for the
// names it adds, CreateImmutable), while List, Get and Delete accept
// whatever another Tahoe client stored, so such entries stay listable,
// readable and removable (and can be renamed to a valid name).
//
// A name must be
//   - non-empty, valid UTF-8, at most MaxNameLen bytes once NFC-normalized;
//   - free of '/' (the path separator of Tahoe's paths and of every
//     filesystem), NUL and every other control character: C0 (U+0000–U+001F),
//     DEL (U+007F) and C1 (U+0080–U+009F), which terminals, shells and
//     filesystems mishandle;
//   - neither "." nor "..", which every filesystem reads as this or the
//     parent directory.
//
// Names that only some systems cannot hold are allowed in the grid, as in
// Tahoe: Windows' reserved device names (CON, NUL, COM1, …), its reserved
// characters (\ : * ? " < > |), trailing dots or spaces, and names that
// differ only in case. Folder sync decides how to materialise those on
// each platform (it must never treat '\' as a separator).
func CheckName(name string) error {
	bad := func(reason string) error { return &NameError{Name: name, Reason: reason} }
	switch {
	case name == "":
		return bad("a name cannot be empty")
	case !utf8.ValidString(name):
		return bad("it is not valid UTF-8")
	case name == "." || name == "..":
		return bad(`"." and ".." mean this and the parent directory`)
	}
	for _, r := range name {
		switch {
		case r == '/':
			return bad("it contains '/', the path separator")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return bad(fmt.Sprintf("it contains the control character U+%04X", r))
		}
	}
	if n := len(Normalize(name)); n > MaxNameLen {
		return bad(fmt.Sprintf("it is %d bytes long; the limit is %d bytes of UTF-8", n, MaxNameLen))
	}
	return nil
}

// checkAdded applies CheckName to the names after has that before lacks:
// a modification may keep entries with names other clients stored, but
// adds none it could not have added through Set.
func checkAdded(before, after Entries) error {
	for n := range after {
		if _, ok := before[n]; ok {
			continue
		}
		if err := CheckName(n); err != nil {
			return err
		}
	}
	return nil
}
