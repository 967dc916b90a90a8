//go:build linux || darwin

package store

import (
	"io"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// writeAtv writes bufs one after another at off in one pwritev(2).
func writeAtv(f *os.File, off int64, bufs ...[]byte) error {
	want := 0
	for _, b := range bufs {
		want += len(b)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var n int
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Pwritev(int(fd), bufs, off)
			if werr != syscall.EINTR {
				return true
			}
		}
	}); err != nil {
		return err
	}
	if werr != nil {
		return &fs.PathError{Op: "pwritev", Path: f.Name(), Err: werr}
	}
	if n < want {
		// A short write (a signal, a full disk): the rest one buffer at
		// a time, so that a full disk is reported as such.
		return writeRest(f, off, n, bufs)
	}
	return nil
}

// writeRest writes what a vectored write of bufs at off left after its
// first done bytes.
func writeRest(f *os.File, off int64, done int, bufs [][]byte) error {
	at := off
	for _, b := range bufs {
		if done >= len(b) {
			done -= len(b)
			at += int64(len(b))
			continue
		}
		n, err := f.WriteAt(b[done:], at+int64(done))
		if err == nil && n < len(b)-done {
			err = io.ErrShortWrite
		}
		if err != nil {
			return err
		}
		at += int64(len(b))
		done = 0
	}
	return nil
}
