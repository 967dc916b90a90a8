//go:build !linux && !darwin

package store

import "os"

// writeAtv writes bufs one after another at off.
func writeAtv(f *os.File, off int64, bufs ...[]byte) error {
	for _, b := range bufs {
		if _, err := f.WriteAt(b, off); err != nil {
			return err
		}
		off += int64(len(b))
	}
	return nil
}
