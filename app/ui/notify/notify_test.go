package notify_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/lafssync/lafssync/app/ui/notify"
	"github.com/lafssync/lafssync/internal/clock/clocktest"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/syncer/api"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// source is a fake Source whose event channel is unbuffered: a send
// returns once the notifier took the event, and the next send once it
// handled it.
type source struct {
	folders []api.FolderStatus
	ch      chan api.Event
}

func (s *source) List() []api.FolderStatus              { return s.folders }
func (s *source) Subscribe() (<-chan api.Event, func()) { return s.ch, func() {} }
func (s *source) emit(es ...api.Event) {
	for _, e := range es {
		s.ch <- e
	}
}
func (s *source) settle() { s.ch <- api.Event{Type: "noop"} }
func newSource(folders ...api.FolderStatus) *source {
	return &source{folders: folders, ch: make(chan api.Event)}
}
func conflict(folder, p string) api.Event {
	return api.Event{Type: "conflict", Folder: folder, Conflict: &api.Conflict{Path: p, Copy: strings.TrimSuffix(p, ".txt") + ".sync-conflict-20261202-130405-devB.txt"}}
}

// recorder records what was sent.
type recorder struct {
	mu  sync.Mutex
	got []fyne.Notification
}

func (r *recorder) send(n *fyne.Notification) { r.mu.Lock(); r.got = append(r.got, *n); r.mu.Unlock() }
func (r *recorder) all() []fyne.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fyne.Notification(nil), r.got...)
}

func start(t *testing.T, src *source, clk *clocktest.Fake) (*notify.Notifier, *recorder) {
	t.Helper()
	rec := &recorder{}
	n := notify.New(notify.Options{Send: rec.send, Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	go n.Run(ctx, src)
	t.Cleanup(func() { cancel(); <-n.Done() })
	return n, rec
}

func wantCount(t *testing.T, rec *recorder, n int) []fyne.Notification {
	t.Helper()
	testkit.WaitFor(t, "notifications", 5*time.Second, func() bool { return len(rec.all()) >= n })
	got := rec.all()
	if len(got) != n {
		t.Fatalf("%d notifications, want %d: %+v", len(got), n, got)
	}
	return got
}

// TestConflictsRateLimited: per folder, the first conflict is told at
// once, the rest of the minute's as one "N more" when the minute is over;
// another folder is limited on its own.
func TestConflictsRateLimited(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC))
	src := newSource()
	_, rec := start(t, src, clk)
	src.emit(conflict("Docs", "a.txt"), conflict("Docs", "b.txt"), conflict("Photos", "p.txt"),
		conflict("Docs", "c.txt"), conflict("Docs", "d.txt"), conflict("Docs", "e.txt"))
	src.settle()
	got := wantCount(t, rec, 2)
	if got[0].Title != "Conflict in Docs" || !strings.HasPrefix(got[0].Content, "a.txt changed here and on another device.") ||
		!strings.Contains(got[0].Content, "a.sync-conflict-20261202-130405-devB.txt") {
		t.Errorf("first: %+v", got[0])
	}
	if got[1].Title != "Conflict in Photos" {
		t.Errorf("second: %+v", got[1])
	}
	clk.Advance(59 * time.Second)
	src.settle()
	wantCount(t, rec, 2)
	clk.Advance(time.Second)
	got = wantCount(t, rec, 3)
	if got[2].Title != "4 more conflicts in Docs" || !strings.Contains(got[2].Content, "b.txt, c.txt, d.txt and 1 more.") {
		t.Errorf("summary: %+v", got[2])
	}
	// The summary started a new minute: one more conflict in it waits,
	// and alone it goes out as itself.
	clk.Advance(10 * time.Second)
	src.emit(conflict("Docs", "f.txt"))
	src.settle()
	wantCount(t, rec, 3)
	clk.Advance(50 * time.Second)
	got = wantCount(t, rec, 4)
	if got[3].Title != "Conflict in Docs" || !strings.HasPrefix(got[3].Content, "f.txt ") {
		t.Errorf("held back single: %+v", got[3])
	}
	// A quiet minute later, the next one goes out at once.
	clk.Advance(61 * time.Second)
	src.settle()
	src.emit(conflict("Docs", "g.txt"))
	src.settle()
	got = wantCount(t, rec, 5)
	if !strings.HasPrefix(got[4].Content, "g.txt ") {
		t.Errorf("after a quiet minute: %+v", got[4])
	}
}

