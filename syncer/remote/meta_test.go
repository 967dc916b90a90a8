package remote

import (
	"encoding/json"
	"io/fs"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/syncer/vv"
)

func TestMetaRoundTrip(t *testing.T) {
	m := FileMeta{
		Size:  1234,
		Mtime: time.Date(2025, 12, 2, 10, 0, 0, 250_123_000, time.UTC),
		Mode:  0o755,
		Ver:   vv.Vector{"DEVICE_A": 7, "DEVICE_B": 3},
		By:    "DEVICE_B",
	}
	m.Hash[0], m.Hash[31] = 1, 0xff
	// Through JSON, as a directory stores it and Tahoe reads it.
	b, err := json.Marshal(EncodeMeta(m))
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	got, foreign := DecodeMeta(md)
	if foreign {
		t.Fatalf("own metadata read as foreign: %s", b)
	}
	if got.Size != m.Size || !got.Mtime.Equal(m.Mtime) || got.Mode != m.Mode || got.By != m.By || got.Hash != m.Hash || got.Ver.Compare(m.Ver) != vv.Equal {
		t.Fatalf("round trip: got %+v, want %+v", got, m)
	}
	if md["size"].(float64) != 1234 || md["mode"].(float64) != 0o755 {
		t.Errorf("size/mode as Tahoe users see them: %s", b)
	}
	if mt := md["mtime"].(float64); mt < 1764669600 || mt > 1764669601 {
		t.Errorf("mtime is not float seconds: %v", mt)
	}
}

func TestMetaModeRule(t *testing.T) {
	for in, want := range map[fs.FileMode]fs.FileMode{0o4755: 0o755, 0o777: 0o755, 0o600: 0o644, 0o666: 0o644, 0o100: 0o755, 0: 0o644} {
		md := EncodeMeta(FileMeta{Mode: in, Ver: vv.Vector{"A": 1}})
		if got := fs.FileMode(md["mode"].(int64)); got != want {
			t.Errorf("mode %o written as %o, want %o", in, got, want)
		}
	}
	m, _ := DecodeMeta(map[string]any{"mode": float64(0o4777)})
	if m.Mode != 0o755 {
		t.Errorf("mode 4777 honoured as %o, want 755", m.Mode)
	}
}

func TestDecodeMetaForeign(t *testing.T) {
	good := func() map[string]any {
		var md map[string]any
		b, _ := json.Marshal(EncodeMeta(FileMeta{Size: 5, Mtime: time.Unix(1764650000, 0), Ver: vv.Vector{"A": 1}, By: "A"}))
		_ = json.Unmarshal(b, &md)
		return md
	}
	for _, tc := range []struct {
		name string
		mod  func(md map[string]any)
	}{
		{"stock tahoe (no lafssync)", func(md map[string]any) { delete(md, "lafssync") }},
		{"lafssync not an object", func(md map[string]any) { md["lafssync"] = "x" }},
		{"newer v", func(md map[string]any) { md["lafssync"].(map[string]any)["v"] = float64(2) }},
		{"ver empty", func(md map[string]any) { md["lafssync"].(map[string]any)["ver"] = map[string]any{} }},
		{"ver negative", func(md map[string]any) { md["lafssync"].(map[string]any)["ver"] = map[string]any{"A": -1.0} }},
		{"ver fraction", func(md map[string]any) { md["lafssync"].(map[string]any)["ver"] = map[string]any{"A": 1.5} }},
		{"ver huge", func(md map[string]any) { md["lafssync"].(map[string]any)["ver"] = map[string]any{"A": 1e300} }},
		{"hash short", func(md map[string]any) { md["lafssync"].(map[string]any)["hash"] = "aaaa" }},
		{"hash number", func(md map[string]any) { md["lafssync"].(map[string]any)["hash"] = 1.0 }},
		{"by missing", func(md map[string]any) { delete(md["lafssync"].(map[string]any), "by") }},
	} {
		md := good()
		tc.mod(md)
		m, foreign := DecodeMeta(md)
		if !foreign {
			t.Errorf("%s: not foreign", tc.name)
		}
		if m.Size != 5 || m.Mtime.Unix() != 1764650000 {
			t.Errorf("%s: lost what could be read: %+v", tc.name, m)
		}
		if m.Ver != nil || m.Hash != ([32]byte{}) {
			t.Errorf("%s: foreign entry has a version or hash: %+v", tc.name, m)
		}
	}
	m, foreign := DecodeMeta(map[string]any{"size": -3.0, "mtime": "yesterday", "mode": 1e20})
	if !foreign || m.Size != 0 || !m.Mtime.IsZero() || m.Mode != 0o644 {
		t.Errorf("implausible values: %+v foreign=%v", m, foreign)
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add([]byte(`{"size": 1234, "mtime": 1764650000.25, "mode": 420, "lafssync": {"v": 1, "ver": {"A": 7, "B": 3}, "by": "B", "hash": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}`))
	f.Add([]byte(`{"tahoe": {"linkcrtime": 1, "linkmotime": 2}}`))
	f.Add([]byte(`{"size": "x", "lafssync": [1, 2], "mtime": -1e308}`))
	f.Add([]byte(`{"lafssync": {"v": 1, "ver": {"": 1}, "by": 3, "hash": null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var md map[string]any
		if json.Unmarshal(b, &md) != nil {
			return
		}
		m, foreign := DecodeMeta(md)
		if m.Size < 0 {
			t.Fatalf("negative size %d", m.Size)
		}
		if foreign && (m.Ver != nil || m.Hash != [32]byte{}) {
			t.Fatalf("foreign with a version: %+v", m)
		}
		if !foreign {
			// What we accept we write back the same.
			m2, f2 := DecodeMeta(roundTrip(t, EncodeMeta(m)))
			if f2 || m2.Ver.Compare(m.Ver) != vv.Equal || m2.Hash != m.Hash || m2.Size != m.Size || !m2.Mtime.Equal(m.Mtime) {
				t.Fatalf("re-encoding changed %+v into %+v", m, m2)
			}
		}
	})
}

func roundTrip(t *testing.T, md map[string]any) map[string]any {
	b, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzEntry: whatever a grid member links (cap text, metadata), listing it
// and reading it as history never panics; a Bad entry is never a
// directory.
func FuzzEntry(f *testing.F) {
	f.Add("URI:LIT:aa", "", []byte(`{"size": 1}`))
	f.Add("URI:NOPE:x", "", []byte(`{"lafssync": {"v": 1, "versions": [{"cap": "URI:LIT:aa", "ver": {"A": 1}}, 3, {"cap": 7}], "deleted": {"time": "x", "ver": []}}}`))
	f.Add("URI:DIR2-RO:aaaa:bbbb", "URI:DIR2:x:y", []byte(`{}`))
	f.Fuzz(func(t *testing.T, rc, wc string, mdJSON []byte) {
		var md map[string]any
		if json.Unmarshal(mdJSON, &md) != nil || md == nil {
			return
		}
		for _, ro := range []bool{false, true} {
			fo := &Folder{readOnly: ro}
			e := fo.toEntry("n", &dirnode.Entry{ReadCap: rc, WriteCap: wc, Metadata: md})
			if e.Bad != "" && (e.Dir || !e.Foreign) {
				t.Fatalf("bad entry %+v", e)
			}
		}
		vs, _ := decodeHistory(&dirnode.Entry{ReadCap: rc, Metadata: md})
		for _, v := range vs {
			if v.Cap == "" {
				t.Fatal("a history version without a cap")
			}
		}
	})
}
