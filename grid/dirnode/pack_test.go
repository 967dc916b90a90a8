package dirnode

import (
	"bytes"
	"encoding/base32"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/grid/taghash"
)

// A deep-immutable directory Tahoe wrote: tiny_litdir_uri of
// test_dirnode.py, base32-decoded.
const tahoeTinyLitDir = "41:5:short,21:URI:LIT:krugkidfnzsc4,0:,2:{},,"

func TestPackMatchesTahoeBytes(t *testing.T) {
	es := Entries{"short": {ReadCap: "URI:LIT:krugkidfnzsc4", Metadata: map[string]any{}}}
	got, err := Pack(es, nil, true)
	if err != nil || string(got) != tahoeTinyLitDir {
		t.Fatalf("packed %q, Tahoe wrote %q (%v)", got, tahoeTinyLitDir, err)
	}
	back, err := Unpack([]byte(tahoeTinyLitDir), nil, true)
	if err != nil || back["short"].ReadCap != "URI:LIT:krugkidfnzsc4" || len(back) != 1 {
		t.Fatalf("unpack: %+v %v", back, err)
	}
}

// A mutable directory Tahoe wrote (test_dirnode.py Packing.known_tree),
// read as a read-only holder would.
func TestUnpackTahoeKnownTree(t *testing.T) {
	raw, err := os.ReadFile("testdata/tahoe-known-tree.b32")
	if err != nil {
		t.Fatal(err)
	}
	data, err := base32.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	es, err := Unpack(data, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		cap   string
		ctime float64
	}{
		"file1": {"URI:CHK:olxtimympo7f27jvhtgqlnbtn4:emzdnhk2um4seixozlkw3qx2nfijvdkx3ky7i7izl47yedl6e64a:3:10:10", 1246663897.4275661},
		"file2": {"URI:CHK:apegrpehshwugkbh3jlt5ei6hq:5oougnemcl5xgx4ijgiumtdojlipibctjkbwvyygdymdphib2fvq:3:10:4", 1246663897.430218},
		"file3": {"URI:CHK:cmtcxq7hwxvfxan34yiev6ivhy:qvcekmjtoetdcw4kmi7b3rtblvgx7544crnwaqtiewemdliqsokq:3:10:5", 1246663897.4336269},
	}
	if len(es) != 3 {
		t.Fatalf("%d entries", len(es))
	}
	for name, w := range want {
		e := es[name]
		if e == nil || e.ReadCap != w.cap || e.WriteCap != "" {
			t.Fatalf("%s: %+v", name, e)
		}
		tahoe, _ := e.Metadata["tahoe"].(map[string]any)
		if e.Metadata["ctime"] != w.ctime || tahoe["linkcrtime"] != w.ctime {
			t.Errorf("%s metadata %v", name, e.Metadata)
		}
	}
	// The write-cap column is salt ‖ encrypted cap ‖ MAC. (This 2009 tree's
	// salts are random; current Tahoe derives them from the cap, which
	// TestWriteCapColumn checks.)
	for rest := data; len(rest) > 0; {
		child, r, _ := readNetstring(rest)
		rest = r
		name, child, _ := readNetstring(child)
		_, child, _ = readNetstring(child)
		rw, _, _ := readNetstring(child)
		if len(rw) != 16+len(want[string(name)].cap)+32 {
			t.Errorf("%s: write-cap column is %d bytes", name, len(rw))
		}
	}
}

