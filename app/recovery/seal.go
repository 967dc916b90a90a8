package recovery

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// FormatVersion is the version of the file format (docs/recovery-kit.md).
const FormatVersion = 1

// HeaderWord starts every kit: its first line is "LAFS-SYNC-RECOVERY-KIT 1".
const HeaderWord = "LAFS-SYNC-RECOVERY-KIT"

// Params are the Argon2id settings a kit's key is derived with. They are
// stored in the kit, so later versions can raise them and still read
// older kits.
type Params struct {
	Time    uint32 // passes over the memory
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultParams take about half a second to a second on a laptop
// (docs/recovery-kit.md has the measurements) and 64 MiB of memory.
var DefaultParams = Params{Time: 8, Memory: 64 << 10, Threads: 1}

// Bounds on the parameters a kit may ask for: a damaged or hostile file
// must not make Open allocate gigabytes or run for minutes.
const (
	maxTime    = 32
	maxMemory  = 512 << 10 // KiB: 512 MiB
	maxThreads = 16
)

func (p Params) check() error {
	if p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.Threads > maxThreads ||
		p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory {
		return fmt.Errorf("%w: it asks for key-derivation settings outside what LAFS Sync uses (%d passes, %d MiB, %d threads; at most %d, %d MiB, %d)",
			ErrDamaged, p.Time, p.Memory>>10, p.Threads, maxTime, maxMemory>>10, maxThreads)
	}
	return nil
}

// The binary kit (the "blob"; docs/recovery-kit.md):
//
//	0   4  magic "LSRK"
//	4   1  format version (1)
//	5   1  KDF (1 = Argon2id v1.3)
//	6   4  Argon2 passes, big endian
//	10  4  Argon2 memory in KiB
//	14  1  Argon2 threads
//	15  16 salt
//	31  24 nonce
//	55  8  key check: bytes 32..39 of the Argon2 output
//	63  4  N, the length of the ciphertext
//	67  N  XChaCha20-Poly1305 of deflate(JSON kit), additional data: bytes 0..66
//	67+N 4 CRC-32 (IEEE) of everything before it
const (
	magic      = "LSRK"
	kdfArgon2  = 1
	saltLen    = 16
	checkLen   = 8
	headerLen  = 4 + 1 + 1 + 4 + 4 + 1 + saltLen + chacha20poly1305.NonceSizeX + checkLen + 4
	crcLen     = 4
	maxCipher  = 256 << 10 // a kit is a few KB
	maxPlain   = 1 << 20   // inflated JSON
	maxText    = 1 << 20   // the text form
	groupLen   = 5         // base32 characters per group
	lineGroups = 8         // groups per line
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Errors Open returns; each is worded for the user and wrapped with
// detail.
var (
	ErrNotKit          = errors.New(`this is not a LAFS Sync recovery kit (a kit begins with the line "` + HeaderWord + ` 1")`)
	ErrVersion         = errors.New("this recovery kit was made by a newer version of LAFS Sync")
	ErrTruncated       = errors.New("the recovery kit is incomplete: part of it is missing (was the file cut short, or a line of the printed text left out?)")
	ErrDamaged         = errors.New("the recovery kit is damaged: it was changed, or copied or typed wrongly, since it was made")
	ErrWrongPassphrase = errors.New("wrong passphrase: this is not the passphrase the recovery kit was made with")
)

// Seal encrypts k with passphrase (Argon2id with p, XChaCha20-Poly1305)
// and returns the kit's text form: the header line, a comment, and the
// blob in base32 groups. The passphrase must pass CheckPassphrase.
func Seal(k *Kit, passphrase string, p Params) ([]byte, error) {
	if err := CheckPassphrase(passphrase); err != nil {
		return nil, err
	}
	blob, err := sealBlob(k, passphrase, p, rand.Reader)
	if err != nil {
		return nil, err
	}
	return textForm(blob), nil
}

func sealBlob(k *Kit, passphrase string, p Params, rnd io.Reader) ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if err := k.validate(); err != nil {
		return nil, err
	}
	js, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	var plain bytes.Buffer
	zw, _ := flate.NewWriter(&plain, flate.BestCompression)
	zw.Write(js)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	h := make([]byte, headerLen, headerLen+plain.Len()+chacha20poly1305.Overhead+crcLen)
	copy(h, magic)
	h[4], h[5] = FormatVersion, kdfArgon2
	binary.BigEndian.PutUint32(h[6:], p.Time)
	binary.BigEndian.PutUint32(h[10:], p.Memory)
	h[14] = p.Threads
	salt, nonce := h[15:15+saltLen], h[31:31+chacha20poly1305.NonceSizeX]
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, err
	}
	key, check := derive(passphrase, salt, p)
	copy(h[55:], check)
	n := plain.Len() + chacha20poly1305.Overhead
	if n > maxCipher {
		return nil, fmt.Errorf("the recovery kit would be %d KB, more than the %d KB a kit may be: too many folders or aliases", n>>10, maxCipher>>10)
	}
	binary.BigEndian.PutUint32(h[63:], uint32(n))
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	blob := aead.Seal(h, nonce, plain.Bytes(), h[:headerLen])
	return binary.BigEndian.AppendUint32(blob, crc32.ChecksumIEEE(blob)), nil
}

