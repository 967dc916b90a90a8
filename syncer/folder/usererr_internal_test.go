package folder

import (
	"context"
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

// With too few servers reachable the message says so once, plainly, not
// the placement error's "could place them on only 6 (… usable)" and the
// counts again beside it.
func TestUserGridErrorWithTooFewServers(t *testing.T) {
	err := fmt.Errorf("upload: 6 of 10 storage servers reachable, 7 needed: upload needs shares on 7 distinct servers but could place them on only 6 (6 servers considered, 6 usable)")
	msg := userGridError(err, remote.Health{Known: 10, Reachable: 6, Happy: 7})
	if want := "only 6 of 10 storage servers are reachable, 7 needed"; msg != want {
		t.Errorf("user words: %q, want %q", msg, want)
	}
	// A timeout keeps its words, with the counts beside them.
	msg = userGridError(fmt.Errorf("read: %w", context.DeadlineExceeded), remote.Health{Known: 10, Reachable: 6, Happy: 7})
	if want := "the grid did not answer in time (6 of 10 storage servers reachable, 7 needed)"; msg != want {
		t.Errorf("user words: %q, want %q", msg, want)
	}
}
