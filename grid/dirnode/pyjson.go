package dirnode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// marshalMetadata writes metadata the way Tahoe's json.dumps does with
// Python's defaults: ", " and ": " separators, every non-ASCII character
// escaped as \uXXXX (surrogate pairs above U+FFFF), no HTML escaping, and
// floats in Python's repr form. This matters for immutable directories,
// whose cap is derived from their bytes: the same children must give the
// same bytes as Tahoe would write. Python keeps dict insertion order, which
// a Go map does not have; keys are written sorted, which is the order
// Tahoe's own "tahoe" sub-dict is built in (linkcrtime, linkmotime).
func marshalMetadata(v map[string]any) ([]byte, error) {
	var b bytes.Buffer
	if err := pyEncode(&b, v, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// maxJSONDepth bounds nesting so a hostile value cannot recurse forever.
const maxJSONDepth = 64

func pyEncode(b *bytes.Buffer, v any, depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("metadata nested deeper than %d levels", maxJSONDepth)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		pyString(b, x)
	case json.Number:
		if !json.Valid([]byte(x)) {
			return fmt.Errorf("metadata number %q is not valid JSON", string(x))
		}
		b.WriteString(string(x))
	case float64:
		s, err := pyFloat(x)
		if err != nil {
			return err
		}
		b.WriteString(s)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			pyString(b, k)
			b.WriteString(": ")
			if err := pyEncode(b, x[k], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := pyEncode(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		// Anything else (structs, other integer types, typed maps):
		// let encoding/json decide its JSON shape, then write that shape
		// the Python way, keeping its numbers' text.
		raw, err := json.Marshal(x)
		if err != nil {
			return err
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var generic any
		if err := d.Decode(&generic); err != nil {
			return err
		}
		return pyEncode(b, generic, depth+1)
	}
	return nil
}

// pyFloat formats f as Python's repr does, except that whole numbers below
// 1e16 are written as integers: JSON read back into Go loses the
// int/float distinction, and Tahoe's integer fields (sizes) must stay
// integers.
func pyFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("metadata number %v has no JSON form", f)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e16 {
		return strconv.FormatInt(int64(f), 10), nil
	}
	// Python's repr uses the shortest round-tripping digits, in fixed
	// notation for decimal exponents -4..15 and "1.5e-07" style otherwise;
	// Go's 'e' format already writes exponents that way.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, err := strconv.Atoi(e[bytes.IndexByte([]byte(e), 'e')+1:])
	if err != nil {
		return "", fmt.Errorf("format %v: %w", f, err)
	}
	if exp < -4 || exp >= 16 {
		return e, nil
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

const hexDigits = "0123456789abcdef"

// pyString writes s as a JSON string with Python's ensure_ascii escaping.
// Invalid UTF-8 is written as U+FFFD, as encoding/json does.
func pyString(b *bytes.Buffer, s string) {
	u4 := func(r rune) {
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(hexDigits[(r>>shift)&0xf])
		}
	}
	b.WriteByte('"')
	for _, r := range s { // invalid bytes arrive as utf8.RuneError
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			u4(r)
		case r < 0x80:
			b.WriteByte(byte(r))
		case r > 0xffff:
			r -= 0x10000
			u4(0xd800 + (r>>10)&0x3ff)
			u4(0xdc00 + r&0x3ff)
		default:
			u4(r)
		}
	}
	b.WriteByte('"')
}
