package nat

import (
	"errors"
	"fmt"

	"github.com/lafssync/lafssync/node/config"
)

// BackupFile is where Apply keeps tahoe.cfg as it was.
const BackupFile = config.BackupFile

// Apply makes advice a's changes to DIR/tahoe.cfg through config.Edit:
// it keeps the file's other keys and comments, checks that the result
// loads as a valid configuration before touching the file, copies the
// old file to tahoe.cfg.bak, and replaces tahoe.cfg atomically (a crash
// leaves the old file or the new one, never half of one). An advice
// already in effect changes nothing. The running node takes the change
// when it restarts.
func Apply(dir string, a Advice) error {
	_, err := config.Edit(dir, a.Changes)
	var inv *config.InvalidError
	if errors.As(err, &inv) {
		return fmt.Errorf("advice %s would make %s invalid, so it was not applied: %w", a.ID, inv.Path, inv.Err)
	}
	return err
}
