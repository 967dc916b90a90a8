package folder_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/syncer/folder"
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
	noConflictCopies(t, a)
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
			noConflictCopies(t, a, b)
		})
	}
}

// TestDeleteOfALaterVersionDeletesAnOlderCopy: device B was away while A
// edited a file and then deleted it. B still has the version before the
// edit, unchanged. The delete applies to it too (the deleted version
// descends from B's): B must delete its copy, not give the older version
// back to the grid (found by the kill -9 test: deleted files back, and an
// older version replacing a newer one on the device that wrote both).
func TestDeleteOfALaterVersionDeletesAnOlderCopy(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	b := newDevice(t, g, "deviceB", a.cap)
	a.write("doc.txt", "v1")
	b.waitContent("doc.txt", "v1")
	b.waitSettled()
	b.halt()
	a.write("doc.txt", "v2")
	a.waitGrid("doc.txt", "v2")
	if err := os.Remove(filepath.Join(a.root, "doc.txt")); err != nil {
		t.Fatal(err)
	}
	a.waitFor("doc.txt gone from the grid", func() bool {
		ents, err := a.rf.List(context.Background(), "")
		return err == nil && ents["doc.txt"] == nil
	})
	b.start()
	b.waitFor("doc.txt deleted on B", func() bool { _, ok := b.read("doc.txt"); return !ok })
	b.waitSettled()
	a.waitSettled()
	if c, ok := a.read("doc.txt"); ok {
		t.Fatalf("the deleted file came back on A: %q", c)
	}
	ents, err := a.rf.List(context.Background(), "")
	if err != nil || ents["doc.txt"] != nil {
		t.Fatalf("the deleted file is on the grid again: %+v, %v", ents["doc.txt"], err)
	}
}

// TestDownloadCutOffAfterItLandedIsNotAConflict: the device put a
// downloaded version in place and died before saving its record; then the
// other device edited the file again. On restart the landed version is the
// synced one (recorded ahead), so the newer edit replaces it: no conflict
// copy of the device's own download (found by the kill -9 test).
func TestDownloadCutOffAfterItLandedIsNotAConflict(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	b := newDevice(t, g, "deviceB", a.cap)
	a.write("doc.txt", "v1")
	b.waitContent("doc.txt", "v1")
	// v1 is on disk before B records it (the hook runs in between): wait
	// for the record, or the hook below catches v1's landing, not v2's
	// (1 run in 60 failed with "after the cut-off download = v1").
	b.waitSettled()
	landed := make(chan struct{})
	var once sync.Once
	folder.SetLandedHook(func(ctx context.Context, p string) bool {
		if p != "doc.txt" {
			return false
		}
		crashed := false
		once.Do(func() {
			close(landed)
			<-ctx.Done() // the test stops the engine here: killed before the record
			crashed = true
		})
		return crashed
	})
	t.Cleanup(func() { folder.SetLandedHook(nil) })
	a.write("doc.txt", "v2")
	select {
	case <-landed:
	case <-time.After(wait):
		t.Fatal("B never put v2 in place")
	}
	b.halt()
	folder.SetLandedHook(nil)
	if c, _ := b.read("doc.txt"); c != "v2" {
		t.Fatalf("B's doc.txt after the cut-off download = %q, want v2", c)
	}
	a.write("doc.txt", "v3")
	a.waitGrid("doc.txt", "v3")
	b.start()
	b.waitContent("doc.txt", "v3")
	b.waitSettled()
	noConflictCopies(t, a, b)
}

// TestOwnUnrecordedCommitOfANewFileIsNotAConflict: the device committed
// the first version of a new file and died before recording it; the user
// edited the file again (and, in the second case, the device died again
// after writing the edit's intent, before its publish). On restart the
// grid's version is the device's own, so the edit is an ordinary new
// version: no conflict copy, no older version under the name (found by
// the kill -9 test).
func TestOwnUnrecordedCommitOfANewFileIsNotAConflict(t *testing.T) {
	for _, twice := range []bool{false, true} {
		t.Run(map[bool]string{false: "once", true: "twice"}[twice], func(t *testing.T) {
			g := gridtest.New(10)
			a := newFolder(t, g, "deviceA")
			// arm makes the next commit stop (before or after its
			// publish); the returned func waits for it and stops the engine.
			arm := func(published bool) func() {
				crashed := make(chan struct{})
				var once sync.Once
				folder.SetCommitHook(func(ctx context.Context, dir string, pub bool) bool {
					if pub != published {
						return false
					}
					if !published {
						// Before the publish: every attempt stops there (the
						// engine is not blocked, so its start can finish)
						// until the test stops it.
						once.Do(func() { close(crashed) })
						return true
					}
					stop := false
					once.Do(func() {
						close(crashed)
						<-ctx.Done() // the test stops the engine here: killed
						stop = true
					})
					return stop
				})
				return func() {
					t.Helper()
					select {
					case <-crashed:
					case <-time.After(wait):
						t.Fatal("the commit never came")
					}
					a.halt()
					folder.SetCommitHook(nil)
				}
			}
			t.Cleanup(func() { folder.SetCommitHook(nil) })
			crashed := arm(true) // v1 published, not recorded
			a.write("new.txt", "v1")
			crashed()
			a.waitGrid("new.txt", "v1")
			a.write("new.txt", "v2, written after the crash")
			if twice {
				crashed := arm(false) // v2's intent written, not published
				a.start()
				crashed()
				a.waitGrid("new.txt", "v1")
			}
			a.start()
			a.waitGrid("new.txt", "v2, written after the crash")
			a.waitSettled()
			noConflictCopies(t, a)
			if c, _ := a.read("new.txt"); c != "v2, written after the crash" {
				t.Fatalf("the local file is %q", c)
			}
		})
	}
}
