package lease

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A restart does not renew again before Interval has passed since the last
// complete run; a new node (no record) waits a whole Interval, its leases
// being as fresh as its uploads; an unreadable record renews soon.
func TestFirstDelayFollowsTheLastRun(t *testing.T) {
	const first, interval = time.Minute, 7 * 24 * time.Hour
	now := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	state := filepath.Join(t.TempDir(), "lease-renewal")
	r := &Renewer{StateFile: state}
	log := slog.New(slog.DiscardHandler)

	if d := r.firstDelay(first, interval, now, log); d != interval {
		t.Errorf("no record yet: first run in %v, want a whole interval (%v)", d, interval)
	}
	if b, err := os.ReadFile(state); err != nil || strings.TrimSpace(string(b)) != now.Format(time.RFC3339) {
		t.Errorf("record made at the first start: %q, %v; want %s", b, err, now.Format(time.RFC3339))
	}
	for _, c := range []struct {
		last time.Time
		want time.Duration
	}{
		{now.Add(-2 * 24 * time.Hour), 5 * 24 * time.Hour}, // due in five days
		{now.Add(-interval - time.Hour), first},            // overdue: soon
		{now.Add(-interval + 30*time.Second), first},       // due before first: first
	} {
		os.WriteFile(state, []byte(c.last.Format(time.RFC3339)+"\n"), 0o600)
		if d := r.firstDelay(first, interval, now, log); d != c.want {
			t.Errorf("last run %v: first in %v, want %v", c.last, d, c.want)
		}
	}
	os.WriteFile(state, []byte("garbage"), 0o600)
	if d := r.firstDelay(first, interval, now, log); d != first {
		t.Errorf("unreadable record: first in %v, want %v", d, first)
	}
	if d := (&Renewer{}).firstDelay(first, interval, now, log); d != first {
		t.Errorf("no StateFile: first in %v, want %v", d, first)
	}
}
