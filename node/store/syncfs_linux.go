package store

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// sameFS reports the device all dirs are on, if it is one.
func sameFS(dirs []string) (uint64, bool) {
	var dev uint64
	for i, d := range dirs {
		var st unix.Stat_t
		if err := unix.Stat(d, &st); err != nil {
			return 0, false
		}
		if i > 0 && st.Dev != dev {
			return 0, false
		}
		dev = st.Dev
	}
	return dev, len(dirs) > 0 && syncfsReportsErrors()
}

// syncfsReportsErrors: syncfs returns writeback errors since Linux 5.8;
// before, it returned 0 even when data was lost, so group commit would
// report shares stored that are not.
func syncfsReportsErrors() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimLeftFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return major > 5 || major == 5 && minor >= 8
}

// newFSFlusher flushes the whole filesystem of dir with syncfs(2). The
// directory stays open while the committer lives: syncfs reports the
// writeback errors recorded since the previous call on the same
// descriptor, so an error in the background writeback of a batch's file
// (before the flush) is not missed, as it would be on a new descriptor.
func newFSFlusher(dir string) (func([]string) error, func() error, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	flush := func(paths []string) error {
		err := unix.Syncfs(int(d.Fd()))
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
			return fsyncPaths(paths) // a kernel or sandbox without syncfs
		}
		if err != nil {
			return &os.PathError{Op: "syncfs", Path: dir, Err: err}
		}
		return nil
	}
	return flush, d.Close, nil
}
