package watch

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/lafssync/lafssync/internal/clock/clocktest"
	"github.com/lafssync/lafssync/internal/testkit"
)

const wait = 10 * time.Second // bound on every wait for the watcher

// fast are real-clock options short enough for tests.
func fast() Options {
	return Options{Debounce: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond}
}

func start(t *testing.T, root string, o Options) *Watcher {
	t.Helper()
	w, err := New(context.Background(), root, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	b := next(t, w)
	if !b.Full || len(b.Paths) != 0 {
		t.Fatalf("first batch %+v, want Full", b)
	}
	return w
}

// next is the next batch, failing after wait.
func next(t *testing.T, w *Watcher) Batch {
	t.Helper()
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	select {
	case b, ok := <-w.C():
		if !ok {
			t.Fatal("C closed")
		}
		return b
	case <-timeout.C:
		t.Fatalf("no batch within %v", wait)
	}
	return Batch{}
}

// covered says whether b asks for rel to be rescanned: rel or a
// directory above it is in b.Paths. Full does not count: a test that
// got only Full batches would prove nothing.
func covered(b Batch, rel string) bool {
	for _, p := range b.Paths {
		if p == rel || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}

// until reads batches until every rel in want is covered, failing on a
// Full batch, after wait, or if a path in never is reported.
func until(t *testing.T, w *Watcher, want []string, never ...string) []Batch {
	t.Helper()
	left := map[string]bool{}
	for _, r := range want {
		left[r] = true
	}
	var got []Batch
	deadline := time.Now().Add(wait)
	for len(left) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after %v, not reported: %v (batches %+v)", wait, keys(left), got)
		}
		b := next(t, w)
		got = append(got, b)
		if b.Full {
			t.Fatalf("unexpected Full batch (after %+v)", got)
		}
		for r := range left {
			if covered(b, r) {
				delete(left, r)
			}
		}
		for _, n := range never {
			for _, p := range b.Paths {
				if p == n {
					t.Fatalf("%q reported: %+v", n, b)
				}
			}
		}
	}
	return got
}

func keys(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	return s
}

