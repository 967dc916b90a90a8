//go:build !unix && !windows

package nodedir

import (
	"errors"
	"os"
)

// No OS lock on this platform: Acquire always succeeds.
var errWouldBlock = errors.New("locked")

func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }
