//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package ttypass

import (
	"os"

	"golang.org/x/sys/unix"
)

// noEchoUnix clears ECHO (keeping ICANON and ISIG: the line is edited as
// usual and Ctrl-C still stops the command) and returns what restores it.
func noEchoUnix(f *os.File, get, set uint) (func(), error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, get)
	if err != nil {
		return nil, ErrNoTerminal
	}
	t := *old
	t.Lflag &^= unix.ECHO
	t.Lflag |= unix.ICANON | unix.ISIG
	t.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, set, &t); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, set, old) }, nil
}
