package remote

import (
	"io/fs"
	"math"
	"time"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/syncer/vv"
)

// metaVersion is the "v" of the "lafssync" metadata key this code writes
// and understands.
const metaVersion = 1

// maxExactInt is the largest integer a JSON number (a float64) holds
// exactly; sizes and counters above it are not trusted.
const maxExactInt = 1 << 53

// EncodeMeta is the entry metadata of a file (docs/sync-format.md, "Entry
// metadata of a file"), without Tahoe's "tahoe" key, which the directory
// code keeps.
func EncodeMeta(m FileMeta) map[string]any {
	ver := map[string]any{}
	for d, n := range m.Ver {
		if n > 0 {
			ver[d] = int64(n)
		}
	}
	return map[string]any{
		"size":  m.Size,
		"mtime": encodeTime(m.Mtime),
		"mode":  int64(writtenMode(m.Mode)),
		"lafssync": map[string]any{
			"v":    int64(metaVersion),
			"ver":  ver,
			"by":   m.By,
			"hash": base32.Encode(m.Hash[:]),
		},
	}
}

// DecodeMeta reads a file entry's metadata, whatever a grid member put
// there. foreign is true when the "lafssync" key is missing or not valid
// (a file linked by stock Tahoe, or by a newer or broken writer): then
// Ver and Hash are zero and the rest is what could be read (size, mtime,
// mode; zero when missing or not a plausible value). It never panics.
func DecodeMeta(md map[string]any) (m FileMeta, foreign bool) {
	m.Mode = 0o644
	if n, ok := exactUint(md["size"]); ok {
		m.Size = int64(n)
	}
	if t, ok := decodeTime(md["mtime"]); ok {
		m.Mtime = t
	}
	if n, ok := exactUint(md["mode"]); ok && n <= 0o7777 {
		m.Mode = honouredMode(fs.FileMode(n))
	}
	ls, ok := md["lafssync"].(map[string]any)
	if !ok {
		return m, true
	}
	if v, ok := exactUint(ls["v"]); !ok || v != metaVersion {
		return m, true
	}
	ver, ok := decodeVector(ls["ver"])
	if !ok || ver.IsZero() {
		return m, true
	}
	by, ok := ls["by"].(string)
	if !ok {
		return m, true
	}
	hs, ok := ls["hash"].(string)
	if !ok {
		return m, true
	}
	h, err := base32.DecodeFixed(hs, 32)
	if err != nil {
		return m, true
	}
	m.Ver, m.By = ver, by
	copy(m.Hash[:], h)
	return m, false
}

func decodeVector(x any) (vv.Vector, bool) {
	obj, ok := x.(map[string]any)
	if !ok {
		return nil, false
	}
	out := vv.Vector{}
	for d, n := range obj {
		c, ok := exactUint(n)
		if !ok || d == "" {
			return nil, false
		}
		if c > 0 {
			out[d] = c
		}
	}
	return out, true
}

func encodeVector(v vv.Vector) map[string]any {
	out := map[string]any{}
	for d, n := range v {
		if n > 0 {
			out[d] = int64(n)
		}
	}
	return out
}

// exactUint reads a non-negative integer JSON number that a float64
// holds exactly.
func exactUint(x any) (uint64, bool) {
	switch n := x.(type) {
	case float64:
		if n < 0 || n > maxExactInt || n != math.Trunc(n) {
			return 0, false
		}
		return uint64(n), true
	case int64:
		if n < 0 {
			return 0, false
		}
		return uint64(n), true
	case int:
		if n < 0 {
			return 0, false
		}
		return uint64(n), true
	}
	return 0, false
}

// encodeTime is Tahoe's float seconds, to the microsecond (what a float64
// of today's times holds exactly enough to read back the same).
func encodeTime(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMicro()) / 1e6
}

// decodeTime reads float seconds; times before 1970 or after 9999 are
// not plausible file times and are refused.
func decodeTime(x any) (time.Time, bool) {
	f, ok := x.(float64)
	if !ok || math.IsNaN(f) || f <= 0 || f > 253402300799 {
		return time.Time{}, false
	}
	return time.UnixMicro(int64(math.Round(f * 1e6))), true
}

// writtenMode is the mode stored: 0o755 when the owner may execute,
// else 0o644 (no setuid, no group or world write).
func writtenMode(m fs.FileMode) fs.FileMode {
	if m&0o100 != 0 {
		return 0o755
	}
	return 0o644
}

// honouredMode is the mode a download gives: the same rule.
func honouredMode(m fs.FileMode) fs.FileMode { return writtenMode(m) }
