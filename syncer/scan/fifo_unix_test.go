//go:build unix

package scan

import (
	"syscall"
	"testing"
)

func mkfifo(t *testing.T, p string) bool {
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	return true
}
