package cap

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
)

// Kind names a cap's kind as it appears after "URI:".
type Kind string

// Every kind Tahoe defines.
const (
	KindLIT             Kind = "LIT"
	KindCHK             Kind = "CHK"
	KindCHKVerifier     Kind = "CHK-Verifier"
	KindSSK             Kind = "SSK"
	KindSSKRO           Kind = "SSK-RO"
	KindSSKVerifier     Kind = "SSK-Verifier"
	KindMDMF            Kind = "MDMF"
	KindMDMFRO          Kind = "MDMF-RO"
	KindMDMFVerifier    Kind = "MDMF-Verifier"
	KindDir             Kind = "DIR2"
	KindDirRO           Kind = "DIR2-RO"
	KindDirVerifier     Kind = "DIR2-Verifier"
	KindDirCHK          Kind = "DIR2-CHK"
	KindDirCHKVerifier  Kind = "DIR2-CHK-Verifier"
	KindDirLIT          Kind = "DIR2-LIT"
	KindDirMDMF         Kind = "DIR2-MDMF"
	KindDirMDMFRO       Kind = "DIR2-MDMF-RO"
	KindDirMDMFVerifier Kind = "DIR2-MDMF-Verifier"
	KindUnknown         Kind = "unknown"
)

// dirOf maps a directory kind to the kind of the file cap it wraps.
var dirOf = map[Kind]Kind{
	KindDir: KindSSK, KindDirRO: KindSSKRO, KindDirVerifier: KindSSKVerifier,
	KindDirCHK: KindCHK, KindDirCHKVerifier: KindCHKVerifier, KindDirLIT: KindLIT,
	KindDirMDMF: KindMDMF, KindDirMDMFRO: KindMDMFRO, KindDirMDMFVerifier: KindMDMFVerifier,
}

var fileToDir = func() map[Kind]Kind {
	m := map[Kind]Kind{}
	for d, f := range dirOf {
		m[f] = d
	}
	return m
}()

// Cap is any capability.
type Cap interface {
	// String is the cap itself. It is a secret: do not log it.
	String() string
	Kind() Kind
	// StorageIndex is where the shares live; LIT caps have none.
	StorageIndex() (storage.SI, bool)
	// ReadOnly is the read cap for this cap (itself if it is one); nil
	// for verify caps.
	ReadOnly() Cap
	// Verifier is the verify cap; nil for LIT (which has nothing to verify).
	Verifier() Cap
	IsMutable() bool
	IsReadOnly() bool
	IsDir() bool
	// LogValue redacts the secret parts.
	LogValue() slog.Value
}

// Redacted is a form of c that is safe for logs: kind and storage index.
func Redacted(c Cap) string {
	if c == nil {
		return "<nil cap>"
	}
	if si, ok := c.StorageIndex(); ok {
		return fmt.Sprintf("URI:%s:[si=%s]", c.Kind(), si)
	}
	return fmt.Sprintf("URI:%s:[redacted]", c.Kind())
}

func logValue(c Cap) slog.Value { return slog.StringValue(Redacted(c)) }

// ---- LIT ----

// LIT holds a small file's bytes inline.
type LIT struct{ Data []byte }

func (c *LIT) String() string                   { return "URI:LIT:" + base32.Encode(c.Data) }
func (c *LIT) Kind() Kind                       { return KindLIT }
func (c *LIT) StorageIndex() (storage.SI, bool) { return storage.SI{}, false }
func (c *LIT) ReadOnly() Cap                    { return c }
func (c *LIT) Verifier() Cap                    { return nil }
func (c *LIT) IsMutable() bool                  { return false }
func (c *LIT) IsReadOnly() bool                 { return true }
func (c *LIT) IsDir() bool                      { return false }
func (c *LIT) LogValue() slog.Value             { return logValue(c) }

// ---- CHK ----

// CHK is an immutable file's read cap.
type CHK struct {
	Key     [16]byte
	UEBHash [32]byte
	K, N    int
	Size    int64
}

func (c *CHK) String() string {
	return fmt.Sprintf("URI:CHK:%s:%s:%d:%d:%d", base32.Encode(c.Key[:]), base32.Encode(c.UEBHash[:]), c.K, c.N, c.Size)
}
func (c *CHK) Kind() Kind { return KindCHK }
func (c *CHK) StorageIndex() (storage.SI, bool) {
	return storage.SI(taghash.StorageIndex(c.Key)), true
}
func (c *CHK) ReadOnly() Cap { return c }
func (c *CHK) Verifier() Cap {
	si, _ := c.StorageIndex()
	return &CHKVerifier{SI: si, UEBHash: c.UEBHash, K: c.K, N: c.N, Size: c.Size}
}
func (c *CHK) IsMutable() bool      { return false }
func (c *CHK) IsReadOnly() bool     { return true }
func (c *CHK) IsDir() bool          { return false }
func (c *CHK) LogValue() slog.Value { return logValue(c) }

