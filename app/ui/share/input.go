package share

import (
	"errors"
	"strings"
	"unicode"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/invite"
)

// What the follow box was given.
type inputKind int

const (
	inputReadCap inputKind = iota + 1
	inputCode
)

// Messages of the follow box, shared with the tests. None quotes what
// was typed: it may be a secret.
var (
	ErrWriteCap = errors.New("this is a write-cap: it gives full control of the folder (whoever has it can change and delete every file in it). " +
		"Do not pass it around. Ask your friend for a read-only share instead: the read-cap or an invite code from their Share window")
	ErrSnapshotCap = errors.New("this is a frozen snapshot (an immutable copy): it never changes, so there is nothing to follow. " +
		"Copy its files with lafs cp -r, or ask for the folder's read-cap to follow its changes")
	ErrNotFolderCap = errors.New("this is the cap of a file, not of a folder: ask for the folder's read-cap " +
		"(it starts with URI:DIR2-RO: or URI:DIR2-MDMF-RO:)")
	ErrVerifyCap = errors.New("this is a verify-cap: it lets a storage server check the folder's data but not read it. " +
		"Ask for the folder's read-cap (it starts with URI:DIR2-RO: or URI:DIR2-MDMF-RO:)")
	ErrBadCap = errors.New("this looks like a cap but is not a valid one (part of it may be missing): copy it again " +
		"(a folder's read-cap starts with URI:DIR2-RO: or URI:DIR2-MDMF-RO:)")
	ErrNotCapOrCode = errors.New("paste a folder's read-cap (it starts with URI:DIR2-RO: or URI:DIR2-MDMF-RO:) " +
		"or type an invite code (a number and words, like 7-guitarist-revenge)")
)

// maxInput bounds what the box parses (a read-cap is about 100 characters).
const maxInput = 4096

// classify says whether s is a folder's read-cap or an invite code and
// returns it cleaned: spaces and line breaks a paste may add to a cap are
// dropped, a code is trimmed.
func classify(s string) (inputKind, string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxInput {
		return 0, "", ErrNotCapOrCode
	}
	if len(s) >= 4 && strings.EqualFold(s[:4], "URI:") {
		c := strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, s)
		return classifyCap("URI:" + c[4:])
	}
	if _, err := invite.ParseCode(s); err == nil {
		return inputCode, s, nil
	}
	return 0, "", ErrNotCapOrCode
}

func classifyCap(s string) (inputKind, string, error) {
	c, err := cap.Parse(s)
	if err != nil {
		return 0, "", ErrBadCap
	}
	switch {
	case !c.IsDir():
		return 0, "", ErrNotFolderCap
	case c.ReadOnly() == nil:
		return 0, "", ErrVerifyCap
	case !c.IsMutable():
		return 0, "", ErrSnapshotCap
	case !c.IsReadOnly():
		return 0, "", ErrWriteCap
	}
	return inputReadCap, c.String(), nil
}
