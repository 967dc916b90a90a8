//go:build !linux

package store

// sameFS: group commit needs syncfs(2), which only Linux has; elsewhere
// each share is flushed on its own (finish).
func sameFS([]string) (uint64, bool) { return 0, false }

func newFSFlusher(string) (func([]string) error, func() error, error) {
	return fsyncPaths, func() error { return nil }, nil
}
