package recovery

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// FuzzOpen: whatever the file holds, Open returns a kit that validates or
// one of the kit errors, and never panics. The seeds are a real kit (fast
// parameters), its QR text and damaged copies; mutations that keep the
// CRC are rare, so the parser in front of the key derivation is what the
// fuzzer mostly reaches.
func FuzzOpen(f *testing.F) {
	w, r := newDirCap(f)
	k := &Kit{V: KitVersion, Grid: Grid{Introducers: map[string]string{"a": "lafs://x"}},
		Folders: []Folder{{Name: "d", Path: "/d", Mode: ModeSync, Cap: w}, {Name: "e", Path: "/e", Mode: ModeFollow, Cap: r}},
		Aliases: map[string]string{"home": w}}
	blob, err := sealBlob(k, pass, fast, rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	text := textForm(blob)
	f.Add(text)
	if q, err := QRText(text); err == nil {
		f.Add([]byte(q))
	}
	f.Add(text[:len(text)/2])
	f.Add([]byte(HeaderWord + " 1\nKRGVGUQB AEAAAAA"))
	f.Add([]byte(HeaderWord + " 2\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Open(in, pass)
		if err != nil {
			if !isKitError(err) {
				t.Fatalf("Open: %v is not one of the kit errors", err)
			}
			return
		}
		if err := got.validate(); err != nil {
			t.Fatalf("opened a kit that does not validate: %v", err)
		}
		if !bytes.Contains(in, []byte(HeaderWord[:4])) && !bytes.Contains(bytes.ToUpper(in), []byte(HeaderWord)) {
			t.Fatalf("opened something without the header word")
		}
	})
}
