package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runIn(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := mainIO(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// Issue 13 items 6, 11, 12 and 14 (put --mutable): put never replaces a
// directory, refuses non-regular files, notices a file changed under it,
// reads standard input, and makes mutable files.
func TestPutOnLocalGrid(t *testing.T) {
	dir := t.TempDir()
	startLocalGrid(t, dir)
	must := mustIn(t, dir)
	fails := failsIn(t, dir)
	must("create-alias", "home")
	keep := filepath.Join(dir, "keep.txt")
	os.WriteFile(keep, bytes.Repeat([]byte("kept\n"), 2000), 0o600)
	must("put", keep, "home:photos/2025/keep.txt")
	src := filepath.Join(dir, "notes.txt")
	notes := bytes.Repeat([]byte("notes\n"), 1000)
	os.WriteFile(src, notes, 0o600)

	// Onto an existing directory, with and without the slash: into it.
	for _, to := range []string{"home:photos", "home:photos/", "home:photos/2025/"} {
		must("put", src, to)
	}
	if out := must("ls", "home:photos"); out != "dir  2025/\nfile notes.txt\n" {
		t.Errorf("ls home:photos after put into it: %q", out)
	}
	if out := must("ls", "home:photos/2025"); out != "file keep.txt\nfile notes.txt\n" {
		t.Errorf("ls home:photos/2025: %q", out)
	}
	// Into the root of an alias, under the file's name.
	must("put", src, "home:")
	if out := must("get", "home:notes.txt"); out != string(notes) {
		t.Error("put FILE home: did not link home:notes.txt")
	}
	// A directory of the file's own name inside is not replaced either.
	must("mkdir", "home:box/notes.txt")
	fails("home:box/notes.txt is a directory and is not replaced", "put", src, "home:box")
	if out := must("ls", "home:box"); out != "dir  notes.txt/\n" {
		t.Errorf("home:box after a refused put: %q", out)
	}
	// An existing file is replaced.
	os.WriteFile(src, []byte("new notes, long enough to not be a literal cap at all, really"), 0o600)
	must("put", src, "home:photos/notes.txt")
	if out := must("get", "home:photos/notes.txt"); !strings.HasPrefix(out, "new notes") {
		t.Errorf("the file was not replaced: %q", out)
	}

	// Standard input: - or no FILE; into a directory it needs a name.
	code, out, errs := runIn("from stdin, a line long enough not to be a LIT cap, padding padding\n", "-d", dir, "put", "-", "home:in.txt")
	if code != 0 || !strings.HasPrefix(out, "URI:CHK:") {
		t.Fatalf("put - home:in.txt: %d %q %q", code, out, errs)
	}
	if got := must("get", "home:in.txt"); !strings.HasPrefix(got, "from stdin") {
		t.Errorf("get home:in.txt: %q", got)
	}
	if code, _, errs := runIn("x", "-d", dir, "put", "-", "home:photos/"); code == 0 || !strings.Contains(errs, "standard input has no name") {
		t.Errorf("put - into a directory: %d %q", code, errs)
	}
	if code, out, _ := runIn("short", "-d", dir, "put"); code != 0 || !strings.HasPrefix(out, "URI:LIT:") {
		t.Errorf("put with no FILE: %d %q", code, out)
	}

	// Not regular files: refused, naming what they are.
	fails("/dev/zero is a character device, not a regular file", "put", "/dev/zero", "home:zero")
	fails("is a directory: put uploads one file", "put", dir, "home:d")
	if out := must("ls", "home:"); strings.Contains(out, "zero") {
		t.Errorf("a refused put linked something: %q", out)
	}

	// Changed between the hashing and the sending pass: started again
	// once, and the cap is the new contents'.
	big := filepath.Join(dir, "big.bin")
	os.WriteFile(big, bytes.Repeat([]byte("a"), 300_000), 0o600)
	changes := 0
	onRewind = func(path string) {
		if path == big && changes < 1 {
			changes++
			os.WriteFile(big, bytes.Repeat([]byte("b"), 300_001), 0o600)
		}
	}
	t.Cleanup(func() { onRewind = nil })
	code, out, errs = run("-d", dir, "put", big, "home:big.bin")
	if code != 0 || !strings.Contains(errs, "changed while it was uploaded") {
		t.Fatalf("put of a file changed once: %d %q %q", code, out, errs)
	}
	if got := must("get", "home:big.bin"); got != strings.Repeat("b", 300_001) {
		t.Errorf("after a change, home:big.bin holds %d bytes starting %.3q", len(got), got)
	}
	// Changed every time: a clear failure, nothing linked.
	onRewind = func(path string) {
		if path == big {
			changes++
			os.WriteFile(big, bytes.Repeat([]byte("c"), 300_000+changes), 0o600)
		}
	}
	fails(big+" changed while it was being uploaded", "put", big, "home:never.bin")
	if out := must("ls", "home:"); strings.Contains(out, "never.bin") {
		t.Errorf("a changing file was linked: %q", out)
	}
	onRewind = nil

	// --mutable: a write cap, readable back, replaceable in place.
	for _, format := range []string{"", "--format=MDMF"} {
		args := []string{"put", "--mutable", src, "home:m" + format + ".txt"}
		if format != "" {
			args = append(args[:1], append([]string{format}, args[1:]...)...)
		}
		wc := strings.TrimSpace(must(args...))
		want := "URI:SSK:"
		if format != "" {
			want = "URI:MDMF:"
		}
		if !strings.HasPrefix(wc, want) {
			t.Fatalf("put %v printed %q, want %s...", args, wc, want)
		}
		os.WriteFile(src, []byte("version two "+format), 0o600)
		if out := strings.TrimSpace(must("put", src, wc)); out != wc {
			t.Errorf("put FILE WRITECAP printed %q", out)
		}
		if got := must("get", "home:m"+format+".txt"); got != "version two "+format {
			t.Errorf("mutable file reads %q after replacing", got)
		}
	}
	fails("want CHK, SDMF or MDMF", "put", "--format=XDMF", src)
}