func write(t *testing.T, root, rel, data string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// touch creates an empty file: one event (IN_CREATE), so that a fake-clock
// test that waits for it knows no other event of it is still coming.
func touch(t *testing.T, root, rel string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(root, filepath.FromSlash(rel)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func mkdir(t *testing.T, root, rel string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(rel)), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestFileChangesReported(t *testing.T) {
	root := t.TempDir()
	write(t, root, "old.txt", "x")
	write(t, root, "sub/gone.txt", "x")
	write(t, root, "sub/from.txt", "x")
	w := start(t, root, fast())
	if s := w.Status(); s.Mode != "watching" || s.Watches != 2 || s.Message != "" {
		t.Fatalf("Status = %+v, want watching 2 directories", s)
	}

	write(t, root, "new.txt", "hello")
	until(t, w, []string{"new.txt"})

	write(t, root, "old.txt", "changed")
	until(t, w, []string{"old.txt"})

	if err := os.Remove(filepath.Join(root, "sub", "gone.txt")); err != nil {
		t.Fatal(err)
	}
	until(t, w, []string{"sub/gone.txt"})

	if err := os.Rename(filepath.Join(root, "sub", "from.txt"), filepath.Join(root, "to.txt")); err != nil {
		t.Fatal(err)
	}
	until(t, w, []string{"sub/from.txt", "to.txt"})

	if err := os.Chmod(filepath.Join(root, "to.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	until(t, w, []string{"to.txt"})
}

func TestNewDirectoryWithFilesCreatedAtOnce(t *testing.T) {
	root := t.TempDir()
	w := start(t, root, fast())
	// Created faster than the watcher can add watches: the files inside
	// are found by the rescan that the directory's path asks for.
	write(t, root, "a/b/c/f.txt", "x")
	write(t, root, "a/b/g.txt", "x")
	until(t, w, []string{"a/b/c/f.txt", "a/b/g.txt"})
	testkit.WaitFor(t, "a, a/b and a/b/c watched", wait, func() bool { return w.Status().Watches == 4 })

	// The new directories are watched: a later file is reported.
	write(t, root, "a/b/c/later.txt", "x")
	until(t, w, []string{"a/b/c/later.txt"})
}

func TestDeepTree(t *testing.T) {
	root := t.TempDir()
	var parts []string
	for i := range 40 {
		parts = append(parts, fmt.Sprintf("d%d", i))
	}
	deep := strings.Join(parts, "/")
	mkdir(t, root, deep)
	w := start(t, root, fast())
	if n := w.Status().Watches; n != 41 {
		t.Fatalf("Watches = %d, want 41", n)
	}
	write(t, root, deep+"/leaf.txt", "x")
	b := until(t, w, []string{deep + "/leaf.txt"})
	if !covered(Batch{Paths: []string{deep + "/leaf.txt"}}, b[len(b)-1].Paths[0]) {
		t.Fatalf("reported %v, want the file's own path", b[len(b)-1].Paths)
	}

	// Removing the tree drops its watches.
	if err := os.RemoveAll(filepath.Join(root, "d0")); err != nil {
		t.Fatal(err)
	}
	until(t, w, []string{"d0"})
	testkit.WaitFor(t, "the removed tree's watches dropped", wait, func() bool { return w.Status().Watches == 1 })
}

func TestRenamedDirectoryReportsNewPaths(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "d/s")
	w := start(t, root, fast())
	if err := os.Rename(filepath.Join(root, "d"), filepath.Join(root, "e")); err != nil {
		t.Fatal(err)
	}
	until(t, w, []string{"d", "e"})
	// Events inside the moved tree carry its new name, not the old one
	// (inotify keeps a moved directory's watch; reused, it would report
	// d/s/new.txt).
	write(t, root, "e/s/new.txt", "x")
	until(t, w, []string{"e/s/new.txt"}, "d/s/new.txt", "d/s", "d")
	if n := w.Status().Watches; n != 3 {
		t.Fatalf("Watches = %d after the rename, want 3 (root, e, e/s)", n)
	}
}

func TestSkip(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "ignored/inner")
	mkdir(t, root, "kept")
	o := fast()
	o.Skip = func(rel string, isDir bool) bool {
		return rel == "ignored" || strings.HasPrefix(rel, "ignored/") || strings.HasPrefix(path.Base(rel), ".tmp-")
	}
	w := start(t, root, o)
	if n := w.Status().Watches; n != 2 {
		t.Fatalf("Watches = %d, want 2 (root and kept; not ignored/...)", n)
	}
	// Events come in order: when the marker is reported, the skipped
	// paths' events, had there been any, came before.
	write(t, root, "ignored/inner/x", "x")
	write(t, root, ".tmp-download", "x")
	write(t, root, "kept/.tmp-2", "x")
	mkdir(t, root, "kept/ignored") // Skip says no for "kept/ignored"
	write(t, root, "kept/marker", "x")
	until(t, w, []string{"kept/marker", "kept/ignored"}, ".tmp-download", "kept/.tmp-2", "ignored/inner/x", "ignored")
	if n := w.Status().Watches; n != 3 {
		t.Fatalf("Watches = %d, want 3", n)
	}
}

func TestOverflowAsksForFullScan(t *testing.T) {
	root := t.TempDir()
	o := fast()
	o.hooks = &hooks{errors: make(chan error)}
	w := start(t, root, o)
	o.hooks.errors <- fsnotify.ErrEventOverflow
	if b := next(t, w); !b.Full {
		t.Fatalf("after an overflow: %+v, want Full", b)
	}
	// Still watching afterwards.
	write(t, root, "after.txt", "x")
	until(t, w, []string{"after.txt"})
}

func TestTooManyPendingBecomeFull(t *testing.T) {
	root := t.TempDir()
	o := Options{Debounce: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond}
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	o.Clock = clk
	seen := make(chan string, 100)
	o.hooks = &hooks{maxPending: 5, onEvent: func(rel string) { seen <- rel }}
	w := start(t, root, o)
	for i := range 6 {
		touch(t, root, fmt.Sprintf("f%d", i))
	}
	waitSeen(t, seen, "f0", "f1", "f2", "f3", "f4", "f5")
	clk.Advance(time.Second)
	if b := next(t, w); !b.Full {
		t.Fatalf("6 paths pending with a limit of 5: %+v, want Full", b)
	}
}

// waitSeen waits until the loop has recorded an event on every rel.
func waitSeen(t *testing.T, seen <-chan string, rels ...string) {
	t.Helper()
	left := map[string]bool{}
	for _, r := range rels {
		left[r] = true
	}
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for len(left) > 0 {
		select {
		case r := <-seen:
			delete(left, r)
		case <-timeout.C:
			t.Fatalf("events not seen within %v: %v", wait, keys(left))
		}
	}
}

// noBatch fails if a batch is waiting. With the fake clock no timer can
// fire unless the test advances it, so "nothing now" is "nothing yet".
func noBatch(t *testing.T, w *Watcher, when string) {
	t.Helper()
	select {
	case b := <-w.C():
		t.Fatalf("%s: batch %+v sent early", when, b)
	default:
	}
}

func TestDebounceCoalescesBurst(t *testing.T) {
	root := t.TempDir()
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	seen := make(chan string, 1000)
	o := Options{Debounce: 200 * time.Millisecond, MaxDelay: 2 * time.Second, Clock: clk,
		hooks: &hooks{onEvent: func(rel string) { seen <- rel }}}
	w := start(t, root, o)
	var names []string
	for i := range 20 {
		names = append(names, fmt.Sprintf("burst%02d", i))
		touch(t, root, names[i])
	}
	waitSeen(t, seen, names...)
	clk.Advance(199 * time.Millisecond)
	// The timer that fires is the one armed for the first event, 200 ms
	// after it; wait until the loop re-armed it or sent the batch.
	noBatch(t, w, "199 ms after the burst")

	// Another write inside the quiet period postpones the batch.
	touch(t, root, "late")
	waitSeen(t, seen, "late")
	clk.Advance(time.Millisecond) // 200 ms after the burst, 1 ms after "late"
	testkit.WaitFor(t, "the debounce timer re-armed", wait, func() bool { return clk.Timers() == 2 })
	noBatch(t, w, "1 ms after the last write")
	clk.Advance(199 * time.Millisecond)
	b := next(t, w)
	if b.Full || len(b.Paths) != 21 {
		t.Fatalf("batch %+v, want the 21 paths in one batch", b)
	}
	noBatch(t, w, "after the batch")
}

func TestMaxDelayUnderContinuousWrites(t *testing.T) {
	root := t.TempDir()
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	seen := make(chan string, 1000)
	o := Options{Debounce: 100 * time.Millisecond, MaxDelay: time.Second, Clock: clk,
		hooks: &hooks{onEvent: func(rel string) { seen <- rel }}}
	w := start(t, root, o)
	// A new file every 50 ms: never quiet for 100 ms.
	var names []string
	for ms := 0; ms < 1000; ms += 50 {
		name := fmt.Sprintf("busy%04d", ms)
		names = append(names, name)
		touch(t, root, name)
		waitSeen(t, seen, name)
		noBatch(t, w, fmt.Sprintf("%d ms into continuous writes", ms))
		clk.Advance(50 * time.Millisecond)
	}
	// 1 s after the first event, MaxDelay.
	b := next(t, w)
	if strings.Join(b.Paths, ",") != strings.Join(names, ",") {
		t.Fatalf("batch %+v, want %v", b, names)
	}
}

func TestSlowReaderGetsMergedBatch(t *testing.T) {
	root := t.TempDir()
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	seen := make(chan string, 1000)
	o := Options{Debounce: 100 * time.Millisecond, Clock: clk,
		hooks: &hooks{onEvent: func(rel string) { seen <- rel }}}
	w := start(t, root, o) // read the first batch, then read nothing
	for i, name := range []string{"one", "two", "three"} {
		touch(t, root, name)
		waitSeen(t, seen, name)
		clk.Advance(100 * time.Millisecond)
		testkit.WaitFor(t, "batch sent", wait, func() bool { return w.flushes.Load() == int64(2+i) })
	}
	b := next(t, w)
	if strings.Join(b.Paths, ",") != "one,three,two" {
		t.Fatalf("merged batch %+v, want one, three, two", b)
	}
	noBatch(t, w, "after the merged batch")
}

func TestPeriodicRescanIsFull(t *testing.T) {
	root := t.TempDir()
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	w := start(t, root, Options{Clock: clk, Rescan: time.Hour})
	testkit.WaitFor(t, "rescan timer armed", wait, func() bool { return clk.Timers() == 1 })
	clk.Advance(time.Hour)
	if b := next(t, w); !b.Full {
		t.Fatalf("after the rescan period: %+v, want Full", b)
	}
}

func TestWatchLimitFallsBackToPolling(t *testing.T) {
	for _, tc := range []struct {
		name      string
		atStart   int // directories before New
		later     int // directories made after
		maxWatchs int
	}{
		{"at start", 5, 0, 3},
		{"while running", 1, 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for i := range tc.atStart - 1 {
				mkdir(t, root, fmt.Sprintf("d%d", i))
			}
			o := fast()
			o.PollInterval = 50 * time.Millisecond
			o.MaxWatches = tc.maxWatchs
			w := start(t, root, o)
			for i := range tc.later {
				mkdir(t, root, fmt.Sprintf("later%d", i))
			}
			testkit.WaitFor(t, "polling", wait, func() bool { return w.Status().Mode == "polling" })
			s := w.Status()
			if s.Watches != 0 || !strings.Contains(s.Message, "checking for changes every 50ms instead") || !strings.Contains(s.Message, root) {
				t.Fatalf("Status = %+v", s)
			}
			if runtime.GOOS == "linux" && (!strings.Contains(s.Message, "fs.inotify.max_user_watches = 3") ||
				!strings.Contains(s.Message, "sudo sysctl fs.inotify.max_user_watches=524288")) {
				t.Fatalf("message %q does not name the limit and the fix", s.Message)
			}
			// Polling: Full batches keep coming.
			for range 3 {
				if b := next(t, w); !b.Full {
					t.Fatalf("polling batch %+v, want Full", b)
				}
			}
		})
	}
}

func TestPollingReturnsToWatchingWhenTheWatchesFit(t *testing.T) {
	root := t.TempDir()
	for i := range 4 {
		mkdir(t, root, fmt.Sprintf("d%d", i))
	}
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	w := start(t, root, Options{Clock: clk, MaxWatches: 3, PollInterval: 10 * time.Second, Rescan: time.Hour})
	if s := w.Status(); s.Mode != "polling" || !strings.Contains(s.Message, "every 10 s instead (watching is tried again every hour") {
		t.Fatalf("Status = %+v", s)
	}
	clk.Advance(10 * time.Second)
	if b := next(t, w); !b.Full {
		t.Fatalf("poll: %+v, want Full", b)
	}
	// The folder shrinks to fit the limit; at the next rescan it is
	// watched again.
	for i := range 2 {
		if err := os.Remove(filepath.Join(root, fmt.Sprintf("d%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	testkit.WaitFor(t, "poll and rescan timers armed", wait, func() bool { return clk.Timers() == 2 })
	clk.Set(time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC))
	testkit.WaitFor(t, "watching again", wait, func() bool { return w.Status().Mode == "watching" })
	if s := w.Status(); s.Watches != 3 || s.Message != "" {
		t.Fatalf("Status = %+v, want watching 3 directories, no message", s)
	}
}

func TestIsLimit(t *testing.T) {
	if !isLimit(fmt.Errorf("add: %w", errENOSPC)) || !isLimit(errLimit) || isLimit(os.ErrNotExist) || isLimit(os.ErrPermission) {
		t.Fatal("isLimit wrong")
	}
}

func TestCloseAndCancelCloseC(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "a")
	for _, how := range []string{"Close", "cancel"} {
		t.Run(how, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w, err := New(ctx, root, fast())
			if err != nil {
				t.Fatal(err)
			}
			if how == "Close" {
				w.Close()
				w.Close() // twice is fine
			} else {
				cancel()
			}
			deadline := time.NewTimer(wait)
			defer deadline.Stop()
			for {
				select {
				case _, ok := <-w.C():
					if !ok {
						w.Close()
						w.Rewatch() // after Close: returns
						return
					}
				case <-deadline.C:
					t.Fatal("C not closed")
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	root := t.TempDir()
	if _, err := New(context.Background(), filepath.Join(root, "missing"), Options{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("New on a missing folder: %v", err)
	}
	write(t, root, "file", "x")
	if _, err := New(context.Background(), filepath.Join(root, "file"), Options{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("New on a file: %v", err)
	}
}

func TestRewatchFollowsSkip(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "a/b")
	mkdir(t, root, "c")
	var mu sync.Mutex
	skipped := "c"
	o := fast()
	o.Skip = func(rel string, _ bool) bool {
		mu.Lock()
		defer mu.Unlock()
		return rel == skipped || strings.HasPrefix(rel, skipped+"/")
	}
	w := start(t, root, o)
	if n := w.Status().Watches; n != 3 {
		t.Fatalf("Watches = %d, want 3", n)
	}
	mu.Lock()
	skipped = "a"
	mu.Unlock()
	w.Rewatch()
	if b := next(t, w); !b.Full {
		t.Fatalf("after Rewatch: %+v, want Full", b)
	}
	if n := w.Status().Watches; n != 2 {
		t.Fatalf("Watches = %d after Rewatch, want 2 (root and c)", n)
	}
	write(t, root, "c/x", "x")
	until(t, w, []string{"c/x"})
}

func TestFold(t *testing.T) {
	set := map[string]struct{}{}
	for _, p := range []string{"a", "a/b", "a/b/c", "a.txt", "b/c", "b/cd", "b/c/d"} {
		set[p] = struct{}{}
	}
	if got := strings.Join(fold(set), ","); got != "a,a.txt,b/c,b/cd" {
		t.Fatalf("fold = %s", got)
	}
}
