package dirnode

import (
	"errors"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/grid/immutable"
)

const someFile = "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56"

var badNames = map[string]string{
	"empty":          "",
	"dot":            ".",
	"dotdot":         "..",
	"slash":          "a/b",
	"leading slash":  "/etc",
	"NUL":            "a\x00b",
	"newline":        "line\nbreak",
	"tab":            "tab\there",
	"escape":         "\x1b[31mred",
	"DEL":            "del\x7f",
	"C1 control":     "c1\u0085",
	"not UTF-8":      "caf\xe9",
	"256 bytes":      strings.Repeat("a", 256),
	"long after NFC": strings.Repeat("é", 127) + "ab", // 256 bytes
}

var goodNames = []string{
	"a.txt", "...", ".hidden", "a b", "résumé.doc", "CON", "nul.txt", `back\slash`, "colon:star*?",
	"trailing. ", strings.Repeat("a", 255), strings.Repeat("é", 127) + "a", "日本語", "emoji 🙂",
}

func TestCheckName(t *testing.T) {
	for what, n := range badNames {
		err := CheckName(n)
		var ne *NameError
		if !errors.Is(err, ErrBadName) || !errors.As(err, &ne) || ne.Name != n {
			t.Errorf("%s %q: %v, want a NameError", what, n, err)
		}
	}
	for _, n := range goodNames {
		if err := CheckName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
}

// Every way of adding or renaming an entry refuses bad names.
func TestWritesRefuseBadNames(t *testing.T) {
	d := fakeDir(t, &fakeFile{}, 1)
	if err := d.Set(ctx, "ok", someFile, "", nil, false); err != nil {
		t.Fatal(err)
	}
	for what, n := range badNames {
		if err := d.Set(ctx, n, someFile, "", nil, true); !errors.Is(err, ErrBadName) {
			t.Errorf("Set %s: %v", what, err)
		}
		if err := d.Rename(ctx, "ok", n, true); !errors.Is(err, ErrBadName) {
			t.Errorf("Rename to %s: %v", what, err)
		}
		err := d.Modify(ctx, func(es Entries) error {
			es[n] = &Entry{ReadCap: someFile, Metadata: map[string]any{}}
			return nil
		})
		if !errors.Is(err, ErrBadName) {
			t.Errorf("Modify adding %s: %v", what, err)
		}
	}
	names, _, err := d.List(ctx)
	if err != nil || len(names) != 1 || names[0] != "ok" {
		t.Errorf("after refused writes: %q %v", names, err)
	}
	for _, n := range goodNames {
		if err := d.Set(ctx, n, someFile, "", nil, false); err != nil {
			t.Errorf("Set %q: %v", n, err)
		}
	}

	c := newClient(t)
	root, err := c.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Mkdir(ctx, root, "..", nil); !errors.Is(err, ErrBadName) {
		t.Errorf("Mkdir ..: %v", err)
	}
	if _, err := c.MkdirAll(ctx, root, "a/../b"); !errors.Is(err, ErrBadName) {
		t.Errorf("MkdirAll a/../b: %v", err)
	}
	ic := &immutable.Client{Servers: c.Servers, Params: immutable.DefaultParams()}
	if _, err := CreateImmutable(ctx, ic, Entries{"x\x00": {ReadCap: someFile, Metadata: map[string]any{}}}); !errors.Is(err, ErrBadName) {
		t.Errorf("CreateImmutable with NUL: %v", err)
	}
}

// Names another Tahoe client stored stay listable, readable, removable and
// renamable to a valid name; other edits of the directory keep them.
func TestBadNamesFromOthersStayUsable(t *testing.T) {
	f := &fakeFile{}
	d := fakeDir(t, f, 2)
	theirs := Entries{}
	for _, n := range []string{"..", ".", "a/b", "nul\x00", "esc\x1b"} {
		theirs[n] = &Entry{ReadCap: someFile, Metadata: map[string]any{}}
	}
	data, err := Pack(theirs, d.writeKey, false)
	if err != nil {
		t.Fatal(err)
	}
	f.data = data
	names, _, err := d.List(ctx)
	if err != nil || len(names) != len(theirs) {
		t.Fatalf("List: %q %v", names, err)
	}
	if e, err := d.Get(ctx, "a/b"); err != nil || e.ReadCap != someFile {
		t.Errorf("Get a/b: %v", err)
	}
	if err := d.Set(ctx, "new", someFile, "", nil, false); err != nil {
		t.Errorf("Set beside others' names: %v", err)
	}
	if err := d.Rename(ctx, "..", "dotdot", false); err != nil {
		t.Errorf("Rename .. to a valid name: %v", err)
	}
	if err := d.Delete(ctx, "nul\x00"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	names, _, err = d.List(ctx)
	want := []string{".", "a/b", "dotdot", "esc\x1b", "new"}
	if err != nil || strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("after edits: %q %v, want %q", names, err, want)
	}
}
