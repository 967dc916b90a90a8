package config

import (
	"errors"
	"maps"
	"os"
	"strings"
	"testing"
)

func TestFileAliasesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if a, err := LoadAliases(dir); err != nil || len(a) != 0 {
		t.Fatalf("no file: %v, %v", a, err)
	}
	want := map[string]string{"tahoe": "URI:DIR2:aaaa:bbbb", "work": "URI:DIR2:cccc:dddd"}
	if err := SaveAliases(dir, want); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(AliasesPath(dir))
	if err != nil || string(b) != "tahoe: URI:DIR2:aaaa:bbbb\nwork: URI:DIR2:cccc:dddd\n" {
		t.Fatalf("file %q, %v", b, err)
	}
	if fi, _ := os.Stat(AliasesPath(dir)); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	if got, err := LoadAliases(dir); err != nil || !maps.Equal(got, want) {
		t.Fatalf("read back %v, %v", got, err)
	}
}

func TestParseAliasesNeverQuotesACap(t *testing.T) {
	_, err := ParseAliases([]byte("# comment\n\nok: URI:DIR2:x:y\nURI-DIR2-secret-without-colon\n"), "the file")
	if err == nil || !strings.Contains(err.Error(), "the file line 4") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err %v", err)
	}
}

// With the marker of a keyring copy and no file, the file store neither
// reads "no aliases" nor writes a file that would hide the keyring's.
func TestFileAliasesRefuseNextToKeyringMarker(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/private", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(AliasesMarkerPath(dir), []byte("in the keyring\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAliases(dir); !errors.Is(err, ErrAliasesElsewhere) || !strings.Contains(err.Error(), "export-tahoe") {
		t.Fatalf("Load: %v", err)
	}
	if err := SaveAliases(dir, map[string]string{"new": "URI:DIR2:n:n"}); !errors.Is(err, ErrAliasesElsewhere) {
		t.Fatalf("Save: %v", err)
	}
	if _, err := os.Stat(AliasesPath(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Save wrote the file")
	}
	// An exported file (lafs secrets export-tahoe) is read and written.
	if err := os.WriteFile(AliasesPath(dir), []byte("old: URI:DIR2:o:o\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if a, err := LoadAliases(dir); err != nil || a["old"] != "URI:DIR2:o:o" {
		t.Fatalf("exported file: %v, %v", a, err)
	}
	if err := SaveAliases(dir, map[string]string{"old": "URI:DIR2:o:o", "new": "URI:DIR2:n:n"}); err != nil {
		t.Fatal(err)
	}
}

type memAliases map[string]map[string]string

func (m memAliases) LoadAliases(dir string) (map[string]string, error) {
	return maps.Clone(m[dir]), nil
}
func (m memAliases) SaveAliases(dir string, a map[string]string) error {
	m[dir] = maps.Clone(a)
	return nil
}

func TestSetAliasStore(t *testing.T) {
	dir := t.TempDir()
	mem := memAliases{}
	if old := SetAliasStore(mem); old != (FileAliases{}) {
		t.Fatalf("default store %T", old)
	}
	t.Cleanup(func() { SetAliasStore(nil) })
	if err := SaveAliases(dir, map[string]string{"a": "URI:DIR2:a:a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(AliasesPath(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the installed store was bypassed: the file exists")
	}
	if got, _ := LoadAliases(dir); got["a"] != "URI:DIR2:a:a" {
		t.Fatalf("Load through the store: %v", got)
	}
	if old := SetAliasStore(nil); old == nil {
		t.Fatal("SetAliasStore(nil) returned nil")
	}
	if got, _ := LoadAliases(dir); len(got) != 0 {
		t.Fatalf("after restoring the file store: %v", got)
	}
}

// FuzzParseAliases: what parses formats back to the same aliases, and a
// parse error never quotes the input.
func FuzzParseAliases(f *testing.F) {
	f.Add([]byte("home: URI:DIR2:aaaa:bbbb\n# comment\n\nwork:URI:DIR2-RO:c:d\r\n"))
	f.Add([]byte("no-colon-here\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAliases(b, "f")
		if err != nil {
			if len(b) > 8 && strings.Contains(err.Error(), string(b)) {
				t.Fatalf("error quotes the input: %v", err)
			}
			return
		}
		again, err := ParseAliases(FormatAliases(a), "f")
		if err != nil || !maps.Equal(again, a) {
			t.Fatalf("round trip: %q -> %q, %v", a, again, err)
		}
	})
}
