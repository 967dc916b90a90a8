package folder_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
)

// What a crash or a torn grid write can leave behind, and how the engine
// must take it (found by the kill -9 test, app/cmd/lafs).

// TestOwnUnrecordedCommitIsNotAConflict: the device committed a version
// and died before its database recorded it; the user edited again. On
// restart that is an ordinary new version, not a conflict with itself.
func TestOwnUnrecordedCommitIsNotAConflict(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("notes.txt", "v1")
	a.waitGrid("notes.txt", "v1")
	a.waitSettled()
	a.halt()
	// The commit of v2 that the killed process made (but never recorded).
	rf, err := remote.Open(context.Background(), g, a.cap, "deviceA")
	if err != nil {
		t.Fatal(err)
	}
	ents, err := rf.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	cur := ents["notes.txt"]
	v2cap, err := rf.Upload(context.Background(), strings.NewReader("v2"), 2, [16]byte{2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	meta := cur.Meta
	meta.Ver, meta.Size, meta.Hash = cur.Meta.Ver.Bump("deviceA"), 2, [32]byte{0xee}
	res, err := rf.Commit(context.Background(), "", []remote.Op{{Kind: remote.Put, Name: "notes.txt", Cap: v2cap, Meta: meta, Base: cur.Meta.Ver}}, remote.Retention{})
	if err != nil || !res[0].Applied {
		t.Fatalf("simulated commit: %+v %v", res, err)
	}
	a.write("notes.txt", "v3 written after the crash")
	a.start()
	a.waitGrid("notes.txt", "v3 written after the crash")
	for name := range a.tree() {
		if strings.Contains(name, "sync-conflict") {
			t.Fatalf("a conflict copy of the device's own commit: %s", name)
		}
	}
	if c, _ := a.read("notes.txt"); c != "v3 written after the crash" {
		t.Fatalf("the local file reverted to %q", c)
	}
}

// TestResurrectedOlderEntryDoesNotWin: a file deleted and made again, then
// a stale publish by another device brings its old entry back. The old
// entry must not replace the newer local file.
func TestResurrectedOlderEntryDoesNotWin(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("plan.txt", "old plan, edited")
	a.waitGrid("plan.txt", "old plan, edited")
	a.write("plan.txt", "old plan, edited twice")
	a.waitGrid("plan.txt", "old plan, edited twice")
	rf, err := remote.Open(context.Background(), g, a.cap, "x")
	if err != nil {
		t.Fatal(err)
	}
	ents, err := rf.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	old := ents["plan.txt"]
	if err := os.Remove(filepath.Join(a.root, "plan.txt")); err != nil {
		t.Fatal(err)
	}
	a.waitFor("the delete on the grid", func() bool {
		e, err := rf.List(context.Background(), "")
		return err == nil && e["plan.txt"] == nil
	})
	a.write("plan.txt", "new plan")
	a.waitGrid("plan.txt", "new plan")
	a.waitSettled()
	// The stale publish: the old entry, with its old metadata, is back.
	root, err := g.Dirs().Open(a.cap)
	if err != nil {
		t.Fatal(err)
	}
	md := remote.EncodeMeta(old.Meta)
	if err := root.Set(context.Background(), "plan.txt", old.Cap, "", md, true); err != nil {
		t.Fatal(err)
	}
	a.halt()
	a.walkEvery = 300 * time.Millisecond // the revert bumped no generation: the walk finds it
	a.start()
	a.waitGrid("plan.txt", "new plan")
	if c, _ := a.read("plan.txt"); c != "new plan" {
		t.Fatalf("the older resurrected entry replaced the local file: %q", c)
	}
}

// TestTempFilesOfInterruptedDownloadsAreRemoved.
func TestTempFilesOfInterruptedDownloadsAreRemoved(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.halt()
	a.write("sub/.lafssync-tmp-123456", "half a download")
	a.write("sub/keep.txt", "keep")
	a.start()
	a.waitGrid("sub/keep.txt", "keep")
	if _, ok := a.read("sub/.lafssync-tmp-123456"); ok {
		t.Fatal("a crash's temp file is still there after a restart")
	}
}

// TestChangeCutOffBeforeItsAnnouncementIsSeen: a commit published its
// directory, then failed (or the process died) before .lafssync/state
// recorded it. The other device must still get the change at its next
// poll, not at its hourly full walk (found by the kill -9 test: two
// devices both "up to date" with different contents).
func TestChangeCutOffBeforeItsAnnouncementIsSeen(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "error", true: "restart"}[restart], func(t *testing.T) {
			g := gridtest.New(10)
			a := newFolder(t, g, "deviceA")
			b := newDevice(t, g, "deviceB", a.cap)
			a.write("sub/notes.txt", "v1")
			b.waitContent("sub/notes.txt", "v1")
			a.rf.FailAfterPublish(1)
			a.write("sub/notes.txt", "v2")
			a.waitGrid("sub/notes.txt", "v2")
			if restart {
				a.halt()
				a.start()
			}
			b.waitContent("sub/notes.txt", "v2")
			a.waitUpToDate()
			for _, d := range []*device{a, b} {
				for name := range d.tree() {
					if strings.Contains(name, "sync-conflict") {
						t.Errorf("%s: a conflict copy: %s", d.name, name)
					}
				}
			}
		})
	}
}