// CHKVerifier can check an immutable file's shares but not read it.
type CHKVerifier struct {
	SI      storage.SI
	UEBHash [32]byte
	K, N    int
	Size    int64
}

func (c *CHKVerifier) String() string {
	return fmt.Sprintf("URI:CHK-Verifier:%s:%s:%d:%d:%d", base32.Encode(c.SI[:]), base32.Encode(c.UEBHash[:]), c.K, c.N, c.Size)
}
func (c *CHKVerifier) Kind() Kind                       { return KindCHKVerifier }
func (c *CHKVerifier) StorageIndex() (storage.SI, bool) { return c.SI, true }
func (c *CHKVerifier) ReadOnly() Cap                    { return nil }
func (c *CHKVerifier) Verifier() Cap                    { return c }
func (c *CHKVerifier) IsMutable() bool                  { return false }
func (c *CHKVerifier) IsReadOnly() bool                 { return true }
func (c *CHKVerifier) IsDir() bool                      { return false }
func (c *CHKVerifier) LogValue() slog.Value             { return logValue(c) }

// ---- mutable (SDMF "SSK" and MDMF) ----

// Format is a mutable file's share format.
type Format int

// Mutable formats.
const (
	SDMF Format = iota
	MDMF
)

func (f Format) String() string {
	if f == MDMF {
		return "MDMF"
	}
	return "SDMF"
}

func (f Format) kinds() (write, read, verify Kind) {
	if f == MDMF {
		return KindMDMF, KindMDMFRO, KindMDMFVerifier
	}
	return KindSSK, KindSSKRO, KindSSKVerifier
}

// Mutable is the write cap of an SDMF or MDMF file.
type Mutable struct {
	Format      Format
	WriteKey    [16]byte
	Fingerprint [32]byte
}

// MutableRO is the read cap of a mutable file.
type MutableRO struct {
	Format      Format
	ReadKey     [16]byte
	Fingerprint [32]byte
}

// MutableVerifier is the verify cap of a mutable file.
type MutableVerifier struct {
	Format      Format
	SI          storage.SI
	Fingerprint [32]byte
}

func twoFields(k Kind, a []byte, fp [32]byte) string {
	return fmt.Sprintf("URI:%s:%s:%s", k, base32.Encode(a), base32.Encode(fp[:]))
}

func (c *Mutable) String() string {
	w, _, _ := c.Format.kinds()
	return twoFields(w, c.WriteKey[:], c.Fingerprint)
}
func (c *Mutable) Kind() Kind { w, _, _ := c.Format.kinds(); return w }
func (c *Mutable) StorageIndex() (storage.SI, bool) {
	return c.ReadOnly().StorageIndex()
}
func (c *Mutable) ReadOnly() Cap {
	return &MutableRO{Format: c.Format, ReadKey: taghash.SSKReadKey(c.WriteKey[:]), Fingerprint: c.Fingerprint}
}
func (c *Mutable) Verifier() Cap        { return c.ReadOnly().Verifier() }
func (c *Mutable) IsMutable() bool      { return true }
func (c *Mutable) IsReadOnly() bool     { return false }
func (c *Mutable) IsDir() bool          { return false }
func (c *Mutable) LogValue() slog.Value { return logValue(c) }

func (c *MutableRO) String() string {
	_, r, _ := c.Format.kinds()
	return twoFields(r, c.ReadKey[:], c.Fingerprint)
}
func (c *MutableRO) Kind() Kind { _, r, _ := c.Format.kinds(); return r }
func (c *MutableRO) StorageIndex() (storage.SI, bool) {
	return storage.SI(taghash.SSKStorageIndex(c.ReadKey[:])), true
}
func (c *MutableRO) ReadOnly() Cap { return c }
func (c *MutableRO) Verifier() Cap {
	si, _ := c.StorageIndex()
	return &MutableVerifier{Format: c.Format, SI: si, Fingerprint: c.Fingerprint}
}
func (c *MutableRO) IsMutable() bool      { return true }
func (c *MutableRO) IsReadOnly() bool     { return true }
func (c *MutableRO) IsDir() bool          { return false }
func (c *MutableRO) LogValue() slog.Value { return logValue(c) }

