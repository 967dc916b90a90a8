package chk

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"

	"github.com/lafssync/lafssync/grid/taghash"
)

// UEB is the URI extension block: the file-wide facts every share carries
// and the cap commits to through its hash.
type UEB struct {
	CodecName         string
	CodecParams       string // "<segsize>-<k>-<n>"
	TailCodecParams   string // "<padded tail>-<k>-<n>"
	CrypttextHash     [32]byte
	CrypttextRootHash [32]byte
	ShareRootHash     [32]byte
	NeededShares      int
	TotalShares       int
	NumSegments       int
	SegmentSize       int64
	Size              int64
	// Extra holds keys this version does not know, kept for forward compatibility.
	Extra map[string][]byte
}

var uebInts = map[string]bool{"size": true, "segment_size": true, "num_segments": true, "needed_shares": true, "total_shares": true}

// Pack serialises the UEB: for each key in sorted order, key ":" netstring(value).
func (u *UEB) Pack() []byte {
	fields := map[string][]byte{
		"codec_name":          []byte(u.CodecName),
		"codec_params":        []byte(u.CodecParams),
		"tail_codec_params":   []byte(u.TailCodecParams),
		"crypttext_hash":      u.CrypttextHash[:],
		"crypttext_root_hash": u.CrypttextRootHash[:],
		"share_root_hash":     u.ShareRootHash[:],
		"needed_shares":       []byte(strconv.Itoa(u.NeededShares)),
		"total_shares":        []byte(strconv.Itoa(u.TotalShares)),
		"num_segments":        []byte(strconv.Itoa(u.NumSegments)),
		"segment_size":        []byte(strconv.FormatInt(u.SegmentSize, 10)),
		"size":                []byte(strconv.FormatInt(u.Size, 10)),
	}
	for k, v := range u.Extra {
		fields[k] = v
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(':')
		b.Write(taghash.Netstring(fields[k]))
	}
	return b.Bytes()
}

// Hash is the UEB hash that goes into the cap.
func (u *UEB) Hash() [32]byte { return taghash.UEBHash(u.Pack()) }

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParseUEB parses a packed UEB strictly: well-formed entries, no duplicate
// keys, integers where Tahoe has integers, 32-byte hashes.
func ParseUEB(b []byte) (*UEB, error) {
	u := &UEB{Extra: map[string][]byte{}}
	seen := map[string]bool{}
	for len(b) > 0 {
		i := bytes.IndexByte(b, ':')
		if i < 0 {
			return nil, fmt.Errorf("UEB: entry without ':' after key")
		}
		key := string(b[:i])
		if !validKey(key) {
			return nil, fmt.Errorf("UEB: bad key %q", key)
		}
		b = b[i+1:]
		j := bytes.IndexByte(b, ':')
		if j < 1 || j > 12 {
			return nil, fmt.Errorf("UEB: key %q: bad length field", key)
		}
		n, err := strconv.Atoi(string(b[:j]))
		if err != nil || n < 0 || (j > 1 && b[0] == '0') {
			return nil, fmt.Errorf("UEB: key %q: bad length %q", key, b[:j])
		}
		b = b[j+1:]
		if len(b) < n+1 || b[n] != ',' {
			return nil, fmt.Errorf("UEB: key %q: value of %d bytes is truncated or not followed by ','", key, n)
		}
		val := b[:n]
		b = b[n+1:]
		if seen[key] {
			return nil, fmt.Errorf("UEB: duplicate key %q", key)
		}
		seen[key] = true
		if err := u.set(key, val); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"codec_name", "codec_params", "tail_codec_params", "crypttext_root_hash", "share_root_hash", "needed_shares", "total_shares", "num_segments", "segment_size", "size"} {
		if !seen[k] {
			return nil, fmt.Errorf("UEB: missing key %q", k)
		}
	}
	return u, nil
}

func (u *UEB) set(key string, val []byte) error {
	if uebInts[key] {
		if len(val) == 0 || len(val) > 18 || (len(val) > 1 && val[0] == '0') {
			return fmt.Errorf("UEB: %s: bad integer %q", key, val)
		}
		v, err := strconv.ParseInt(string(val), 10, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("UEB: %s: bad integer %q", key, val)
		}
		switch key {
		case "size":
			u.Size = v
		case "segment_size":
			u.SegmentSize = v
		case "num_segments":
			u.NumSegments = int(v)
		case "needed_shares":
			u.NeededShares = int(v)
		case "total_shares":
			u.TotalShares = int(v)
		}
		return nil
	}
	hash := func(dst *[32]byte) error {
		if len(val) != 32 {
			return fmt.Errorf("UEB: %s: %d bytes, want 32", key, len(val))
		}
		copy(dst[:], val)
		return nil
	}
	switch key {
	case "codec_name":
		u.CodecName = string(val)
	case "codec_params":
		u.CodecParams = string(val)
	case "tail_codec_params":
		u.TailCodecParams = string(val)
	case "crypttext_hash":
		return hash(&u.CrypttextHash)
	case "crypttext_root_hash":
		return hash(&u.CrypttextRootHash)
	case "share_root_hash":
		return hash(&u.ShareRootHash)
	default:
		u.Extra[key] = bytes.Clone(val)
	}
	return nil
}
