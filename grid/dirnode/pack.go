package dirnode

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/lafssync/lafssync/grid/taghash"
)

// Entry is one child of a directory.
type Entry struct {
	// ReadCap is the child's read-only cap ("" if it has none).
	ReadCap string
	// WriteCap is the child's write cap; "" if it has none or the directory
	// was read without its write key.
	WriteCap string
	// Metadata is the link's JSON metadata object.
	Metadata map[string]any

	packed     []byte // the entry as last read or packed; reused when unchanged
	packedWith string // the key and kind packed was made for
}

func packKey(dirWriteKey []byte, immutable bool) string {
	if immutable {
		return "immutable"
	}
	return "key:" + string(dirWriteKey)
}

// Entries maps NFC-normalized names to entries.
type Entries map[string]*Entry

// ErrMalformed is wrapped by every error about bad directory bytes.
var ErrMalformed = errors.New("malformed directory")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Normalize is the form names are stored and compared in (Unicode NFC).
func Normalize(name string) string { return norm.NFC.String(name) }

func netstring(b *bytes.Buffer, s []byte) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.Write(s)
	b.WriteByte(',')
}

// readNetstring splits one netstring off the front of b.
func readNetstring(b []byte) (val, rest []byte, err error) {
	i := bytes.IndexByte(b, ':')
	if i < 1 || i > 10 {
		return nil, nil, errors.New("bad netstring length")
	}
	n, err := strconv.Atoi(string(b[:i]))
	if err != nil || n < 0 || (i > 1 && b[0] == '0') {
		return nil, nil, fmt.Errorf("bad netstring length %q", b[:i])
	}
	b = b[i+1:]
	if len(b) < n+1 || b[n] != ',' {
		return nil, nil, fmt.Errorf("netstring of %d bytes truncated or not closed by ','", n)
	}
	return b[:n], b[n+1:], nil
}

// tahoeHMAC is Tahoe's MAC over child write caps: HMAC-SHA256's two hashes,
// but with the 16-byte key XORed with the pads without the usual padding
// to the 64-byte block (hashutil.hmac in Tahoe).
func tahoeHMAC(key, data []byte) []byte {
	inner := make([]byte, len(key))
	outer := make([]byte, len(key))
	for i, k := range key {
		inner[i], outer[i] = k^0x36, k^0x5c
	}
	h := sha256.New()
	h.Write(inner)
	h.Write(data)
	in := h.Sum(nil)
	h = sha256.New()
	h.Write(outer)
	h.Write(in)
	return h.Sum(nil)
}

func ctr(key [16]byte, dst, src []byte) {
	blk, _ := aes.NewCipher(key[:])
	cipher.NewCTR(blk, make([]byte, 16)).XORKeyStream(dst, src)
}

// encryptWriteCap is Tahoe's rwcapdata: salt ‖ AES-CTR(key, rwcap) ‖ MAC,
// salt derived from the write cap, key from the salt and the directory's
// write key.
func encryptWriteCap(dirWriteKey []byte, rwcap string) []byte {
	salt := taghash.DirnodeChildSalt([]byte(rwcap))
	key := taghash.DirnodeChildCapKey(salt[:], dirWriteKey)
	out := make([]byte, 16+len(rwcap), 16+len(rwcap)+32)
	copy(out, salt[:])
	ctr(key, out[16:], []byte(rwcap))
	return append(out, tahoeHMAC(key[:], out)...)
}

func decryptWriteCap(dirWriteKey, data []byte) (string, error) {
	if len(data) < 48 {
		return "", fmt.Errorf("encrypted write cap is %d bytes, need at least 48", len(data))
	}
	var salt [16]byte
	copy(salt[:], data[:16])
	key := taghash.DirnodeChildCapKey(salt[:], dirWriteKey)
	ct := data[16 : len(data)-32]
	// Tahoe's readers stopped checking this MAC in 1.3.0; every Tahoe writer
	// still makes it, so we check it and refuse an entry that was altered.
	if !bytes.Equal(tahoeHMAC(key[:], data[:len(data)-32]), data[len(data)-32:]) {
		return "", errors.New("encrypted write cap fails its MAC (tampered or written with another key)")
	}
	pt := make([]byte, len(ct))
	ctr(key, pt, ct)
	return string(bytes.TrimRight(pt, " ")), nil
}

// stripROPrefix drops the "alleged" prefix the read-cap column's position
// already implies, as Tahoe's packer does: "ro." always (the column holds
// read caps), "imm." only in a deep-immutable directory (in a mutable one
// it is the only record that the unknown cap claimed to be immutable).
func stripROPrefix(readCap string, immutable bool) string {
	switch {
	case strings.HasPrefix(readCap, "imm."):
		if immutable {
			return readCap[len("imm."):]
		}
		return readCap
	case strings.HasPrefix(readCap, "ro."):
		return readCap[len("ro."):]
	}
	return readCap
}

