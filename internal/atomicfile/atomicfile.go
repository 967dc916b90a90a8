// Package atomicfile replaces small files whole: the new bytes go to a
// temporary file beside the target, are synced, get their permissions,
// and are renamed over the target. A crash leaves the old file or the new
// one, never a mix; a failed write leaves no temporary file behind.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data, with permissions perm. The directory
// must exist. It does not follow the target if it is a symlink: the link
// itself is replaced.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	// Chmod before the bytes go in, so a secret is never readable by
	// others, even for a moment.
	if err = f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes the rename durable where the OS allows it (not on
// Windows, where directories cannot be opened for sync); a failure only
// costs durability of the rename, which the file system journals anyway.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}
