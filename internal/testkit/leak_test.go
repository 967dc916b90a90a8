package testkit

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB whose cleanups and errors the test runs and reads.
type recorder struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}
func (r *recorder) cleanup() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestCheckGoroutinesReportsOnlyLeftRunning(t *testing.T) {
	stop := make(chan struct{})
	leaky := &recorder{TB: t}
	CheckGoroutines(leaky)
	go func() { <-stop }()
	leaky.cleanup()
	close(stop)
	if len(leaky.errs) != 1 {
		t.Fatalf("a goroutine blocked at cleanup: %d errors %q, want 1", len(leaky.errs), leaky.errs)
	}

	done := make(chan struct{})
	clean := &recorder{TB: t}
	CheckGoroutines(clean)
	go func() { close(done) }()
	<-done
	clean.cleanup()
	if len(clean.errs) != 0 {
		t.Fatalf("a goroutine that ended reported: %q", clean.errs)
	}
}
