package api

import "time"

// SetHeartbeat sets the event stream's heartbeat interval for a test and
// returns the old one.
func SetHeartbeat(d time.Duration) time.Duration {
	old := heartbeat
	heartbeat = d
	return old
}
