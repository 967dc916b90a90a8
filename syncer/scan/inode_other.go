//go:build !unix

package scan

import (
	"io/fs"
	"os"
)

// inode is 0 where the platform has none to offer; records then compare
// by size and mtime alone.
func inode(fs.FileInfo) uint64 { return 0 }

func openNoFollow(name string) (*os.File, error) { return os.Open(name) }
