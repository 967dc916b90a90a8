package ui

import (
	"sync"

	"fyne.io/fyne/v2"
)

// Serial makes a window's widget changes one at a time. fyne.Do runs a
// change on the UI thread in an app, but on the calling goroutine under
// the test driver, where two goroutines' changes would otherwise overlap.
// Code already on the UI thread (a widget's callback, a test's click)
// holds the lock itself.
type Serial struct {
	sync.Mutex
}

// Do runs fn on the UI thread holding the lock: a change from a goroutine.
func (s *Serial) Do(fn func()) {
	fyne.Do(func() {
		s.Lock()
		defer s.Unlock()
		fn()
	})
}
