package recovery

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The passphrase rule (docs/recovery-kit.md): at least MinLength
// characters and an estimated MinBits bits.
const (
	MinLength = 12
	MinBits   = 60
)

// ErrWeakPassphrase is a passphrase the rule refuses.
var ErrWeakPassphrase = errors.New("this passphrase is too easy to guess")

// Strength is a passphrase's estimated strength.
type Strength struct {
	Bits  float64 // estimated entropy
	Runes int     // length in characters
	// Level is "too weak", "fair", "good" or "strong".
	Level string
	// Advice says what would make it acceptable or stronger ("" when strong).
	Advice string
	OK     bool // the rule accepts it
}

// common are fragments of the most used passwords (and the app's own
// name): each counts as one character wherever it appears.
var common = []string{
	"password", "passwort", "passphrase", "qwertz", "qwerty", "azerty", "asdf", "zxcv", "letmein",
	"welcome", "iloveyou", "admin", "login", "master", "dragon", "monkey", "football", "baseball",
	"sunshine", "princess", "shadow", "superman", "trustno1", "secret", "abc123", "123456",
	"654321", "111111", "000000", "lafssync", "lafs", "tahoe", "recovery",
}

// pools are the sizes of the character classes.
const (
	poolLower  = 26
	poolUpper  = 26
	poolDigit  = 10
	poolSymbol = 33
	poolOther  = 100 // letters beyond ASCII, emoji
)

// Estimate rates a passphrase. Each character counts log2 of the pool of
// the classes used (lower case, upper case, digits, ASCII symbols and
// space, anything else), except that a character repeating the one
// before or continuing a run (abc, 321) counts 1 bit, and a common
// password fragment counts as one character.
func Estimate(p string) Strength {
	s := Strength{Runes: utf8.RuneCountInString(p)}
	lower := strings.ToLower(p)
	var lo, up, di, sy, ot bool
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z':
			lo = true
		case r >= 'A' && r <= 'Z':
			up = true
		case r >= '0' && r <= '9':
			di = true
		case r < 0x80 && unicode.IsPrint(r):
			sy = true
		default:
			ot = true
		}
	}
	pool := 0
	for _, c := range []struct {
		used bool
		n    int
	}{{lo, poolLower}, {up, poolUpper}, {di, poolDigit}, {sy, poolSymbol}, {ot, poolOther}} {
		if c.used {
			pool += c.n
		}
	}
	per := 0.0
	if pool > 1 {
		per = math.Log2(float64(pool))
	}
	rs := []rune(lower)
	for i := 0; i < len(rs); {
		if n := commonAt(rs, i); n > 0 {
			s.Bits += per
			i += n
			continue
		}
		if i > 0 && (rs[i] == rs[i-1] || rs[i] == rs[i-1]+1 || rs[i] == rs[i-1]-1) {
			s.Bits++
		} else {
			s.Bits += per
		}
		i++
	}
	switch {
	case s.Runes < MinLength:
		s.Level = "too weak"
		s.Advice = fmt.Sprintf("Use at least %d characters (this has %d). Four or five unrelated words make a good passphrase.", MinLength, s.Runes)
	case s.Bits < MinBits:
		s.Level = "too weak"
		s.Advice = "Too easy to guess: avoid common passwords, repeats and runs like abc or 123. Add a few unrelated words."
	case s.Bits < 80:
		s.Level, s.OK = "fair", true
		s.Advice = "Acceptable. Another word or two would make it stronger."
	case s.Bits < 100:
		s.Level, s.OK = "good", true
		s.Advice = "Good."
	default:
		s.Level, s.OK = "strong", true
	}
	return s
}

// commonAt is the length of the longest common fragment at rs[i:], 0 if none.
func commonAt(rs []rune, i int) int {
	best := 0
	rest := string(rs[i:])
	for _, c := range common {
		if strings.HasPrefix(rest, c) && len(c) > best {
			best = len(c) // common fragments are ASCII: bytes = runes
		}
	}
	return best
}

// CheckPassphrase refuses a passphrase the rule does not accept, saying
// why.
func CheckPassphrase(p string) error {
	s := Estimate(p)
	if !s.OK {
		return fmt.Errorf("%w: %s", ErrWeakPassphrase, s.Advice)
	}
	return nil
}
