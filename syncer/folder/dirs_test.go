package folder_test

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
)

func (d *device) mkdir(rel string) {
	d.t.Helper()
	if err := os.MkdirAll(filepath.Join(d.root, filepath.FromSlash(rel)), 0o755); err != nil {
		d.t.Fatal(err)
	}
}

func (d *device) rmdir(rel string) {
	d.t.Helper()
	if err := os.Remove(filepath.Join(d.root, filepath.FromSlash(rel))); err != nil {
		d.t.Fatal(err)
	}
}

func (d *device) isDir(rel string) bool {
	fi, err := os.Lstat(filepath.Join(d.root, filepath.FromSlash(rel)))
	return err == nil && fi.IsDir()
}

func (d *device) exists(rel string) bool {
	_, err := os.Lstat(filepath.Join(d.root, filepath.FromSlash(rel)))
	return err == nil
}

// gridHasDir says whether the grid has a directory at rel, read as
// another node would.
func (d *device) gridHasDir(rel string) bool {
	d.t.Helper()
	rf, err := remote.Open(context.Background(), d.g, d.cap, "reader")
	if err != nil {
		d.t.Fatal(err)
	}
	dir, name := path.Split(rel)
	ents, err := rf.List(context.Background(), strings.TrimSuffix(dir, "/"))
	return err == nil && ents[name] != nil && ents[name].Dir
}

// gridHas says whether the grid has any entry at rel.
func (d *device) gridHas(rel string) bool {
	d.t.Helper()
	rf, err := remote.Open(context.Background(), d.g, d.cap, "reader")
	if err != nil {
		d.t.Fatal(err)
	}
	dir, name := path.Split(rel)
	ents, err := rf.List(context.Background(), strings.TrimSuffix(dir, "/"))
	return err == nil && ents[name] != nil
}

func (d *device) waitDir(rel string, want bool) {
	d.t.Helper()
	what := rel + " to be a directory"
	if !want {
		what = rel + " to be gone"
	}
	d.waitFor(what, func() bool {
		if want {
			return d.isDir(rel)
		}
		return !d.exists(rel)
	})
}

func (d *device) waitGridDir(rel string, want bool) {
	d.t.Helper()
	what := "the grid to have the directory " + rel
	if !want {
		what = "the grid to lack " + rel
	}
	d.waitFor(what, func() bool {
		if want {
			return d.gridHasDir(rel)
		}
		return !d.gridHas(rel)
	})
}

func TestEmptyDirectoriesSyncBothWays(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.mkdir("empty")
	a.mkdir("a/b/c") // only empty subdirectories
	a.waitGridDir("empty", true)
	a.waitGridDir("a/b/c", true)

	b := newDevice(t, g, "deviceB", a.cap)
	b.waitDir("empty", true)
	b.waitDir("a/b/c", true)

	// And back: B's new empty directory reaches A.
	b.mkdir("fromB/deeper")
	a.waitDir("fromB/deeper", true)

	// rmdir on A goes to the grid and to B, deepest first.
	a.rmdir("a/b/c")
	a.rmdir("a/b")
	a.waitGridDir("a/b", false)
	b.waitDir("a/b", false)
	if !b.isDir("a") {
		t.Fatal("B lost a, which A kept")
	}
	// rm -r of a directory with a file: the file and the directory go
	// everywhere, and the file stays restorable.
	a.write("docs/x.txt", "x")
	b.waitContent("docs/x.txt", "x")
	if err := os.RemoveAll(filepath.Join(a.root, "docs")); err != nil {
		t.Fatal(err)
	}
	a.waitGridDir("docs", false)
	b.waitDir("docs", false)
	a.waitUpToDate()
	b.waitUpToDate()
	for _, d := range []string{"empty", "a", "fromB/deeper"} {
		if !a.isDir(d) || !b.isDir(d) {
			t.Errorf("%s: on A %v, on B %v; want a directory on both", d, a.isDir(d), b.isDir(d))
		}
	}
}

