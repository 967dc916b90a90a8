//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package ttypass

import (
	"os"

	"golang.org/x/sys/unix"
)

func noEcho(f *os.File) (func(), error) { return noEchoUnix(f, unix.TIOCGETA, unix.TIOCSETA) }
