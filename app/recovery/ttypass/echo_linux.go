package ttypass

import (
	"os"

	"golang.org/x/sys/unix"
)

func noEcho(f *os.File) (func(), error) { return noEchoUnix(f, unix.TCGETS, unix.TCSETS) }
