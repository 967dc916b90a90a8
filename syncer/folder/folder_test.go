package folder_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/db"
	"github.com/lafssync/lafssync/syncer/folder"
	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/watch"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// device is one engine on one local folder, as a second device would run.
type device struct {
	t      *testing.T
	name   string
	root   string
	dbPath string
	g      *gridtest.Grid
	cap    string
	rf     *remote.Folder // the engine's grid folder (this life's)
	eng    *folder.Folder
	stop   func()
	logs   lockedBuffer
	// walkEvery is the full-walk period (0: the engine's default, 1 h).
	walkEvery time.Duration

	evMu       sync.Mutex
	lastStatus *api.FolderStatus // the last status event the engine published
}

// published is the last status the engine published to its subscriber.
func (d *device) published() *api.FolderStatus {
	d.evMu.Lock()
	defer d.evMu.Unlock()
	return d.lastStatus
}

// lockedBuffer collects an engine's log lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }
func (l *lockedBuffer) Reset()         { l.mu.Lock(); defer l.mu.Unlock(); l.b.Reset() }

const wait = 30 * time.Second

func newDevice(t *testing.T, g *gridtest.Grid, name, rootCap string) *device {
	t.Helper()
	d := &device{t: t, name: name, root: filepath.Join(t.TempDir(), name), dbPath: filepath.Join(t.TempDir(), "sync.db"), g: g, cap: rootCap}
	if err := os.MkdirAll(d.root, 0o755); err != nil {
		t.Fatal(err)
	}
	d.start()
	t.Cleanup(func() { d.halt() })
	return d
}

// newFolder makes a new grid folder and its first device.
func newFolder(t *testing.T, g *gridtest.Grid, name string) *device {
	t.Helper()
	rf, err := remote.Create(context.Background(), g, name)
	if err != nil {
		t.Fatal(err)
	}
	return newDevice(t, g, name, rf.WriteCap())
}

