//go:build !unix

package folder

import "os"

// inode is unknown here; comparisons then use size and mtime only.
func inode(os.FileInfo) uint64 { return 0 }
