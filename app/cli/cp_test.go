package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Issue 13 item 14: lafs cp [-r] as tahoe cp: local to grid, grid to
// local, grid to grid, with Tahoe's rules for targets.
func TestCpOnLocalGrid(t *testing.T) {
	dir := t.TempDir()
	startLocalGrid(t, dir)
	must := mustIn(t, dir)
	fails := failsIn(t, dir)
	must("create-alias", "home")
	must("create-alias", "work")

	// A local tree: photos/{a.jpg, trip/b.jpg, empty/}.
	local := filepath.Join(dir, "photos")
	os.MkdirAll(filepath.Join(local, "trip"), 0o755)
	os.MkdirAll(filepath.Join(local, "empty"), 0o755)
	a := bytes.Repeat([]byte("A"), 70000)
	b := []byte("small b")
	os.WriteFile(filepath.Join(local, "a.jpg"), a, 0o600)
	os.WriteFile(filepath.Join(local, "trip", "b.jpg"), b, 0o600)

	// One file: to a name, into a directory (slash), into the alias root.
	must("cp", filepath.Join(local, "a.jpg"), "home:one.jpg")
	must("cp", filepath.Join(local, "a.jpg"), "home:docs/")
	must("cp", filepath.Join(local, "a.jpg"), "work:")
	if must("get", "home:one.jpg") != string(a) || must("get", "home:docs/a.jpg") != string(a) || must("get", "work:a.jpg") != string(a) {
		t.Error("single-file cp to the grid read back differently")
	}
	// A directory without -r is refused; with it, it becomes home:photos.
	fails("is a directory: copy it with 'lafs cp -r'", "cp", local, "home:")
	must("cp", "-r", local, "home:")
	if out := must("ls", "home:photos"); out != "file a.jpg\ndir  empty/\ndir  trip/\n" {
		t.Errorf("ls home:photos: %q", out)
	}
	if must("get", "home:photos/trip/b.jpg") != string(b) {
		t.Error("home:photos/trip/b.jpg differs")
	}
	// Again: merged, files replaced, nothing doubled.
	os.WriteFile(filepath.Join(local, "trip", "b.jpg"), []byte("b, edited"), 0o600)
	must("cp", "-r", local, "home:")
	if must("get", "home:photos/trip/b.jpg") != "b, edited" {
		t.Error("a second cp -r did not replace the file")
	}
	// A directory is never replaced by a file.
	// Onto an existing directory: into it.
	must("cp", filepath.Join(local, "a.jpg"), "home:photos/trip")
	if out := must("ls", "home:photos/trip"); out != "file a.jpg\nfile b.jpg\n" {
		t.Errorf("cp onto a directory: %q", out)
	}
	must("mkdir", "home:clash/a.jpg")
	fails("home:clash/a.jpg is a directory and is not replaced", "cp", filepath.Join(local, "a.jpg"), "home:clash")

	// Grid to local: a file to a name and into a directory; a tree.
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	must("cp", "home:one.jpg", filepath.Join(out, "x.jpg"))
	must("cp", "home:one.jpg", out)
	for _, p := range []string{"x.jpg", "one.jpg"} {
		if got, _ := os.ReadFile(filepath.Join(out, p)); !bytes.Equal(got, a) {
			t.Errorf("%s: %d bytes", p, len(got))
		}
	}
	restore := filepath.Join(dir, "restore")
	must("cp", "-r", "home:photos", restore)
	if got, _ := os.ReadFile(filepath.Join(restore, "photos", "trip", "b.jpg")); string(got) != "b, edited" {
		t.Errorf("restore/photos/trip/b.jpg: %q", got)
	}
	if st, err := os.Stat(filepath.Join(restore, "photos", "empty")); err != nil || !st.IsDir() {
		t.Errorf("the empty directory was not made: %v", err)
	}

	// Grid to grid: an immutable file is linked (the same cap); a tree
	// of directories is made anew.
	must("cp", "home:one.jpg", "work:same.jpg")
	if lsJSONOf(t, must("ls", "--json", "work:"))["same.jpg"].ReadCap != lsJSONOf(t, must("ls", "--json", "home:"))["one.jpg"].ReadCap {
		t.Error("grid-to-grid cp of an immutable file did not link the same cap")
	}
	must("cp", "-r", "home:photos", "work:backup/")
	if must("get", "work:backup/photos/a.jpg") != string(a) {
		t.Error("work:backup/photos/a.jpg differs")
	}
	// Several sources need a directory target; both local is refused.
	fails("is a file: copying several sources", "cp", "home:one.jpg", "home:docs/a.jpg", "work:a.jpg")
	fails("both are on this computer: use cp(1)", "cp", filepath.Join(local, "a.jpg"), filepath.Join(dir, "z"))
	fails(`unknown alias "nope"`, "cp", "nope:x", out)
	// Not regular files: a FIFO in a tree is skipped with a warning.
	if err := syscall.Mkfifo(filepath.Join(local, "pipe"), 0o600); err == nil {
		code, _, errs := run("-d", dir, "cp", "-r", local, "work:")
		if code != 1 || !strings.Contains(errs, "is a named pipe, not a regular file") {
			t.Errorf("cp -r with a FIFO: %d %q", code, errs)
		}
		if must("get", "work:photos/trip/b.jpg") != "b, edited" {
			t.Error("cp -r with a FIFO did not copy the rest")
		}
	}
}
