//go:build !unix

package folder_test

import "syscall"

func nobodyAttr() *syscall.SysProcAttr { return nil }
