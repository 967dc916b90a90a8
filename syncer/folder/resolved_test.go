package folder_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/syncer/remote/gridtest"
)

// hasErr says whether the engine's status lists an error for rel that
// holds contains.
func (d *device) hasErr(rel, contains string) bool {
	for _, e := range d.eng.Status().Errors {
		if e.Path == rel && strings.Contains(e.Error, contains) {
			return true
		}
	}
	return false
}

// "The grid has a file where this device has a folder" goes from the
// status once the user renames the folder away, at the next cycle, not
// at some later success on that path; the folder's files and the grid's
// file both arrive everywhere.
func TestFileVersusFolderErrorClearsWhenRenamedAway(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitSettled()
	b.halt()
	// While B is off, A makes a file x and B a folder x: neither has
	// seen the other's.
	a.write("x", "A's file")
	a.waitGrid("x", "A's file")
	b.write("x/inner.txt", "B's file in B's folder")
	b.start()
	b.waitErr("x", "has a file where this device has a folder")

	if err := os.Rename(filepath.Join(b.root, "x"), filepath.Join(b.root, "y")); err != nil {
		t.Fatal(err)
	}
	b.waitGrid("y/inner.txt", "B's file in B's folder")
	b.waitFor("the errors for x and x/inner.txt to go", func() bool { return !b.hasErr("x", "") && !b.hasErr("x/inner.txt", "") })
	b.waitSettled()
	for _, e := range b.eng.Status().Errors {
		t.Errorf("error left after the rename and a settled cycle: %+v", e)
	}
	b.waitContent("x", "A's file")
	a.waitContent("y/inner.txt", "B's file in B's folder")
	if got, _ := a.read("x"); got != "A's file" {
		t.Errorf("A's x reads %q", got)
	}
	noConflictCopies(t, a, b)
}

// The other way round: "the grid has a folder where this device has a
// file" goes once the user renames the file away (nothing else happens
// at that path on this device but the grid's folder arriving).
func TestFolderVersusFileErrorClearsWhenRenamedAway(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitSettled()
	b.halt()
	a.write("x/inner.txt", "A's file in A's folder")
	a.waitGrid("x/inner.txt", "A's file in A's folder")
	b.write("x", "B's file")
	b.start()
	b.waitErr("x", "has a folder where this device has a file")

	if err := os.Rename(filepath.Join(b.root, "x"), filepath.Join(b.root, "x.txt")); err != nil {
		t.Fatal(err)
	}
	b.waitGrid("x.txt", "B's file")
	b.waitContent("x/inner.txt", "A's file in A's folder")
	b.waitFor("the error for x to go", func() bool { return !b.hasErr("x", "") })
	b.waitSettled()
	a.waitContent("x.txt", "B's file")
	if got, _ := a.read("x/inner.txt"); got != "A's file in A's folder" {
		t.Errorf("A's x/inner.txt reads %q", got)
	}
	noConflictCopies(t, a, b)
}

// "Could not upload it" for a new file goes once the file is deleted
// before it ever reached the grid (nothing is left to send), while the
// grid is still short of servers; before, it stayed listed until a later
// success on that path, which never came.
func TestUploadErrorClearsWhenFileDeletedBeforeItReachedTheGrid(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("kept.txt", "1")
	a.waitUpToDate()
	g.Offline(4)                                              // 6 of 10 left: below happiness 7
	a.write("doomed.txt", strings.Repeat("never sent ", 100)) // past the LIT size: it needs servers
	a.waitErr("doomed.txt", "Could not upload it")
	if err := os.Remove(filepath.Join(a.root, "doomed.txt")); err != nil {
		t.Fatal(err)
	}
	a.eng.Kick()
	a.waitFor("the error for doomed.txt to go", func() bool { return !a.hasErr("doomed.txt", "") })
	g.Offline(0)
	a.eng.Kick()
	a.waitUpToDate()
	if got, _ := a.read("kept.txt"); got != "1" {
		t.Errorf("kept.txt reads %q", got)
	}
}