func (c *MutableVerifier) String() string {
	_, _, v := c.Format.kinds()
	return twoFields(v, c.SI[:], c.Fingerprint)
}
func (c *MutableVerifier) Kind() Kind                       { _, _, v := c.Format.kinds(); return v }
func (c *MutableVerifier) StorageIndex() (storage.SI, bool) { return c.SI, true }
func (c *MutableVerifier) ReadOnly() Cap                    { return nil }
func (c *MutableVerifier) Verifier() Cap                    { return c }
func (c *MutableVerifier) IsMutable() bool                  { return true }
func (c *MutableVerifier) IsReadOnly() bool                 { return true }
func (c *MutableVerifier) IsDir() bool                      { return false }
func (c *MutableVerifier) LogValue() slog.Value             { return logValue(c) }

// ---- directories ----

// Dir is a directory cap: the file cap holding the directory's entries.
type Dir struct{ File Cap }

func (c *Dir) String() string {
	s := c.File.String()
	return "URI:" + string(fileToDir[c.File.Kind()]) + s[len("URI:")+len(c.File.Kind()):]
}
func (c *Dir) Kind() Kind                       { return fileToDir[c.File.Kind()] }
func (c *Dir) StorageIndex() (storage.SI, bool) { return c.File.StorageIndex() }
func (c *Dir) ReadOnly() Cap                    { return wrapDir(c.File.ReadOnly()) }
func (c *Dir) Verifier() Cap                    { return wrapDir(c.File.Verifier()) }
func (c *Dir) IsMutable() bool                  { return c.File.IsMutable() }
func (c *Dir) IsReadOnly() bool                 { return c.File.IsReadOnly() }
func (c *Dir) IsDir() bool                      { return true }
func (c *Dir) LogValue() slog.Value             { return logValue(c) }

func wrapDir(f Cap) Cap {
	if f == nil {
		return nil
	}
	return &Dir{File: f}
}

// ---- unknown ----

// Unknown is a cap this version cannot interpret, kept verbatim so a
// directory holding it can be rewritten without losing it.
type Unknown struct {
	Raw    string
	Reason string
}

func (c *Unknown) String() string                   { return c.Raw }
func (c *Unknown) Kind() Kind                       { return KindUnknown }
func (c *Unknown) StorageIndex() (storage.SI, bool) { return storage.SI{}, false }
func (c *Unknown) ReadOnly() Cap                    { return nil }
func (c *Unknown) Verifier() Cap                    { return nil }
func (c *Unknown) IsMutable() bool                  { return false }
func (c *Unknown) IsReadOnly() bool                 { return false }
func (c *Unknown) IsDir() bool                      { return false }
func (c *Unknown) LogValue() slog.Value             { return slog.StringValue("[unknown cap]") }

// ---- parsing ----

// Error is a malformed cap. It never includes the cap text, which may be a
// secret.
type Error struct {
	Kind   Kind // "" if the prefix was not recognised
	Reason string
}

func (e *Error) Error() string {
	if e.Kind == "" {
		return "malformed cap: " + e.Reason
	}
	return fmt.Sprintf("malformed %s cap: %s", e.Kind, e.Reason)
}

// ErrUnknownKind is wrapped when the prefix is well-formed but unknown.
var ErrUnknownKind = errors.New("unknown cap kind")

func bad(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Reason: fmt.Sprintf(format, args...)}
}

// Parse parses any known cap. Unknown kinds are an error (see ParseChild
// for the lenient form used inside directories).
func Parse(s string) (Cap, error) {
	if !strings.HasPrefix(s, "URI:") {
		if strings.HasPrefix(s, "ro.") || strings.HasPrefix(s, "imm.") {
			return nil, bad("", "the %q prefix is only valid inside directories", s[:strings.IndexByte(s, '.')+1])
		}
		return nil, bad("", "does not start with \"URI:\"")
	}
	rest := s[len("URI:"):]
	i := strings.IndexByte(rest, ':')
	if i < 0 {
		return nil, bad("", "no ':' after the kind")
	}
	k, body := Kind(rest[:i]), rest[i+1:]
	if f, ok := dirOf[k]; ok {
		c, err := parseFile(f, body)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Kind = k
			}
			return nil, err
		}
		return &Dir{File: c}, nil
	}
	return parseFile(k, body)
}

