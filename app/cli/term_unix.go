//go:build unix

package cli

import "golang.org/x/sys/unix"

// isTerminalFd asks for the window size: only terminals have one.
func isTerminalFd(fd uintptr) bool {
	_, err := unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ)
	return err == nil
}