// packEntry encodes one child netstring.
func packEntry(name string, e *Entry, dirWriteKey []byte, immutable bool) ([]byte, error) {
	meta := e.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	mj, err := marshalMetadata(meta)
	if err != nil {
		return nil, fmt.Errorf("entry %q: metadata: %w", name, err)
	}
	var inner bytes.Buffer
	netstring(&inner, []byte(name))
	netstring(&inner, []byte(stripROPrefix(e.ReadCap, immutable)))
	switch {
	case immutable:
		netstring(&inner, nil)
	case dirWriteKey != nil:
		netstring(&inner, encryptWriteCap(dirWriteKey, e.WriteCap))
	default:
		return nil, errors.New("a read-only directory cannot be packed")
	}
	netstring(&inner, mj)
	var out bytes.Buffer
	netstring(&out, inner.Bytes())
	return out.Bytes(), nil
}

// Pack serialises entries, sorted by name. dirWriteKey is the directory's
// write key (nil with immutable for DIR2-CHK/LIT, which hold no write caps).
// Entries whose packed form is still valid are copied, not re-encoded.
func Pack(entries Entries, dirWriteKey []byte, immutable bool) ([]byte, error) {
	names := make([]string, 0, len(entries))
	size := 0
	for n, e := range entries {
		names = append(names, n)
		size += len(e.packed) + 64
	}
	sort.Strings(names)
	out := make([]byte, 0, size)
	pk := packKey(dirWriteKey, immutable)
	for _, n := range names {
		e := entries[n]
		if e.packed == nil || e.packedWith != pk {
			if immutable && e.WriteCap != "" {
				return nil, fmt.Errorf("entry %q: an immutable directory cannot hold a write cap", n)
			}
			p, err := packEntry(n, e, dirWriteKey, immutable)
			if err != nil {
				return nil, err
			}
			e.packed, e.packedWith = p, pk
		}
		out = append(out, e.packed...)
	}
	return out, nil
}

// Unpack parses a directory. With dirWriteKey the write caps are
// decrypted; without it (read-only access) they are left empty. An
// immutable directory must carry no write caps.
func Unpack(data []byte, dirWriteKey []byte, immutable bool) (Entries, error) {
	out := Entries{}
	for i := 0; len(data) > 0; i++ {
		start := data
		child, rest, err := readNetstring(data)
		if err != nil {
			return nil, malformed("entry %d: %v", i, err)
		}
		packed := start[:len(start)-len(rest)]
		data = rest
		var f [4][]byte
		for j := range f {
			if f[j], child, err = readNetstring(child); err != nil {
				return nil, malformed("entry %d field %d: %v", i, j, err)
			}
		}
		if len(child) != 0 {
			return nil, malformed("entry %d: %d stray bytes after its four fields", i, len(child))
		}
		if !utf8.Valid(f[0]) {
			return nil, malformed("entry %d: name is not UTF-8", i)
		}
		name := Normalize(string(f[0]))
		if name == "" {
			return nil, malformed("entry %d: empty name", i)
		}
		if _, dup := out[name]; dup {
			return nil, malformed("entry %d: duplicate name %q", i, name)
		}
		e := &Entry{ReadCap: string(bytes.TrimRight(f[1], " "))}
		switch {
		case immutable && len(f[2]) > 0:
			return nil, malformed("entry %q: an immutable directory holds an encrypted write cap", name)
		case dirWriteKey != nil && len(f[2]) > 0:
			if e.WriteCap, err = decryptWriteCap(dirWriteKey, f[2]); err != nil {
				return nil, malformed("entry %q: %v", name, err)
			}
		}
		if err := json.Unmarshal(f[3], &e.Metadata); err != nil || e.Metadata == nil {
			return nil, malformed("entry %q: metadata is not a JSON object", name)
		}
		// Reuse the bytes only when repacking would give the same ones:
		// same key situation and an already-normalized name.
		if name == string(f[0]) && (dirWriteKey != nil || immutable) {
			e.packed, e.packedWith = packed, packKey(dirWriteKey, immutable)
		}
		out[name] = e
	}
	return out, nil
}

// Clone copies entries so a modification does not touch a cached version.
func (es Entries) Clone() Entries {
	out := make(Entries, len(es))
	for n, e := range es {
		c := *e
		out[n] = &c
	}
	return out
}