func parseFile(k Kind, body string) (Cap, error) {
	switch k {
	case KindLIT:
		data, err := base32.Decode(body)
		if err != nil {
			return nil, bad(k, "data is not valid base32: %v", err)
		}
		return &LIT{Data: data}, nil
	case KindCHK, KindCHKVerifier:
		f := strings.Split(body, ":")
		if len(f) != 5 {
			return nil, bad(k, "want 5 fields (key or storage index, UEB hash, k, n, size), got %d", len(f))
		}
		a, err := fixed(k, "key", f[0], 16)
		if err != nil {
			return nil, err
		}
		h, err := fixed(k, "UEB hash", f[1], 32)
		if err != nil {
			return nil, err
		}
		kk, err := number(k, "k", f[2], 256)
		if err != nil {
			return nil, err
		}
		nn, err := number(k, "n", f[3], 256)
		if err != nil {
			return nil, err
		}
		size, err := number(k, "size", f[4], 1<<62)
		if err != nil {
			return nil, err
		}
		if kk < 1 || kk > nn {
			return nil, bad(k, "need 1 <= k <= n, got k=%d n=%d", kk, nn)
		}
		if k == KindCHK {
			c := &CHK{K: int(kk), N: int(nn), Size: size}
			copy(c.Key[:], a)
			copy(c.UEBHash[:], h)
			return c, nil
		}
		c := &CHKVerifier{K: int(kk), N: int(nn), Size: size}
		copy(c.SI[:], a)
		copy(c.UEBHash[:], h)
		return c, nil
	case KindSSK, KindSSKRO, KindSSKVerifier, KindMDMF, KindMDMFRO, KindMDMFVerifier:
		f := strings.Split(body, ":")
		mdmf := strings.HasPrefix(string(k), "MDMF")
		if len(f) < 2 || (!mdmf && len(f) != 2) {
			return nil, bad(k, "want 2 fields (key, fingerprint), got %d", len(f))
		}
		a, err := fixed(k, "key", f[0], 16)
		if err != nil {
			return nil, err
		}
		fp, err := fixed(k, "fingerprint", f[1], 32)
		if err != nil {
			return nil, err
		}
		format := SDMF
		if mdmf {
			format = MDMF
		}
		var fpa [32]byte
		copy(fpa[:], fp)
		switch k {
		case KindSSK, KindMDMF:
			c := &Mutable{Format: format, Fingerprint: fpa}
			copy(c.WriteKey[:], a)
			return c, nil
		case KindSSKRO, KindMDMFRO:
			c := &MutableRO{Format: format, Fingerprint: fpa}
			copy(c.ReadKey[:], a)
			return c, nil
		default:
			c := &MutableVerifier{Format: format, Fingerprint: fpa}
			copy(c.SI[:], a)
			return c, nil
		}
	}
	return nil, &Error{Kind: "", Reason: fmt.Sprintf("%v %q", ErrUnknownKind, string(k))}
}

func fixed(k Kind, field, s string, n int) ([]byte, error) {
	if len(s) != base32.EncodedLen(n) {
		return nil, bad(k, "%s is %d characters, want %d", field, len(s), base32.EncodedLen(n))
	}
	b, err := base32.Decode(s)
	if err != nil {
		return nil, bad(k, "%s is not valid base32: %v", field, err)
	}
	return b, nil
}

func number(k Kind, field, s string, limit int64) (int64, error) {
	if s == "" {
		return 0, bad(k, "%s is empty", field)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, bad(k, "%s %q is not a decimal number", field, s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, bad(k, "%s %q has a leading zero", field, s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v > limit {
		return 0, bad(k, "%s %q is out of range (max %d)", field, s, limit)
	}
	return v, nil
}

// Directory-entry prefixes (Tahoe's "alleged" read-only / immutable).
const (
	PrefixReadOnly  = "ro."
	PrefixImmutable = "imm."
)

// ParseChild parses a cap as stored in a directory entry: it honours the
// "ro." and "imm." prefixes and returns *Unknown (never an error) for caps
// this version cannot use, so they are carried along unchanged.
func ParseChild(s string) Cap {
	body, mustRO, mustImm := s, false, false
	switch {
	case strings.HasPrefix(s, PrefixImmutable):
		body, mustRO, mustImm = s[len(PrefixImmutable):], true, true
	case strings.HasPrefix(s, PrefixReadOnly):
		body, mustRO = s[len(PrefixReadOnly):], true
	}
	c, err := Parse(body)
	if err != nil {
		return &Unknown{Raw: s, Reason: err.Error()}
	}
	if mustImm && c.IsMutable() {
		return &Unknown{Raw: s, Reason: "cap marked immutable (imm.) is mutable"}
	}
	if mustRO && !c.IsReadOnly() {
		return &Unknown{Raw: s, Reason: "cap marked read-only (ro.) grants write access"}
	}
	return c
}
