// Package ttypass reads a passphrase from a terminal without echoing it
// (what golang.org/x/term's ReadPassword does, on golang.org/x/sys, which
// the module already uses). It is the one place the recovery-kit
// commands touch the terminal's modes.
package ttypass

import (
	"errors"
	"io"
	"os"
)

// ErrNoTerminal is returned where the platform gives no way to turn the
// echo off.
var ErrNoTerminal = errors.New("cannot hide what is typed on this terminal")

// maxLine bounds a passphrase line.
const maxLine = 4096

// Read reads one line from the terminal f with the echo off and returns
// it without its line ending. The terminal's mode is restored before it
// returns.
func Read(f *os.File) (string, error) {
	restore, err := noEcho(f)
	if err != nil {
		return "", err
	}
	defer restore()
	return readLine(f)
}

// readLine reads byte by byte up to a newline, so nothing after the line
// is consumed from the terminal.
func readLine(r io.Reader) (string, error) {
	var line []byte
	var b [1]byte
	for len(line) < maxLine {
		n, err := r.Read(b[:])
		if n == 1 {
			switch b[0] {
			case '\n':
				return string(trimCR(line)), nil
			default:
				line = append(line, b[0])
			}
			continue
		}
		if err == io.EOF {
			if len(line) == 0 {
				return "", io.ErrUnexpectedEOF
			}
			return string(trimCR(line)), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", errors.New("the passphrase is longer than 4096 bytes")
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}
