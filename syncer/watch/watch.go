// Package watch tells the folder sync which paths of a folder changed:
// fsnotify on every directory (it does not recurse, so the tree is walked
// and each new directory is watched, and rescanned, as it appears), bursts
// debounced, and a full rescan asked for when the kernel queue overflows.
// When the kernel's watch limit is hit (ENOSPC) it falls back to polling
// and says so in its Status.
//
// How it works: New walks the folder and adds a watch on every directory
// that Options.Skip does not exclude (symbolic links are not followed).
// One goroutine owns all state: it reads fsnotify's events, records the
// changed paths relative to the root, and sends them as one Batch once
// no event came for Options.Debounce, or Options.MaxDelay after the
// batch's first event if events keep coming. A directory that appears is
// watched at once (watch first, then list, so nothing created inside it
// in the meantime is missed) and reported as a directory path, which
// means "rescan it recursively". A path removed or renamed away is
// reported too; the engine rescans it and finds it gone. A directory
// that is removed or renamed loses its watches (its subtree's included),
// and its new name, if inside the folder, is watched afresh.
//
// A Full batch (scan everything) is sent first (the initial scan), when
// fsnotify reports an overflow or another error, when more than 10,000
// paths are pending, every Options.Rescan (the safety rescan, which also
// watches directories missed before), and every Options.PollInterval
// once the watcher has fallen back to polling.
//
// The fallback: when adding a watch fails because the system's limit is
// reached (ENOSPC from inotify on Linux, EMFILE/ENFILE from kqueue on
// macOS, or Options.MaxWatches in tests), the fsnotify watcher is closed,
// Status becomes Mode "polling" with a Message saying so and how to raise
// the limit, and a Full batch is sent every PollInterval. At every
// Options.Rescan it tries watching again (the user may have raised the
// limit); a restart of the folder tries at once.
//
// What it deliberately does not do: decide whether a change matters (the
// engine's scan compares with its records; events are only hints, and a
// spurious path costs a stat), wait for a file being written to be
// stable (the scan reports such files as unstable), follow symbolic
// links, or watch files one by one on Linux and Windows (directories
// report their entries' changes).
//
// CONTRACT (written by the coordinator before the implementation; the
// implementer may add to it but must keep these signatures and meanings).
package watch

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/lafssync/lafssync/internal/clock"
)

// Batch is a set of changed paths after a quiet period.
type Batch struct {
	// Paths are slash-separated, relative to the root, deduplicated; a
	// directory path means "rescan this directory recursively".
	Paths []string
	// Full asks for a scan of the whole folder (overflow, a new watch
	// root, a switch to polling, the periodic safety rescan).
	Full bool
}

// Options tune a watcher; zero values take the defaults.
type Options struct {
	// Debounce: a batch is sent once no event arrived for this long
	// (default 200 ms), and at most MaxDelay after its first event
	// (default 2 s) so a busy folder still syncs.
	Debounce, MaxDelay time.Duration
	// Rescan is the periodic safety rescan (default 1 h; a Full batch).
	Rescan time.Duration
	// PollInterval is the polling fallback's period (default 10 s).
	PollInterval time.Duration
	// Skip says whether a directory is not to be watched (ignored
	// directories, the engine's own temp files); nil watches everything.
	// Events on paths Skip excludes (files too) are dropped.
	Skip func(rel string, isDir bool) bool
	// MaxWatches, if > 0, pretends the kernel limit is this many watches
	// (tests of the ENOSPC fallback).
	MaxWatches int
	// Clock times the debounce, rescans and polls (nil: the real clock).
	Clock clock.Clock

	hooks *hooks // tests only
}

// hooks let the package's tests see inside the loop and feed it.
type hooks struct {
	errors     chan error       // delivered as if from fsnotify
	onEvent    func(rel string) // after an event was recorded
	maxPending int              // instead of MaxPending
}

// MaxPending is how many distinct paths a batch holds; more become Full.
const MaxPending = 10000

// Status is what the watcher is doing, for the folder's status.
type Status struct {
	Mode    string // "watching" or "polling"
	Watches int    // directories watched
	Message string // "" or, e.g., "the system's file-watch limit (fs.inotify.max_user_watches = 8192) is reached: checking for changes every 10 s instead. Raise it with: sudo sysctl fs.inotify.max_user_watches=524288"
}