// derive is the key and the key check from the passphrase.
func derive(passphrase string, salt []byte, p Params) (key, check []byte) {
	out := argon2.IDKey([]byte(passphrase), salt, p.Time, p.Memory, p.Threads, chacha20poly1305.KeySize+checkLen)
	return out[:chacha20poly1305.KeySize], out[chacha20poly1305.KeySize:]
}

// comment is the text form's explanation, between the header line and
// the body. It is fixed: a kit whose comment lines differ from these was
// changed (Open checks it, so no byte of the file can change unnoticed).
var comment = []string{
	"# LAFS Sync recovery kit: the keys (caps) of your folders, encrypted with your recovery",
	"# passphrase. Keep it and the passphrase safe, and apart. Restore on a new computer with",
	"# lafs recovery-kit restore THIS-FILE, or in the LAFS Sync app (Restore from a recovery kit).",
}

// textForm is the file: header line, comment, base32 groups.
func textForm(blob []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", HeaderWord, FormatVersion)
	for _, c := range comment {
		b.WriteString(c + "\n")
	}
	b.WriteString(Groups(b32.EncodeToString(blob)))
	return b.Bytes()
}

// Groups splits s into groups of five characters, eight to a line, each
// line ending in a newline: the body of the kit's text form.
func Groups(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += groupLen {
		switch {
		case i > 0 && i%(groupLen*lineGroups) == 0:
			b.WriteByte('\n')
		case i > 0:
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+groupLen, len(s))])
	}
	b.WriteByte('\n')
	return b.String()
}

// parseText finds the blob in a kit's text form: the header word and the
// version, then base32 in groups separated by spaces, tabs and line
// breaks, in either case (typed back from paper, or scanned from the QR
// code, which holds the same text on one line). Comment lines must be
// the ones textForm writes.
func parseText(text []byte) (blob []byte, canonical bool, err error) {
	if len(text) > maxText {
		return nil, false, fmt.Errorf("%w (it is %d KB; a kit is a few KB)", ErrNotKit, len(text)>>10)
	}
	var fields []string
	for line := range strings.Lines(string(text)) {
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), "#") {
			if !slices.Contains(comment, strings.Trim(line, " \t")) {
				return nil, false, fmt.Errorf("%w (a comment line was changed)", ErrDamaged)
			}
			continue
		}
		fields = append(fields, strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })...)
	}
	if len(fields) == 0 || !strings.EqualFold(fields[0], HeaderWord) {
		return nil, false, ErrNotKit
	}
	if len(fields) < 2 {
		return nil, false, ErrTruncated
	}
	v, err := strconv.Atoi(fields[1])
	if err != nil {
		return nil, false, fmt.Errorf("%w (the version after %s is %q)", ErrNotKit, HeaderWord, fields[1])
	}
	if v != FormatVersion {
		return nil, false, versionError(v)
	}
	body := strings.ToUpper(strings.Join(fields[2:], ""))
	if len(body) == 0 {
		return nil, false, ErrTruncated
	}
	blob, err = b32.DecodeString(body)
	if err != nil {
		var ce base32.CorruptInputError
		if errors.As(err, &ce) && int(ce) >= len(body)-1 && strings.Trim(body, b32Alphabet) == "" {
			// A last group cut mid-byte: the end is missing.
			return nil, false, ErrTruncated
		}
		return nil, false, fmt.Errorf("%w (character %d of the encoded text is not one of A–Z, 2–7)", ErrDamaged, int(ce)+1)
	}
	// Unused low bits set in the last character, or a last character
	// that holds no whole byte: not the one spelling of this blob (Open
	// says whether the end is missing before it says this).
	return blob, b32.EncodeToString(blob) == body, nil
}

