package clocktest

import (
	"testing"
	"time"
)

func TestFakeTimersFireOnlyWhenAdvancedPast(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := New(start)
	a, b := f.NewTimer(time.Second), f.NewTimer(time.Minute)
	stopped := f.NewTimer(time.Second)
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: want true once, then false")
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-a.C():
		t.Fatal("timer fired before its time")
	default:
	}
	f.Advance(time.Millisecond)
	if got := <-a.C(); !got.Equal(start.Add(time.Second)) {
		t.Fatalf("fired at %v, want %v", got, start.Add(time.Second))
	}
	if f.Timers() != 1 || a.Stop() {
		t.Fatalf("after firing: %d timers pending (want 1), Stop of fired timer true", f.Timers())
	}
	select {
	case <-stopped.C():
		t.Fatal("stopped timer fired")
	case <-b.C():
		t.Fatal("minute timer fired after a second")
	default:
	}
	if !f.Now().Equal(start.Add(time.Second)) {
		t.Fatalf("Now = %v", f.Now())
	}
	if now := <-f.NewTimer(0).C(); !now.Equal(f.Now()) {
		t.Fatalf("zero timer fired at %v", now)
	}
}
