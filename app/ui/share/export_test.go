package share

import "time"

// The tests' clock: a fixed moment, so that expected times never depend on
// a minute turning over while a test runs.
func init() {
	now = func() time.Time { return time.Date(2026, 12, 2, 14, 3, 0, 0, time.Local) }
}