const b32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func versionError(v int) error {
	if v > FormatVersion {
		return fmt.Errorf("%w (its format is %d; this version reads format %d): update LAFS Sync and try again", ErrVersion, v, FormatVersion)
	}
	return fmt.Errorf("%w (format %d is not one LAFS Sync ever wrote)", ErrNotKit, v)
}

// Open decrypts a kit (its text form, from the file or the QR code) with
// passphrase. Every failure is one of the Err… errors, wrapped: a damaged
// kit never opens as a wrong one.
func Open(text []byte, passphrase string) (*Kit, error) {
	blob, canonical, err := parseText(text)
	if err != nil {
		return nil, err
	}
	if _, err := parseBlob(blob); err != nil {
		return nil, err
	}
	if !canonical {
		return nil, fmt.Errorf("%w (its last character is not one a kit ends with)", ErrDamaged)
	}
	return openBlob(blob, passphrase)
}

// header is the parsed fixed part of a blob.
type header struct {
	p      Params
	salt   []byte
	nonce  []byte
	check  []byte
	cipher int
}

// parseBlob checks everything that can be checked without the
// passphrase.
func parseBlob(blob []byte) (header, error) {
	var h header
	if len(blob) < 5 {
		if !bytes.HasPrefix([]byte(magic), blob) {
			return h, ErrNotKit
		}
		return h, ErrTruncated
	}
	if string(blob[:4]) != magic {
		return h, fmt.Errorf("%w (its encoded part does not start as a kit's does)", ErrDamaged)
	}
	if v := int(blob[4]); v != FormatVersion {
		return h, versionError(v)
	}
	if len(blob) < headerLen {
		return h, ErrTruncated
	}
	if blob[5] != kdfArgon2 {
		return h, fmt.Errorf("%w (unknown key derivation %d)", ErrDamaged, blob[5])
	}
	h.cipher = int(binary.BigEndian.Uint32(blob[63:]))
	if h.cipher < chacha20poly1305.Overhead || h.cipher > maxCipher {
		return h, fmt.Errorf("%w (its length field says %d bytes)", ErrDamaged, h.cipher)
	}
	want := headerLen + h.cipher + crcLen
	switch {
	case len(blob) < want:
		return h, fmt.Errorf("%w (%d of its %d bytes are there)", ErrTruncated, len(blob), want)
	case len(blob) > want:
		return h, fmt.Errorf("%w (%d bytes more than a kit of this length has)", ErrDamaged, len(blob)-want)
	}
	if crc32.ChecksumIEEE(blob[:want-crcLen]) != binary.BigEndian.Uint32(blob[want-crcLen:]) {
		return h, fmt.Errorf("%w (its checksum does not match: a changed or mistyped character?)", ErrDamaged)
	}
	h.p = Params{Time: binary.BigEndian.Uint32(blob[6:]), Memory: binary.BigEndian.Uint32(blob[10:]), Threads: blob[14]}
	if err := h.p.check(); err != nil {
		return h, err
	}
	h.salt = blob[15 : 15+saltLen]
	h.nonce = blob[31 : 31+chacha20poly1305.NonceSizeX]
	h.check = blob[55 : 55+checkLen]
	return h, nil
}

func openBlob(blob []byte, passphrase string) (*Kit, error) {
	h, err := parseBlob(blob)
	if err != nil {
		return nil, err
	}
	key, check := derive(passphrase, h.salt, h.p)
	if subtle.ConstantTimeCompare(check, h.check) != 1 {
		return nil, ErrWrongPassphrase
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, h.nonce, blob[headerLen:headerLen+h.cipher], blob[:headerLen])
	if err != nil {
		return nil, fmt.Errorf("%w (the passphrase is right, but the encrypted part does not check: it was altered)", ErrDamaged)
	}
	js, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(plain)), maxPlain+1))
	if err != nil || len(js) > maxPlain {
		return nil, fmt.Errorf("%w: its contents do not unpack", ErrContents)
	}
	var k Kit
	if err := json.Unmarshal(js, &k); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrContents, err)
	}
	if err := k.validate(); err != nil {
		return nil, err
	}
	if k.Aliases == nil {
		k.Aliases = map[string]string{}
	}
	return &k, nil
}
