// Package base32 implements Tahoe-LAFS's base32: RFC 4648 base32 with the
// lowercase alphabet and no padding. Decoding is strict: it rejects
// uppercase letters, impossible lengths and non-zero trailing bits, so that
// every byte string has exactly one textual form (see docs/formats.md §1).
package base32

import (
	"encoding/base32"
	"fmt"
)

// Alphabet is Tahoe's base32 alphabet, value 0 first.
const Alphabet = "abcdefghijklmnopqrstuvwxyz234567"

var enc = base32.NewEncoding(Alphabet).WithPadding(base32.NoPadding)

// Encode returns the lowercase, unpadded base32 form of b.
func Encode(b []byte) string { return enc.EncodeToString(b) }

// EncodedLen is the length of Encode's output for n input bytes.
func EncodedLen(n int) int { return enc.EncodedLen(n) }

// DecodedLen is the number of bytes a valid encoding of n characters holds.
func DecodedLen(n int) int { return n * 5 / 8 }

// Decode parses s strictly. The error says which character or property is wrong.
func Decode(s string) ([]byte, error) {
	switch len(s) % 8 {
	case 1, 3, 6:
		return nil, fmt.Errorf("base32: length %d is impossible for base32", len(s))
	}
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return nil, fmt.Errorf("base32: character %q at position %d is not in the alphabet a-z2-7", s[i], i)
		}
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("base32: %w", err)
	}
	// The last character may carry bits beyond the data; they must be zero
	// or the string is a second spelling of the same bytes.
	if extra := len(s)*5 - len(b)*8; extra > 0 {
		last := indexOf(s[len(s)-1])
		if last&(1<<extra-1) != 0 {
			return nil, fmt.Errorf("base32: last character %q has non-zero padding bits", s[len(s)-1])
		}
	}
	return b, nil
}

// DecodeFixed decodes s and requires exactly n bytes.
func DecodeFixed(s string, n int) ([]byte, error) {
	if len(s) != EncodedLen(n) {
		return nil, fmt.Errorf("base32: want %d characters for %d bytes, got %d", EncodedLen(n), n, len(s))
	}
	return Decode(s)
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7') }

func indexOf(c byte) int {
	if c >= 'a' && c <= 'z' {
		return int(c - 'a')
	}
	return int(c-'2') + 26
}
