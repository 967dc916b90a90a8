//go:build !unix

package scan

import (
	"testing"
	"time"
)

func mkfifo(*testing.T, string) bool { return false }

func cpuTime() time.Duration { return 0 }
