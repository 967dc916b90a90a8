package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage"
)

// inUserWords rewords the grid's errors that a user meets most, saying
// what happened and what to do; other errors pass unchanged. The grid's
// own wording is kept at the end where it helps a bug report.
func inUserWords(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var ue *immutable.UnhappyError
	if errors.As(err, &ue) {
		return unhappyInWords(ue, err)
	}
	notFound := errors.Is(err, mutable.ErrNotFound)
	if !notFound && !errors.Is(err, storage.ErrNotEnoughShares) {
		return err
	}
	var ne *immutable.NotEnoughSharesError
	switch {
	case errors.Is(err, storage.ErrCorruptShare):
		return fmt.Errorf("this file cannot be read: too many of its shares are damaged (%w). If at least the needed number are still good, 'lafs check --verify --repair' replaces the damaged ones", err)
	case errors.Is(err, storage.ErrUnavailable):
		return fmt.Errorf("this file cannot be read now: the storage servers that hold its shares did not answer. Is the grid up ('lafs status')? Try again when they are back (%w)", err)
	case notFound, errors.As(err, &ne) && ne.Found == 0:
		return errors.New("this file is not on this grid: no storage server has any of its shares. It may have been stored on another grid (see which servers this node uses: lafs status), or its shares expired or were deleted; if you still have the file, upload it again")
	case ne != nil:
		return fmt.Errorf("this file cannot be read: only %d of the %d shares needed to rebuild it are on this grid, and nothing can repair it unless servers holding more come back (%w)", ne.Found, ne.Needed, err)
	}
	return err
}

// unhappyInWords words an upload that could not spread its shares over
// shares.happy servers, with the numbers the upload saw: how many servers
// it could use of those it needs, and each server's reason.
func unhappyInWords(ue *immutable.UnhappyError, err error) error {
	why := ""
	if len(ue.Reasons) > 0 {
		why = " (" + strings.Join(ue.Reasons, "; ") + ")"
	}
	if ue.Usable < ue.Needed {
		return &reworded{err: err, msg: fmt.Sprintf("upload failed: only %d of the %d storage servers an upload needs (shares.happy = %d) are reachable from this node%s; "+
			"'lafs reachability' says why and what to do (an upload helper, a relay or a port forward)", ue.Usable, ue.Needed, ue.Needed, why)}
	}
	return &reworded{err: err, msg: fmt.Sprintf("upload failed: this node reaches %d storage servers, but they took shares on only %d of the %d distinct servers an upload needs (shares.happy = %d)%s; "+
		"'lafs status' shows each server's free space; try again, or lower shares.happy in tahoe.cfg", ue.Usable, ue.Happiness, ue.Needed, ue.Needed, why)}
}

// reworded is an error said in the user's words that still matches the
// grid's error it stands for (errors.Is, errors.As).
type reworded struct {
	msg string
	err error
}

func (e *reworded) Error() string { return e.msg }
func (e *reworded) Unwrap() error { return e.err }