// TestErrorsSayPathAndHintNeverCaps: an error names the file and what to
// do; a cap or FURL in the engine's message does not reach the desktop.
func TestErrorsSayPathAndHintNeverCaps(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC))
	src := newSource()
	_, rec := start(t, src, clk)
	const wcap = "URI:DIR2:ri6ar2ewivx2xgeh4ic3s6yl4m:ohr2kdnx3yksqx6f4ivyw4ocyx4ucfqclbbq2atqumb4j5lvjciq"
	src.emit(api.Event{Type: "error", Folder: "Docs", Error: &api.FileError{Path: "notes/todo.txt",
		Error: "Could not download it: open " + wcap + " at pb://tubid@tcp:1.2.3.4:5/swissnumsecret failed.", Hint: "LAFS Sync retries by itself."}})
	src.settle()
	got := wantCount(t, rec, 1)
	n := got[0]
	if n.Title != "A file in Docs does not sync" || !strings.HasPrefix(n.Content, "notes/todo.txt does not sync: Could not download it") ||
		!strings.HasSuffix(n.Content, ". LAFS Sync retries by itself.") {
		t.Errorf("error: %+v", n)
	}
	for _, secret := range []string{"ri6ar2ewivx2xgeh4ic3s6yl4m", "ohr2kdnx3", "swissnumsecret", "tubid"} {
		if strings.Contains(n.Title+n.Content, secret) {
			t.Errorf("notification carries %q: %q", secret, n.Content)
		}
	}
	if !strings.Contains(n.Content, "URI:(hidden)") || !strings.Contains(n.Content, "pb://(hidden)") {
		t.Errorf("placeholders missing: %q", n.Content)
	}
	// A very long message is cut, and a cap at the cut is still hidden.
	src.emit(api.Event{Type: "error", Folder: "Photos", Error: &api.FileError{Path: "x.jpg", Error: strings.Repeat("é", 390) + " " + wcap}})
	src.settle()
	got = wantCount(t, rec, 2)
	if c := []rune(got[1].Content); len(c) != 400 || c[399] != '…' || strings.Contains(got[1].Content, "ri6ar") {
		t.Errorf("long message: %d runes: %q", len(c), got[1].Content)
	}
}

// TestFirstSyncOfNewFolders: a folder added while the app runs is
// announced once, when first up to date; one there at start is not.
func TestFirstSyncOfNewFolders(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC))
	src := newSource(api.FolderStatus{Name: "Old", State: api.Starting})
	_, rec := start(t, src, clk)
	st := func(name, state string, files int) api.Event {
		return api.Event{Type: "status", Folder: name, Status: &api.FolderStatus{Name: name, Path: "/home/u/" + name, State: state, Files: files, Bytes: 2_100_000}}
	}
	src.emit(st("Old", api.UpToDate, 5), st("New", api.Starting, 0), st("New", api.Syncing, 3))
	src.settle()
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("before the first sync: %+v", got)
	}
	src.emit(st("New", api.UpToDate, 3), st("New", api.Syncing, 4), st("New", api.UpToDate, 4))
	src.settle()
	clk.Advance(2 * time.Minute)
	src.settle()
	got := wantCount(t, rec, 1)
	if got[0].Title != "New is synced" || got[0].Content != "The first sync of New (/home/u/New) finished: 3 files, 2.1 MB, on the grid and in step." {
		t.Errorf("first sync: %+v", got[0])
	}
}

