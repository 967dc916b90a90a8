// Package clocktest has a virtual clock for tests: time moves only when
// the test says so.
package clocktest

import (
	"sync"
	"time"

	"github.com/lafssync/lafssync/internal/clock"
)

// Fake is a clock.Clock whose time changes only by Advance or Set.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
}

var _ clock.Clock = (*Fake)(nil)

// New returns a Fake showing start.
func New(start time.Time) *Fake { return &Fake{now: start} }

// Now is the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires once the fake time reaches now+d
// (at once when d <= 0).
func (f *Fake) NewTimer(d time.Duration) clock.Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &timer{f: f, at: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- f.now
		return t
	}
	f.timers = append(f.timers, t)
	return t
}

// Advance moves the fake time forward by d, firing the timers due.
func (f *Fake) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

// Set moves the fake time to now (backwards too), firing the timers due.
func (f *Fake) Set(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
	kept := f.timers[:0]
	for _, t := range f.timers {
		if t.at.After(now) {
			kept = append(kept, t)
			continue
		}
		t.c <- now // buffered, and each timer fires once
	}
	clear(f.timers[len(kept):])
	f.timers = kept
}

// Timers is the number of timers not yet fired or stopped.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

type timer struct {
	f  *Fake
	at time.Time
	c  chan time.Time
}

func (t *timer) C() <-chan time.Time { return t.c }

func (t *timer) Stop() bool {
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, x := range f.timers {
		if x == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			return true
		}
	}
	return false
}
