//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package ttypass

import "os"

func noEcho(*os.File) (func(), error) { return nil, ErrNoTerminal }