// TestReachabilityChanges: the first verdict is the baseline, "unknown"
// is never told, a real change is told with the advice, and changes
// within the minute coalesce into one that says the latest verdict.
func TestReachabilityChanges(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC))
	src := newSource()
	n, rec := start(t, src, clk)
	report := func(v nat.Verdict, advice string) nat.Report {
		r := nat.Report{Verdict: v}
		if advice != "" {
			r.Advice = []nat.Advice{{ID: "x", Text: advice}}
		}
		return r
	}
	step := func(r nat.Report) {
		t.Helper()
		n.Reachability(r)
		if r.Verdict == nat.VerdictUnknown {
			src.settle() // ignored: nothing to wait for
			return
		}
		testkit.WaitFor(t, "verdict "+string(r.Verdict)+" handled", 5*time.Second, func() bool { return n.Verdict() == r.Verdict })
		src.settle()
	}
	step(report(nat.VerdictUnknown, ""))
	step(report(nat.VerdictPublic, ""))
	step(report(nat.VerdictUnknown, ""))
	step(report(nat.VerdictPublic, ""))
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("baseline told: %+v", got)
	}
	step(report(nat.VerdictNAT, "Forward port 3456 on your router to this computer."))
	got := wantCount(t, rec, 1)
	if got[0].Title != "Reachability changed: behind NAT" ||
		got[0].Content != "Other computers: they cannot connect to this computer (behind NAT); it still syncs through connections it opens (it was public). Forward port 3456 on your router to this computer." {
		t.Errorf("change: %+v", got[0])
	}
	step(report(nat.VerdictOffline, ""))
	step(report(nat.VerdictMapped, ""))
	wantCount(t, rec, 1)
	clk.Advance(time.Minute)
	got = wantCount(t, rec, 2)
	if got[1].Title != "Reachability changed: public via port mapping" || !strings.Contains(got[1].Content, "(It changed 2 times in the last minutes.)") {
		t.Errorf("coalesced: %+v", got[1])
	}
}

// TestStartSendsThroughTheApp: with no Send, notifications go to the
// fyne app's SendNotification.
func TestStartSendsThroughTheApp(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	src := newSource()
	ctx, cancel := context.WithCancel(context.Background())
	n := notify.Start(ctx, a, src, notify.Options{})
	defer func() { cancel(); <-n.Done() }()
	test.AssertNotificationSent(t, &fyne.Notification{Title: "Conflict in Docs",
		Content: "a.txt changed here and on another device. Both versions are kept (the other one as a.sync-conflict-20261202-130405-devB.txt): open Conflicts to choose."},
		func() {
			src.emit(conflict("Docs", "a.txt"))
			src.settle()
		})
}

// FollowReach hands each report the node publishes to the notifier.
func TestFollowReach(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC))
	src := newSource()
	n, rec := start(t, src, clk)
	var mu sync.Mutex
	cur, changed := nat.Report{Verdict: nat.VerdictPublic}, make(chan struct{})
	get := func() nat.Report { mu.Lock(); defer mu.Unlock(); return cur }
	ch := func() <-chan struct{} { mu.Lock(); defer mu.Unlock(); return changed }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); notify.FollowReach(ctx, n, ch, get) }()
	defer func() { cancel(); <-done }()
	testkit.WaitFor(t, "the baseline taken", 5*time.Second, func() bool { return n.Verdict() == nat.VerdictPublic })
	mu.Lock()
	cur = nat.Report{Verdict: nat.VerdictCGNAT}
	close(changed)
	changed = make(chan struct{})
	mu.Unlock()
	got := wantCount(t, rec, 1)
	if n.Verdict() != nat.VerdictCGNAT || got[0].Title != "Reachability changed: behind double NAT / CGNAT" {
		t.Errorf("%+v", got[0])
	}
}
