//go:build unix

package store

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openFile is os.OpenFile for a share file, which is always a regular
// file: os.OpenFile tries each descriptor it opens in the runtime's poller
// (a failing epoll_ctl for a regular file, and four fcntls to set and
// clear O_NONBLOCK around it), six syscalls for every request's one open.
// A descriptor given to os.NewFile is not, at the cost of one fcntl.
func openFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	for {
		fd, err := unix.Open(path, flag|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
		}
		if err != syscall.EINTR {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
	}
}