func TestWriteCapColumn(t *testing.T) {
	wk := bytes.Repeat([]byte{7}, 16)
	es := Entries{
		"rw":      {ReadCap: "URI:SSK-RO:aa", WriteCap: "URI:SSK:bb", Metadata: map[string]any{"x": 1.0}},
		"ro":      {ReadCap: "URI:CHK:cc", Metadata: map[string]any{}},
		"é":       {ReadCap: "URI:LIT:", Metadata: map[string]any{}},
		"e\u0301": nil, // replaced below: same name un-normalized
	}
	delete(es, "e\u0301")
	packed, err := Pack(es, wk, false)
	if err != nil {
		t.Fatal(err)
	}
	salt := taghash.DirnodeChildSalt([]byte("URI:SSK:bb"))
	if !bytes.Contains(packed, salt[:]) {
		t.Error("write-cap column does not carry the salt derived from the write cap")
	}
	back, err := Unpack(packed, wk, false)
	if err != nil || back["rw"].WriteCap != "URI:SSK:bb" || back["ro"].WriteCap != "" || back["rw"].Metadata["x"] != 1.0 {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	// A read-only holder sees read caps only.
	ro, err := Unpack(packed, nil, false)
	if err != nil || ro["rw"].WriteCap != "" || ro["rw"].ReadCap != "URI:SSK-RO:aa" {
		t.Fatalf("read-only view: %+v %v", ro["rw"], err)
	}
	// Another directory's key fails the MAC.
	if _, err := Unpack(packed, bytes.Repeat([]byte{8}, 16), false); err == nil || !strings.Contains(err.Error(), "MAC") {
		t.Errorf("wrong write key: %v", err)
	}
	// An immutable directory may not hold write caps.
	if _, err := Pack(es, nil, true); err == nil {
		t.Error("immutable directory with a write cap packed")
	}
	if _, err := Unpack(packed, nil, true); err == nil {
		t.Error("write-cap column accepted in an immutable directory")
	}
}

func TestNamesNormalizedAndSorted(t *testing.T) {
	// "é" as e + combining acute is read as the single code point.
	var inner, data bytes.Buffer
	for _, f := range []string{"e\u0301", "", "", "{}"} {
		netstring(&inner, []byte(f))
	}
	netstring(&data, inner.Bytes())
	es, err := Unpack(data.Bytes(), nil, true)
	if err != nil || es["é"] == nil {
		t.Fatalf("%v %v", es, err)
	}
	p, _ := Pack(Entries{"b": {Metadata: map[string]any{}}, "a": {Metadata: map[string]any{}}}, nil, true)
	if !strings.HasPrefix(string(p), "15:1:a,") {
		t.Errorf("entries not sorted: %q", p)
	}
}

func TestTamperedEntriesRejected(t *testing.T) {
	wk := bytes.Repeat([]byte{1}, 16)
	good, _ := Pack(Entries{"doc": {ReadCap: "URI:CHK:r", WriteCap: "URI:CHK:w", Metadata: map[string]any{}}}, wk, false)
	cases := map[string][]byte{
		"truncated":     good[:len(good)-3],
		"bad length":    append([]byte("99"), good[2:]...),
		"missing comma": bytes.Replace(good, []byte("},,"), []byte("}.,"), 1),
		"bad JSON":      bytes.Replace(good, []byte("{}"), []byte("[]"), 1),
		"duplicate":     append(bytes.Clone(good), good...),
		"flipped rwcap": flipInWriteCap(good),
		"empty name":    []byte("17:0:,0:,0:,2:{},,"),
		"stray bytes":   []byte("19:1:a,0:,0:,2:{},xx,"),
		"invalid UTF-8": []byte("18:1:\xff,0:,0:,2:{},,"),
		"leading zero":  append([]byte("0"), good...),
	}
	for name, b := range cases {
		_, err := Unpack(b, wk, false)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func flipInWriteCap(good []byte) []byte {
	b := bytes.Clone(good)
	i := bytes.Index(b, []byte("URI:CHK:r,")) + len("URI:CHK:r,")
	// Skip the length prefix of the write-cap netstring, then flip a byte of the ciphertext.
	j := bytes.IndexByte(b[i:], ':') + i + 1
	b[j+17] ^= 1
	return b
}

func FuzzUnpack(f *testing.F) {
	f.Add([]byte(tahoeTinyLitDir), false)
	wk := bytes.Repeat([]byte{1}, 16)
	good, _ := Pack(Entries{"doc": {ReadCap: "URI:CHK:r", WriteCap: "URI:CHK:w", Metadata: map[string]any{"a": "b"}}}, wk, false)
	f.Add(good, true)
	f.Fuzz(func(t *testing.T, b []byte, withKey bool) {
		key := []byte(nil)
		if withKey {
			key = wk
		}
		es, err := Unpack(b, key, false)
		if err != nil || key == nil {
			return
		}
		for _, e := range es {
			e.packed = nil
		}
		p, err := Pack(es, key, false)
		if err != nil {
			t.Fatalf("accepted entries do not pack: %v", err)
		}
		again, err := Unpack(p, key, false)
		if err != nil || len(again) != len(es) {
			t.Fatalf("re-packed directory does not unpack: %v", err)
		}
	})
}

// Tahoe's packer (strip_prefix_for_ro) drops "ro." from the read-cap
// column always and "imm." only in deep-immutable directories.
func TestReadCapPrefixesStripped(t *testing.T) {
	wk := bytes.Repeat([]byte{5}, 16)
	cases := []struct {
		cap       string
		immutable bool
		want      string
	}{
		{"ro.x-tahoe-future:abc", false, "x-tahoe-future:abc"},
		{"ro.x-tahoe-future:abc", true, "x-tahoe-future:abc"},
		{"imm.x-tahoe-future:abc", false, "imm.x-tahoe-future:abc"},
		{"imm.x-tahoe-future:abc", true, "x-tahoe-future:abc"},
		{"URI:CHK:a", true, "URI:CHK:a"},
	}
	for _, c := range cases {
		key := wk
		if c.immutable {
			key = nil
		}
		p, err := Pack(Entries{"n": {ReadCap: c.cap, Metadata: map[string]any{}}}, key, c.immutable)
		if err != nil {
			t.Fatal(err)
		}
		want := "1:n," + strconv.Itoa(len(c.want)) + ":" + c.want + ","
		if !strings.Contains(string(p), want) {
			t.Errorf("%q (immutable %v) packed as %q, want column %q", c.cap, c.immutable, p, want)
		}
	}
}
