//go:build unix

package store

import "golang.org/x/sys/unix"

// statfsFree is the space an unprivileged user may still write under path.
func statfsFree(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