// Watcher watches one folder.
type Watcher struct {
	root string // as given, cleaned; watch paths are root joined with rel
	o    Options
	clk  clock.Clock
	c    chan Batch // capacity 1; only the loop sends, and takes back
	ctl  chan func()
	stop context.CancelFunc
	done chan struct{}

	mu     sync.Mutex // guards status
	status Status

	flushes atomic.Int64 // batches sent (tests)

	// Owned by the loop goroutine (and by New before it starts).
	fsw        *fsnotify.Watcher              // nil once polling
	watched    map[string]bool                // rel of every watched directory
	children   map[string]map[string]struct{} // rel → its watched subdirectories
	pending    map[string]struct{}
	full       bool      // a Full batch is pending
	has        bool      // something is pending
	first      time.Time // first event of the pending batch
	last       time.Time // latest event
	due        clock.Timer
	polling    bool
	maxPending int
}

// New starts watching root. The first Batch is always Full (the initial
// scan). Batches are delivered on C until ctx ends or Close; C is closed
// then.
func New(ctx context.Context, root string, o Options) (*Watcher, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("watch %s: not a directory", root)
	}
	if o.Debounce <= 0 {
		o.Debounce = 200 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 2 * time.Second
	}
	if o.Rescan <= 0 {
		o.Rescan = time.Hour
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 10 * time.Second
	}
	w := &Watcher{
		root:       filepath.Clean(root),
		o:          o,
		clk:        clock.Or(o.Clock),
		c:          make(chan Batch, 1),
		ctl:        make(chan func()),
		done:       make(chan struct{}),
		watched:    make(map[string]bool),
		children:   make(map[string]map[string]struct{}),
		pending:    make(map[string]struct{}),
		maxPending: MaxPending,
		status:     Status{Mode: "watching"},
	}
	if o.hooks != nil && o.hooks.maxPending > 0 {
		w.maxPending = o.hooks.maxPending
	}
	w.fsw, err = fsnotify.NewWatcher()
	if err != nil {
		if !isLimit(err) {
			return nil, fmt.Errorf("watch %s: %w", root, err)
		}
		w.startPolling(err)
	} else {
		w.watchTree("")
	}
	w.markFull()
	ctx, w.stop = context.WithCancel(ctx)
	go w.loop(ctx)
	return w, nil
}

// C delivers batches. A slow reader never blocks the watcher: pending
// paths merge into the next batch (and too many become Full).
func (w *Watcher) C() <-chan Batch { return w.c }

// Status reports the current mode.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// Close stops watching and closes C.
func (w *Watcher) Close() error {
	w.stop()
	<-w.done
	return nil
}

// Rewatch walks the folder again, watching directories not yet watched
// and dropping the watches of those Skip now excludes, then sends a Full
// batch: for the engine to call after the ignore rules changed.
func (w *Watcher) Rewatch() {
	select {
	case w.ctl <- func() { w.rewatch() }:
	case <-w.done:
	}
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	defer close(w.c)
	defer func() {
		if w.fsw != nil {
			w.fsw.Close()
		}
		if w.due != nil {
			w.due.Stop()
		}
	}()
	rescan := w.clk.NewTimer(w.o.Rescan)
	defer func() { rescan.Stop() }()
	var poll clock.Timer
	if w.polling {
		poll = w.clk.NewTimer(w.o.PollInterval)
	}
	defer func() {
		if poll != nil {
			poll.Stop()
		}
	}()
	var injected chan error
	if w.o.hooks != nil {
		injected = w.o.hooks.errors
	}
	w.flush() // the first batch, Full, at once
	for {
		var events <-chan fsnotify.Event
		var errs <-chan error
		if w.fsw != nil {
			events, errs = w.fsw.Events, w.fsw.Errors
		}
		var dueC, pollC <-chan time.Time
		if w.due != nil {
			dueC = w.due.C()
		}
		if poll != nil {
			pollC = poll.C()
		}
		select {
		case <-ctx.Done():
			return
		case fn := <-w.ctl:
			fn()
		case ev, ok := <-events:
			if ok {
				w.event(ev)
			}
		case err, ok := <-errs:
			if ok {
				w.fsError(err)
			}
		case err := <-injected:
			w.fsError(err)
		case <-dueC:
			w.due = nil
			w.checkDue()
		case <-rescan.C():
			rescan = w.clk.NewTimer(w.o.Rescan)
			if w.polling && w.tryWatching() {
				poll.Stop()
				poll = nil
			}
			if !w.polling {
				w.rewatch()
			}
			w.markFull()
			w.flush()
		case <-pollC:
			poll = w.clk.NewTimer(w.o.PollInterval)
			w.markFull()
			w.flush()
		}
		if w.polling && poll == nil {
			// Just switched: the switch's own Full batch goes at once.
			poll = w.clk.NewTimer(w.o.PollInterval)
			w.flush()
		}
	}
}