func TestDeletingALastFileKeepsItsDirectory(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("d/f.txt", "f")
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent("d/f.txt", "f")
	if err := os.Remove(filepath.Join(a.root, "d", "f.txt")); err != nil {
		t.Fatal(err)
	}
	b.waitFor("d/f.txt deleted", func() bool { return !b.exists("d/f.txt") })
	a.waitSettled()
	b.waitSettled()
	a.waitSettled()
	if !a.isDir("d") || !b.isDir("d") || !a.gridHasDir("d") {
		t.Fatalf("d: on A %v, on B %v, on the grid %v; want it kept everywhere (A kept it)", a.isDir("d"), b.isDir("d"), a.gridHasDir("d"))
	}
}

func TestRmdirDoesNotRemoveAnotherDevicesContent(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write(".lafsignore", "*.tmp\n")
	a.mkdir("d")
	a.mkdir("only-ignored")
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent(".lafsignore", "*.tmp\n")
	b.waitDir("d", true)
	b.waitDir("only-ignored", true)
	b.waitSettled()

	// B, offline, adds a file to d and an ignored file to only-ignored,
	// while A removes both directories.
	b.halt()
	b.write("d/new.txt", "new on B")
	b.write("only-ignored/junk.tmp", "ignored")
	a.rmdir("d")
	a.rmdir("only-ignored")
	a.waitGridDir("d", false)
	a.waitGridDir("only-ignored", false)

	b.start()
	// B keeps its file; the directory is on the grid again, and at A.
	a.waitContent("d/new.txt", "new on B")
	if got, _ := b.read("d/new.txt"); got != "new on B" {
		t.Fatalf("B's d/new.txt reads %q", got)
	}
	// The ignored file stays at B, and its directory (empty for the grid)
	// comes back.
	a.waitDir("only-ignored", true)
	if got, _ := b.read("only-ignored/junk.tmp"); got != "ignored" {
		t.Fatalf("B's ignored file reads %q", got)
	}
	if a.gridHas("only-ignored/junk.tmp") {
		t.Fatal("the ignored file was uploaded")
	}
	if a.exists("only-ignored/junk.tmp") {
		t.Fatal("A got the ignored file")
	}
}

func TestRmdirWhileOnlineOtherDeviceAddsAFile(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.mkdir("d")
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitDir("d", true)
	b.waitSettled()
	// B's file lands first; A's rmdir then finds the directory not empty
	// on the grid and gets it back with the file.
	b.write("d/f.txt", "from B")
	a.waitContent("d/f.txt", "from B")
	a.halt()
	if err := os.RemoveAll(filepath.Join(a.root, "d")); err != nil {
		t.Fatal(err)
	}
	b.write("d/g.txt", "also from B")
	b.waitGrid("d/g.txt", "also from B")
	a.start()
	// A's delete of d/f.txt is a delete of the version it had: it goes;
	// d/g.txt is new and stays, and so does d.
	a.waitContent("d/g.txt", "also from B")
	b.waitFor("d/f.txt deleted at B", func() bool { return !b.exists("d/f.txt") })
	a.waitSettled()
	b.waitSettled()
	if got, _ := b.read("d/g.txt"); got != "also from B" || !a.gridHasDir("d") {
		t.Fatalf("B's d/g.txt %q, grid has d %v", got, a.gridHasDir("d"))
	}
}

func TestDirectoryReplacedByFileAndBack(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.mkdir("x")
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitDir("x", true)
	b.waitSettled()

	a.rmdir("x")
	a.write("x", "now a file")
	b.waitContent("x", "now a file")
	a.waitGrid("x", "now a file")

	if err := os.Remove(filepath.Join(a.root, "x")); err != nil {
		t.Fatal(err)
	}
	a.write("x/inside.txt", "inside")
	b.waitContent("x/inside.txt", "inside")
	a.mkdir("x/empty")
	b.waitDir("x/empty", true)
	noConflictCopies(t, a, b)
}

