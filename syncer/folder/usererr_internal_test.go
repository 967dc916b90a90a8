package folder

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/syncer/remote"
)

// A read that lost every race to other devices' writes is said as that,
// not as the grid's "not enough good shares" (which it also matches).
func TestUserGridErrorForReadsRacingWriters(t *testing.T) {
	err := fmt.Errorf("commit to directory \"d\": read mutable file x: %w (10 tries in 2s): %w", mutable.ErrChangedWhileReading, storage.ErrNotEnoughShares)
	msg := userGridError(err, remote.Health{Known: 10, Reachable: 10, Happy: 7})
	if !strings.Contains(msg, "other devices kept changing this folder") || strings.Contains(msg, "corrupt") {
		t.Errorf("user words: %q", msg)
	}
}