// rel is the path of name relative to the root ("" for the root itself);
// ok is false for a name outside it.
func (w *Watcher) rel(name string) (string, bool) {
	r, err := filepath.Rel(w.root, name)
	if err != nil {
		return "", false
	}
	r = filepath.ToSlash(r)
	if r == "." {
		return "", true
	}
	if r == ".." || strings.HasPrefix(r, "../") {
		return "", false
	}
	return r, true
}

func (w *Watcher) abs(rel string) string {
	if rel == "" {
		return w.root
	}
	return filepath.Join(w.root, filepath.FromSlash(rel))
}

func (w *Watcher) skip(rel string, isDir bool) bool {
	return rel != "" && w.o.Skip != nil && w.o.Skip(rel, isDir)
}

// event records one fsnotify event.
func (w *Watcher) event(ev fsnotify.Event) {
	rel, ok := w.rel(ev.Name)
	if !ok {
		return
	}
	if rel == "" {
		// The root itself: removed, renamed or its mode changed. Only a
		// full scan can say what the folder looks like now.
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			w.markFull()
			w.arm()
		}
		return
	}
	isDir := w.watched[rel]
	if ev.Has(fsnotify.Create) && !isDir {
		if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
			isDir = true
		}
	}
	if w.skip(rel, isDir) {
		return
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		if w.watched[rel] {
			w.unwatchTree(rel)
		}
	}
	if ev.Has(fsnotify.Create) && isDir && !w.polling {
		// A directory renamed into place keeps its inode, whose watches
		// (if it was watched under its old name) must go first: inotify
		// would hand back the old watch, reporting the old paths.
		if w.watched[rel] {
			w.unwatchTree(rel)
		}
		w.watchTree(rel)
	}
	w.add(rel)
	if w.o.hooks != nil && w.o.hooks.onEvent != nil {
		w.o.hooks.onEvent(rel)
	}
}

// fsError handles an error from fsnotify: an overflow (or any other
// error: events may have been lost) asks for a full scan.
func (w *Watcher) fsError(err error) {
	_ = err // every error means events may be lost; the Full scan is the answer
	w.markFull()
	w.arm()
}

// add records rel as changed.
func (w *Watcher) add(rel string) {
	if !w.full {
		w.pending[rel] = struct{}{}
		if len(w.pending) > w.maxPending {
			w.full = true
			clear(w.pending)
		}
	}
	w.arm()
}

func (w *Watcher) markFull() {
	w.full = true
	clear(w.pending)
	w.has = true
}

// arm notes an event now and makes sure the due timer runs.
func (w *Watcher) arm() {
	now := w.clk.Now()
	if !w.has || w.first.IsZero() {
		w.first = now
	}
	w.has = true
	w.last = now
	if w.due == nil {
		w.due = w.clk.NewTimer(w.o.Debounce)
	}
}

// checkDue sends the pending batch if it is quiet or old enough, else
// sets the timer for when it will be.
func (w *Watcher) checkDue() {
	if !w.has {
		return
	}
	due := w.last.Add(w.o.Debounce)
	if lim := w.first.Add(w.o.MaxDelay); lim.Before(due) {
		due = lim
	}
	now := w.clk.Now()
	if now.Before(due) {
		w.due = w.clk.NewTimer(due.Sub(now))
		return
	}
	w.flush()
}

// flush sends what is pending. The channel has room for one batch and
// the loop is its only sender: if the reader has not taken the previous
// batch, the loop takes it back and sends the two merged, so the send
// never blocks.
func (w *Watcher) flush() {
	if !w.has {
		return
	}
	b := w.batch()
	w.has, w.full = false, false
	w.first, w.last = time.Time{}, time.Time{}
	clear(w.pending)
	if w.due != nil {
		w.due.Stop()
		w.due = nil
	}
	select {
	case w.c <- b:
	default:
		select {
		case old := <-w.c:
			b = w.merge(old, b)
		default: // the reader took it meanwhile
		}
		w.c <- b
	}
	w.flushes.Add(1)
}

// batch is the pending batch, paths inside a pending path folded.
func (w *Watcher) batch() Batch {
	if w.full {
		return Batch{Full: true}
	}
	return Batch{Paths: fold(w.pending)}
}

func (w *Watcher) merge(a, b Batch) Batch {
	if a.Full || b.Full || len(a.Paths)+len(b.Paths) > w.maxPending {
		return Batch{Full: true}
	}
	set := make(map[string]struct{}, len(a.Paths)+len(b.Paths))
	for _, p := range a.Paths {
		set[p] = struct{}{}
	}
	for _, p := range b.Paths {
		set[p] = struct{}{}
	}
	return Batch{Paths: fold(set)}
}

