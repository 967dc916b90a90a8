//go:build !unix && !windows

package cli

// isTerminalFd is false where there is no terminal to ask about.
func isTerminalFd(uintptr) bool { return false }
