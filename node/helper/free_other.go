//go:build !unix

package helper

import "errors"

// freeSpace is not measured here: the spool's own limits still hold.
func freeSpace(string) (int64, error) { return 0, errors.New("free space unknown on this system") }