// fold lists set sorted, without the paths that have an ancestor in set
// (a path in a batch is rescanned recursively).
func fold(set map[string]struct{}) []string {
	out := make([]string, 0, len(set))
	for p := range set {
		covered := false
		for d := path.Dir(p); d != "." && d != "/" && d != ""; d = path.Dir(d) {
			if _, ok := set[d]; ok {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// watchTree watches directory rel and every directory under it (Skip
// permitting), each watched before it is listed.
func (w *Watcher) watchTree(rel string) {
	stack := []string{rel}
	for len(stack) > 0 && !w.polling {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if w.watched[d] || w.skip(d, true) {
			continue
		}
		if err := w.watch(d); err != nil {
			if isLimit(err) {
				w.startPolling(err)
				return
			}
			continue // gone, not a directory, permission denied: the scan reports it
		}
		entries, err := os.ReadDir(w.abs(d))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() { // a symbolic link is not followed
				stack = append(stack, path.Join(d, e.Name()))
			}
		}
	}
}

// errLimit is the pretend kernel limit of Options.MaxWatches.
var errLimit = fmt.Errorf("the watch limit of Options.MaxWatches is reached: %w", errENOSPC)

func (w *Watcher) watch(rel string) error {
	if w.o.MaxWatches > 0 && len(w.watched) >= w.o.MaxWatches {
		return errLimit
	}
	if err := w.fsw.Add(w.abs(rel)); err != nil {
		return err
	}
	w.watched[rel] = true
	if rel != "" {
		p := parent(rel)
		if w.children[p] == nil {
			w.children[p] = make(map[string]struct{})
		}
		w.children[p][rel] = struct{}{}
	}
	w.setWatches()
	return nil
}

// unwatchTree drops the watches on rel and under it.
func (w *Watcher) unwatchTree(rel string) {
	if p := parent(rel); w.children[p] != nil {
		delete(w.children[p], rel)
		if len(w.children[p]) == 0 {
			delete(w.children, p)
		}
	}
	stack := []string{rel}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for c := range w.children[d] {
			stack = append(stack, c)
		}
		delete(w.children, d)
		if w.watched[d] {
			delete(w.watched, d)
			if w.fsw != nil {
				_ = w.fsw.Remove(w.abs(d)) // already gone if the directory was removed
			}
		}
	}
	w.setWatches()
}

// rewatch adds the watches missing and drops those Skip now excludes.
func (w *Watcher) rewatch() {
	if w.polling {
		w.markFull()
		w.arm()
		return
	}
	for rel := range w.watched {
		if w.watched[rel] && w.skip(rel, true) {
			w.unwatchTree(rel)
		}
	}
	// watchTree skips what is watched but must look inside it.
	stack := []string{""}
	for len(stack) > 0 && !w.polling {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !w.watched[d] {
			w.watchTree(d)
			continue
		}
		entries, err := os.ReadDir(w.abs(d))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if c := path.Join(d, e.Name()); e.IsDir() && !w.skip(c, true) {
				stack = append(stack, c)
			}
		}
	}
	w.markFull()
	w.arm()
}

func parent(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

func (w *Watcher) setWatches() {
	w.mu.Lock()
	w.status.Watches = len(w.watched)
	w.mu.Unlock()
}

// startPolling is the fallback once the watch limit is reached.
func (w *Watcher) startPolling(cause error) {
	if w.polling {
		return
	}
	w.polling = true
	if w.fsw != nil {
		w.fsw.Close()
		w.fsw = nil
	}
	clear(w.watched)
	clear(w.children)
	w.markFull()
	w.mu.Lock()
	w.status = Status{Mode: "polling", Message: limitMessage(w.root, cause, w.o.MaxWatches, w.o.PollInterval, w.o.Rescan)}
	w.mu.Unlock()
}

// tryWatching leaves polling if the watches now fit (the user raised the
// limit, or the folder shrank); false if still polling.
func (w *Watcher) tryWatching() bool {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return false
	}
	w.fsw, w.polling = fsw, false
	w.watchTree("")
	if w.polling {
		return false // the limit again; startPolling closed fsw and kept the message
	}
	w.mu.Lock()
	w.status = Status{Mode: "watching", Watches: len(w.watched)}
	w.mu.Unlock()
	return true
}

// every says "every 10 s".
func every(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "every hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("every %d h", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("every %d min", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("every %d s", d/time.Second)
	}
	return "every " + d.String()
}