func TestChangedFileIsKeptWhenReplacedByADirectoryElsewhere(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("x", "v1")
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent("x", "v1")
	b.waitSettled()
	b.halt()
	b.write("x", "B's edit")
	if err := os.Remove(filepath.Join(a.root, "x")); err != nil {
		t.Fatal(err)
	}
	a.mkdir("x")
	a.waitGridDir("x", true)
	b.start()
	// The edit is kept and reported (the user renames one of them).
	b.waitErr("x", "a folder where this device has a file")
	if got, _ := b.read("x"); got != "B's edit" {
		t.Fatalf("B's edited x reads %q, want it kept", got)
	}
	if !a.isDir("x") {
		t.Fatal("A lost its directory x")
	}
}

func TestDirectoryMarksSurviveARestart(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.mkdir("keep")
	a.mkdir("gone")
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitDir("keep", true)
	b.waitDir("gone", true)
	b.waitSettled()

	b.halt()
	a.rmdir("gone")
	a.waitGridDir("gone", false)
	b.start()
	// B knows it had synced gone: the grid's delete applies, rather than
	// B's copy looking new and going back to the grid.
	b.waitDir("gone", false)
	b.waitSettled()
	a.waitSettled()
	if a.gridHas("gone") || a.isDir("gone") {
		t.Fatalf("gone came back: grid %v, A %v", a.gridHas("gone"), a.isDir("gone"))
	}
	if !b.isDir("keep") || !a.gridHasDir("keep") {
		t.Fatal("keep was lost")
	}
}

func TestIgnoredDirectoriesStayIgnored(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write(".lafsignore", "skipme/\nalsoskip/\n")
	a.waitGrid(".lafsignore", "skipme/\nalsoskip/\n")
	a.mkdir("skipme/sub")
	a.mkdir("visible")
	a.waitGridDir("visible", true)
	// Another writer makes a directory of an ignored name on the grid.
	rf, err := remote.Open(context.Background(), g, a.cap, "writer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rf.Commit(context.Background(), "", []remote.Op{{Kind: remote.Mkdir, Name: "alsoskip"}, {Kind: remote.Mkdir, Name: "shown"}}, remote.Retention{}); err != nil {
		t.Fatal(err)
	}
	a.waitDir("shown", true)
	a.waitSettled()
	if a.gridHas("skipme") {
		t.Fatal("the ignored directory skipme went to the grid")
	}
	if a.exists("alsoskip") {
		t.Fatal("the ignored directory alsoskip was made here")
	}
	if !a.isDir("skipme/sub") {
		t.Fatal("the ignored local directory was touched")
	}
}

func TestGridDirectoryIsNotMadeThroughALocalLink(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(a.root, "link")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	rf, err := remote.Open(context.Background(), g, a.cap, "writer")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := rf.Commit(ctx, "link", []remote.Op{{Kind: remote.Mkdir, Name: "inside"}}, remote.Retention{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rf.Commit(ctx, "", []remote.Op{{Kind: remote.Mkdir, Name: "shown"}}, remote.Retention{}); err != nil {
		t.Fatal(err)
	}
	a.waitDir("shown", true)
	a.waitSettled()
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("the directory the link points to got %v", ents)
	}
}

func TestRemovedDirectoryKeepsAFileEditedElsewhere(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("d/f.txt", "v1")
	a.write("d/other.txt", "other")
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent("d/f.txt", "v1")
	b.waitContent("d/other.txt", "other")
	b.waitSettled()
	b.halt()
	b.write("d/f.txt", "v2 edited on B")
	if err := os.RemoveAll(filepath.Join(a.root, "d")); err != nil {
		t.Fatal(err)
	}
	a.waitFor("d/other.txt deleted on the grid", func() bool { return !a.gridHas("d/other.txt") })
	b.start()
	// The edit wins over the delete: kept at B, back on the grid and at A;
	// the unchanged file goes.
	a.waitContent("d/f.txt", "v2 edited on B")
	b.waitFor("d/other.txt deleted at B", func() bool { return !b.exists("d/other.txt") })
	if got, _ := b.read("d/f.txt"); got != "v2 edited on B" {
		t.Fatalf("B's edited file reads %q", got)
	}
}