func (d *device) start() {
	t := d.t
	t.Helper()
	rf, err := remote.Open(context.Background(), d.g, d.cap, d.name)
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := db.Open(d.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := folder.New(folder.Config{
		Name: "test", Root: d.root, Device: d.name, Remote: rf, DB: sdb.Folder("f1"), Grid: d.g,
		PollEvery: 100 * time.Millisecond, FullWalkEvery: d.walkEvery, Log: slog.New(slog.NewTextHandler(&d.logs, nil)),
		Watch: watch.Options{Debounce: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond},
		OnEvent: func(e api.Event) {
			if e.Type == "status" && e.Status != nil {
				d.evMu.Lock()
				d.lastStatus = e.Status
				d.evMu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	d.eng, d.rf = eng, rf
	d.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: Run: %v", d.name, err)
		}
		sdb.Close()
	}
	select {
	case <-eng.Ready():
	case err := <-done:
		t.Fatalf("%s: Run ended at once: %v", d.name, err)
	case <-time.After(wait):
		t.Fatalf("%s: first cycle did not finish", d.name)
	}
}

func (d *device) halt() {
	if d.stop != nil {
		d.stop()
		d.stop = nil
	}
}

func (d *device) write(rel, content string) {
	d.t.Helper()
	p := filepath.Join(d.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		d.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

func (d *device) read(rel string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(d.root, filepath.FromSlash(rel)))
	return string(b), err == nil
}

// tree is every file of the folder (but temp files) with its content.
func (d *device) tree() map[string]string {
	out := map[string]string{}
	_ = filepath.WalkDir(d.root, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(d.root, p)
		b, _ := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return out
}

func (d *device) waitFor(what string, cond func() bool) {
	d.t.Helper()
	if !testkit.Poll(wait, cond) {
		s := d.eng.Status()
		d.t.Fatalf("%s: timed out waiting for %s; tree %v; status %s: %s, errors %v\nlog:\n%s", d.name, what, d.tree(), s.State, s.Detail, s.Errors, d.logs.String())
	}
}

func (d *device) waitContent(rel, want string) {
	d.t.Helper()
	d.waitFor(fmt.Sprintf("%s = %q", rel, want), func() bool { got, ok := d.read(rel); return ok && got == want })
}

// waitGrid waits until the grid has content at rel (read as another
// node would).
func (d *device) waitGrid(rel, content string) {
	d.t.Helper()
	rf, err := remote.Open(context.Background(), d.g, d.cap, "reader")
	if err != nil {
		d.t.Fatal(err)
	}
	dir, name := path.Split(rel)
	d.waitFor("the grid to have "+rel, func() bool {
		ents, err := rf.List(context.Background(), strings.TrimSuffix(dir, "/"))
		if err != nil || ents[name] == nil {
			return false
		}
		var buf bytes.Buffer
		return rf.Download(context.Background(), ents[name].Cap, &buf) == nil && buf.String() == content
	})
}

// waitSettled waits for a cycle that started after now to end up to date:
// what the grid showed before is then recorded in the database too.
func (d *device) waitSettled() {
	d.t.Helper()
	t0 := time.Now()
	d.waitFor("a settled cycle", func() bool {
		s := d.eng.Status()
		return s.State == api.UpToDate && s.LastCheck != nil && s.LastCheck.After(t0)
	})
}

func (d *device) waitUpToDate() {
	d.t.Helper()
	d.waitFor("up-to-date", func() bool { return d.eng.Status().State == api.UpToDate })
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestTwoDevicesSyncFilesEditsAndDeletes(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("hello.txt", "hello")
	a.write("docs/deep/notes.md", strings.Repeat("notes ", 100))
	a.write("tiny", "x")
	a.waitUpToDate()

	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent("hello.txt", "hello")
	b.waitContent("docs/deep/notes.md", strings.Repeat("notes ", 100))
	b.waitContent("tiny", "x")

	// B edits, A gets it.
	b.write("hello.txt", "hello from B")
	a.waitContent("hello.txt", "hello from B")

	// A deletes, B's copy goes, and the deleted file stays restorable.
	if err := os.Remove(filepath.Join(a.root, "tiny")); err != nil {
		t.Fatal(err)
	}
	b.waitFor("tiny deleted", func() bool { _, ok := b.read("tiny"); return !ok })
	rf, err := remote.Open(context.Background(), g, a.cap, "reader")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := rf.History(context.Background(), "tiny")
	if err != nil || len(vs) == 0 || !vs[0].Deleted {
		t.Fatalf("history of the deleted file: %+v, %v", vs, err)
	}
	var buf bytes.Buffer
	if err := rf.Download(context.Background(), vs[0].Cap, &buf); err != nil || buf.String() != "x" {
		t.Fatalf("deleted version reads %q, %v", buf.String(), err)
	}
	a.waitUpToDate()
	b.waitUpToDate()
	if ta, tb := a.tree(), b.tree(); fmt.Sprint(ta) != fmt.Sprint(tb) {
		t.Fatalf("trees differ:\nA %v\nB %v", ta, tb)
	}
}

func TestConcurrentEditsKeepBothVersions(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("report.txt", "v1")
	a.waitUpToDate()
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent("report.txt", "v1")
	b.waitUpToDate()

	// B goes offline (stops), both edit the same file.
	b.halt()
	a.write("report.txt", "A's edit")
	a.waitGrid("report.txt", "A's edit")
	b.write("report.txt", "B's edit")
	b.start()

	// Both devices end with both versions: the grid's (A's, first to
	// publish) under the name, B's as a conflict copy.
	isCopy := func(name string) bool {
		return strings.HasPrefix(name, "report.sync-conflict-") && strings.HasSuffix(name, "-deviceB.txt")
	}
	for _, d := range []*device{a, b} {
		d.waitFor("conflict copy", func() bool {
			tr := d.tree()
			if tr["report.txt"] != "A's edit" {
				return false
			}
			for name, c := range tr {
				if isCopy(name) && c == "B's edit" {
					return true
				}
			}
			return false
		})
	}
	s := b.eng.Status()
	if len(s.Conflicts) != 1 || s.Conflicts[0].Path != "report.txt" || !isCopy(s.Conflicts[0].Copy) {
		t.Fatalf("B's status does not report the conflict: %+v", s.Conflicts)
	}

	// Resolving by deleting the copy works: it goes from both sides.
	var copyName string
	for name := range b.tree() {
		if isCopy(name) {
			copyName = name
		}
	}
	if p := b.published(); p == nil || len(p.Conflicts) != 1 {
		t.Fatalf("B's published status does not list the conflict: %+v", p)
	}
	if err := os.Remove(filepath.Join(b.root, copyName)); err != nil {
		t.Fatal(err)
	}
	a.waitFor("conflict copy removed", func() bool { _, ok := a.read(copyName); return !ok })
	// The user resolved it: B's status (read, and published to the tray)
	// stops listing it.
	b.waitFor("the resolved conflict gone from B's status", func() bool {
		p := b.published()
		return len(b.eng.Status().Conflicts) == 0 && p != nil && len(p.Conflicts) == 0
	})
}

func TestRenameRelinksWithoutUpload(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	big := strings.Repeat("0123456789", 50_000) // 500 kB: a CHK file
	a.write("old.bin", big)
	a.waitUpToDate()
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent("old.bin", big)

	a.logs.Reset()
	if err := os.Rename(filepath.Join(a.root, "old.bin"), filepath.Join(a.root, "new.bin")); err != nil {
		t.Fatal(err)
	}
	b.waitContent("new.bin", big)
	b.waitFor("old.bin gone", func() bool { _, ok := b.read("old.bin"); return !ok })
	if l := a.logs.String(); strings.Contains(l, "msg=uploaded") {
		t.Fatalf("the renamed file was uploaded again:\n%s", l)
	}
}

func TestMassDeletePausesAndAsks(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	for i := range 8 {
		a.write(fmt.Sprintf("f%d.txt", i), fmt.Sprintf("file %d", i))
	}
	a.waitUpToDate()
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent("f7.txt", "file 7")

	for i := range 8 {
		if err := os.Remove(filepath.Join(a.root, fmt.Sprintf("f%d.txt", i))); err != nil {
			t.Fatal(err)
		}
	}
	a.waitFor("paused", func() bool { return a.eng.Status().State == api.Paused })
	if d := a.eng.Status().Detail; !strings.Contains(d, "8 of the 8 files") || !strings.Contains(d, "resume") {
		t.Fatalf("pause detail does not say what happened and what to do: %q", d)
	}
	// B keeps its files while A is paused.
	b.waitUpToDate()
	if len(b.tree()) != 8 {
		t.Fatalf("B lost files while A was paused: %v", keys(b.tree()))
	}
	// The user meant it: resume, and the grid (and B) follow.
	a.eng.Resume()
	b.waitFor("all deleted", func() bool { return len(b.tree()) == 0 })
}

func TestFollowerGetsChangesAndDoesNotUpload(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("shared.txt", "for friends")
	a.waitUpToDate()
	rf, err := remote.Open(context.Background(), g, a.cap, "x")
	if err != nil {
		t.Fatal(err)
	}
	f := newDevice(t, g, "friend", rf.ReadCap())
	f.waitContent("shared.txt", "for friends")
	a.write("shared.txt", "update")
	f.waitContent("shared.txt", "update")

	f.write("mine.txt", "friend's local file")
	f.waitFor("local edit reported", func() bool { return f.eng.Status().LocalChangesIgnored == 1 })
	a.write("later.txt", "later")
	f.waitContent("later.txt", "later")
	if _, ok := a.read("mine.txt"); ok {
		t.Fatal("a follower's local file reached the writer")
	}
	if s := f.eng.Status(); s.Mode != "follow" {
		t.Fatalf("follower mode %q", s.Mode)
	}
}

func TestOfflineGridIsReportedAndRecovers(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("one.txt", "1")
	a.waitUpToDate()
	g.Offline(6) // 4 of 10 left: below happiness 7
	a.write("two.txt", "2")
	a.waitFor("offline", func() bool { return a.eng.Status().State == api.Offline })
	if d := a.eng.Status().Detail; !strings.Contains(d, "4 of 10") {
		t.Fatalf("offline detail: %q", d)
	}
	g.Offline(0)
	a.eng.Kick()
	a.waitUpToDate()
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent("two.txt", "2")
}

// TestFileLinkedByStockTahoeSyncsBothWays: a file a plain Tahoe client put
// into the folder (no lafssync metadata) arrives, and a local edit of it
// replaces it on the grid.
func TestFileLinkedByStockTahoeSyncsBothWays(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	// Stock Tahoe does not bump the folder's generation: such changes
	// are found by the periodic full walk (hourly by default).
	a.halt()
	a.walkEvery = 300 * time.Millisecond
	a.start()
	res, err := g.Immutable().Upload(context.Background(), strings.NewReader(strings.Repeat("tahoe ", 40)))
	if err != nil {
		t.Fatal(err)
	}
	root, err := g.Dirs().Open(a.cap)
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Set(context.Background(), "from-tahoe.txt", res.Cap.String(), "", map[string]any{"size": 240}, false); err != nil {
		t.Fatal(err)
	}
	a.waitContent("from-tahoe.txt", strings.Repeat("tahoe ", 40))
	a.write("from-tahoe.txt", "edited here")
	a.waitGrid("from-tahoe.txt", "edited here")
}

// TestIdenticalFilesUploadOnce: copies of one content in one change are
// uploaded once and all linked.
func TestIdenticalFilesUploadOnce(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	content := strings.Repeat("same ", 100_000)
	for i := range 5 {
		a.write(fmt.Sprintf("copy%d.txt", i), content)
	}
	for i := range 5 {
		a.waitGrid(fmt.Sprintf("copy%d.txt", i), content)
	}
	if n := strings.Count(a.logs.String(), "msg=uploaded"); n != 1 {
		t.Fatalf("5 identical files took %d uploads", n)
	}
}

// TestExecutableBitSyncs: making a file executable (or not) is a change
// the other device gets, without a conflict and without other bits lost.
func TestExecutableBitSyncs(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	b := newDevice(t, g, "deviceB", a.cap)
	a.write("run.sh", "#!/bin/sh\necho hi\n")
	b.waitContent("run.sh", "#!/bin/sh\necho hi\n")
	mode := func(d *device) os.FileMode {
		fi, err := os.Stat(filepath.Join(d.root, "run.sh"))
		if err != nil {
			return 0
		}
		return fi.Mode().Perm()
	}
	if m := mode(b); m&0o100 != 0 {
		t.Fatalf("B's run.sh is executable before anyone made it so: %v", m)
	}
	if err := os.Chmod(filepath.Join(a.root, "run.sh"), 0o750); err != nil {
		t.Fatal(err)
	}
	b.waitFor("run.sh executable on B", func() bool { return mode(b)&0o100 != 0 })
	if m := mode(b); m != 0o755 {
		t.Errorf("B's run.sh mode %v: want 0755 (x where its 0644 has r)", m)
	}
	b.waitSettled()
	if err := os.Chmod(filepath.Join(b.root, "run.sh"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.waitFor("run.sh not executable on A", func() bool { return mode(a)&0o111 == 0 })
	if m := mode(a); m != 0o640 {
		t.Errorf("A's run.sh mode %v, want 0640 (its own read bits kept)", m)
	}
	a.waitSettled()
	b.waitSettled()
	noConflictCopies(t, a, b)
	// A mode change is metadata: the content is not fetched again.
	if n := strings.Count(b.logs.String(), "msg=downloaded"); n != 1 {
		t.Errorf("B downloaded %d times, want once (the mode changes need no download)", n)
	}
}

// noConflictCopies fails the test if any device's folder has a conflict copy.
func noConflictCopies(t *testing.T, devs ...*device) {
	t.Helper()
	for _, d := range devs {
		for name := range d.tree() {
			if strings.Contains(name, "sync-conflict") {
				t.Errorf("%s: a conflict copy: %s", d.name, name)
			}
		}
	}
}
