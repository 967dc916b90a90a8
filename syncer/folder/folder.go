// Package folder is the engine of one synced folder: one goroutine owns
// the folder's state and runs cycles — scan what the watcher reported,
// poll the grid (O(1) when nothing changed), decide per path from the
// local record, the local file and the grid entry, download, upload, and
// commit each directory's changes in one publish. Other goroutines only
// schedule work (Kick, Pause, Resume) and read its status.
//
// The decisions follow docs/sync-format.md: a file's version vector says
// whether the grid's version descends from the one this device last
// synced; when both sides changed, both copies are kept (the local one
// becomes a conflict copy); a grid delete removes a local file only if it
// is exactly the version the grid deleted; a local delete of every file at
// once pauses the folder and asks.
//
// Directories sync too, empty ones included (dirs.go): by presence, with
// a mark per directory as its base; a directory the grid removed goes
// here only with os.Remove, which never removes one that holds anything.
//
// What it deliberately does not do: it never follows symbolic links.
package folder

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/internal/clock"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/db"
	"github.com/lafssync/lafssync/syncer/ignore"
	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/scan"
	"github.com/lafssync/lafssync/syncer/watch"
)

// Config is one folder's engine.
type Config struct {
	Name   string
	Root   string // the local directory (absolute)
	Device string
	Remote *remote.Folder
	DB     *db.Folder
	Grid   remote.Grid
	// Keyer computes convergent keys (nil: from Grid.Immutable()).
	Keyer     scan.Keyer
	Retention remote.Retention
	// PollEvery is the grid poll period while the folder is active
	// (default 10 s). After a quiet spell (no local or grid change) the
	// period grows to QuietPollEvery (default 3 × PollEvery): a tenth of
	// the time since the last change, never below PollEvery. An idle
	// daemon with ten folders then asks the grid a third as often.
	PollEvery      time.Duration
	QuietPollEvery time.Duration
	// FullWalkEvery is the period of a whole-tree walk, the safety net
	// behind the journal (default 1 h).
	FullWalkEvery time.Duration
	Watch         watch.Options
	// Workers bounds concurrent uploads and downloads (default 4).
	Workers int
	Log     *slog.Logger
	Clock   clock.Clock
	// OnChange, if set, is called (from the engine's goroutine; it must
	// not block) whenever the status or an event changes.
	OnEvent func(api.Event)
}

// Folder is a running folder engine.
type Folder struct {
	cfg     Config
	log     *slog.Logger
	clk     clock.Clock
	ign     *ignore.Matcher
	watcher *watch.Watcher // set by Run
	kick    chan struct{}
	ctl     chan func()
	ready   chan struct{} // closed after the first cycle

	// Owned by the engine goroutine.
	localFull  bool
	localPaths map[string]bool
	relist     map[string]bool // grid directories to list again
	walkFull   bool
	since      uint64 // the grid generation last handled
	lastWalk   time.Time
	uploaded   map[[32]byte]string // content hash → cap uploaded by this engine
	backoff    time.Duration
	lastChange time.Time // the last cycle that had a local or grid change (sets the poll period)
	massOK     bool      // the user resumed after a mass-delete pause
	dirty      bool      // the records changed since the files were counted
	counter    uint64    // the highest own version counter used (db meta "counter")
	// unannounced are grid directories this engine is committing or
	// committed without a confirmed .lafssync/state update (db meta
	// "unannounced", written before the commit): a crash between a
	// publish and its state update must not leave the change unseen by
	// the other devices until their hourly full walk.
	unannounced map[string]bool
	// dirCand are the directories the next directory pass looks at besides
	// those the grid read shows: what scans saw (see syncDirs).
	dirCand map[string]bool
	// dirsLinked are the directories this cycle's commits made on the
	// grid (markDirs): the cycle's grid view, read before, lacks them.
	dirsLinked map[string]bool
	// dirsKnown: a directory pass ran after a whole-tree walk (db meta
	// dirsKnownKey). Until then (a database from before directories
	// synced) the first cycle walks the tree, so that the pass finds the
	// grid's directories listed rather than probing each one.
	dirsKnown bool

	mu sync.Mutex // guards st
	st status
}

// status is what Status reports; guarded by Folder.mu.
type status struct {
	state       string
	detail      string
	pausedUntil time.Time // zero: not paused; far future: until resumed
	pausedWhy   string
	lastCheck   time.Time
	health      remote.Health
	watcher     string
	watchMsg    string
	files       int
	bytes       int64
	progress    *progressState
	conflicts   []api.Conflict
	errors      map[string]api.FileError
	errConds    map[string]errCond // the listed errors that go by themselves (resolved.go)
	errSeq      uint64
	skipped     []api.Skipped
	ignoredEdit map[string]bool
	offlineWhy  string
	fatal       string // a folder-wide error (local folder missing)
	// activity is what the first cycle is doing, the detail of the
	// Starting state (a first scan of 100,000 files takes minutes).
	activity string
	// uploading is the detail while an upload chunk commits and between
	// chunks, when no transfer is in flight: the state is Syncing, not
	// the previous cycle's state (nor Starting) with no detail.
	uploading string
	// shownSyncing: the first cycle has shown Syncing (an upload chunk);
	// a later step of it (the grid read again after a chunk) is then
	// still Syncing, never Starting again.
	shownSyncing bool
}

var forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// New makes a folder engine; Run starts it.
func New(cfg Config) (*Folder, error) {
	if cfg.Remote == nil || cfg.DB == nil || cfg.Grid == nil || cfg.Root == "" || cfg.Device == "" {
		return nil, errors.New("folder: Remote, DB, Grid, Root and Device are required")
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = 10 * time.Second
	}
	if cfg.QuietPollEvery < cfg.PollEvery {
		cfg.QuietPollEvery = 3 * cfg.PollEvery
	}
	if cfg.FullWalkEvery <= 0 {
		cfg.FullWalkEvery = time.Hour
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Retention.Versions <= 0 {
		cfg.Retention.Versions = 10
	}
	if cfg.Retention.MaxAge <= 0 {
		cfg.Retention.MaxAge = 30 * 24 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Keyer == nil {
		g := cfg.Grid
		cfg.Keyer = func(size int64) (interface {
			Write([]byte) (int, error)
			Key() ([16]byte, error)
		}, error) {
			return g.Immutable().NewKeyHasher(size)
		}
	}
	f := &Folder{
		cfg: cfg, log: cfg.Log.With("folder", cfg.Name), clk: clock.Or(cfg.Clock),
		kick: make(chan struct{}, 1), ctl: make(chan func(), 16), ready: make(chan struct{}),
		localPaths: map[string]bool{}, relist: map[string]bool{}, unannounced: map[string]bool{}, dirCand: map[string]bool{}, dirsLinked: map[string]bool{}, uploaded: map[[32]byte]string{},
	}
	f.st.state = api.Starting
	f.st.activity = "getting ready: setting up the watch of the local folder"
	f.st.errors = map[string]api.FileError{}
	f.st.ignoredEdit = map[string]bool{}
	return f, nil
}

// Kick asks for a grid check now (the node reconnected, a test).
func (f *Folder) Kick() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Ready is closed once the first cycle (initial scan and grid check) ran.
func (f *Folder) Ready() <-chan struct{} { return f.ready }

// Pause stops syncing until until (zero: until Resume).
func (f *Folder) Pause(until time.Time) {
	if until.IsZero() {
		until = forever
	}
	f.mu.Lock()
	f.st.pausedUntil, f.st.pausedWhy = until, ""
	f.mu.Unlock()
	f.refreshState()
}

// Resume ends a pause; after a mass-delete pause it lets the deletes go
// to the grid.
func (f *Folder) Resume() {
	f.mu.Lock()
	wasMass := f.st.pausedWhy != ""
	f.st.pausedUntil, f.st.pausedWhy = time.Time{}, ""
	f.mu.Unlock()
	if wasMass {
		select {
		case f.ctl <- func() { f.massOK = true }:
		default:
		}
	}
	f.refreshState()
	f.Kick()
}

func (f *Folder) paused() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.pausedUntil.IsZero() {
		return false
	}
	if f.clk.Now().After(f.st.pausedUntil) {
		f.st.pausedUntil, f.st.pausedWhy = time.Time{}, ""
		return false
	}
	return true
}

// Run syncs until ctx ends.
func (f *Folder) Run(ctx context.Context) error {
	if fi, err := os.Stat(f.cfg.Root); err != nil || !fi.IsDir() {
		if err := os.MkdirAll(f.cfg.Root, 0o755); err != nil {
			return fmt.Errorf("folder %s: cannot make the local folder %s: %w", f.cfg.Name, f.cfg.Root, err)
		}
	}
	ign, err := ignore.New(f.cfg.Root)
	if ign == nil {
		// Syncing without the user's rules could upload what they keep
		// out on purpose.
		return fmt.Errorf("folder %s: cannot read its ignore rules (%v); fix or remove %s", f.cfg.Name, err, filepath.Join(f.cfg.Root, ignore.FileName))
	}
	if err != nil {
		f.setErr(ignore.FileName, err.Error(), "Fix the line in .lafsignore; the other lines apply.")
	}
	f.ign = ign
	if err := f.loadMeta(); err != nil {
		return err
	}
	if err := f.recoverLandings(); err != nil {
		f.log.Warn("database", "err", err)
	}
	f.removeTemps()
	wo := f.cfg.Watch
	if wo.Skip == nil && ign != nil {
		wo.Skip = func(rel string, isDir bool) bool { return ign.Ignored(rel, isDir) }
	}
	w, err := watch.New(ctx, f.cfg.Root, wo)
	if err != nil {
		return fmt.Errorf("folder %s: cannot watch %s: %w", f.cfg.Name, f.cfg.Root, err)
	}
	defer w.Close()
	f.watcher = w
	f.localFull = true
	f.walkFull = f.since == 0 || !f.dirsKnown
	f.dirty = true

	poll := f.clk.NewTimer(0)
	defer func() { poll.Stop() }()
	first := true
	for {
		// Wait for work.
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-w.C():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("folder %s: the watcher stopped", f.cfg.Name)
			}
			f.addBatch(b)
			if first {
				continue // the first cycle waits for the poll timer too (fires at once)
			}
		case <-f.kick:
		case fn := <-f.ctl:
			fn()
			continue
		case <-poll.C():
		}
		// Gather what else is ready without waiting.
		for more := true; more; {
			select {
			case b, ok := <-w.C():
				if ok {
					f.addBatch(b)
				} else {
					more = false
				}
			case fn := <-f.ctl:
				fn()
			default:
				more = false
			}
		}
		ws := w.Status()
		f.mu.Lock()
		f.st.watcher, f.st.watchMsg = ws.Mode, ws.Message
		f.mu.Unlock()

		if !f.paused() {
			local, gen := f.localFull || len(f.localPaths) > 0, f.since
			retry := f.cycle(ctx)
			if local || retry || f.since != gen {
				f.lastChange = f.clk.Now()
			}
			if ctx.Err() != nil {
				return nil
			}
			if retry {
				f.backoff = min(max(2*f.backoff, 2*time.Second), 5*time.Minute)
			} else {
				f.backoff = 0
			}
		}
		f.refreshState()
		if first {
			first = false
			close(f.ready)
		}
		poll.Stop()
		next := pollDelay(f.cfg.PollEvery, f.cfg.QuietPollEvery, f.clk.Now().Sub(f.lastChange))
		if f.backoff > 0 && f.backoff < next {
			next = f.backoff
		}
		if f.paused() {
			next = min(next, max(time.Until(f.pauseEnd()), time.Second))
		}
		poll = f.clk.NewTimer(next)
	}
}

// pollDelay is the wait before the next grid poll after quiet without a
// change: a tenth of it, between every and most. A change on another
// device is seen within 10 s while the folder is in use and within 30 s
// after five quiet minutes (the defaults).
func pollDelay(every, most, quiet time.Duration) time.Duration {
	return min(max(quiet/10, every), most)
}

func (f *Folder) pauseEnd() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.pausedUntil
}

func (f *Folder) addBatch(b watch.Batch) {
	if b.Full {
		f.localFull = true
		return
	}
	for _, p := range b.Paths {
		f.localPaths[p] = true
	}
}

// loadMeta reads the generation last handled.
func (f *Folder) loadMeta() error {
	return f.cfg.DB.View(func(tx *db.Tx) error {
		b, err := tx.GetMeta("generation")
		if err != nil {
			return err
		}
		if len(b) == 8 {
			f.since = binary.BigEndian.Uint64(b)
		}
		c, err := tx.GetMeta("counter")
		if err != nil {
			return err
		}
		if len(c) == 8 {
			f.counter = binary.BigEndian.Uint64(c)
		}
		u, err := tx.GetMeta("unannounced")
		if err != nil {
			return err
		}
		dk, err := tx.GetMeta(dirsKnownKey)
		if err != nil {
			return err
		}
		f.dirsKnown = dk != nil
		f.unannounced = map[string]bool{}
		for _, d := range strings.Split(string(u), "\n") {
			if d != "" {
				f.unannounced[strings.TrimPrefix(d, "/")] = true
			}
		}
		return nil
	})
}

// putUnannounced saves the unannounced set in tx. Each directory is stored
// with a leading slash, so the root ("") has a non-empty line.
func (f *Folder) putUnannounced(tx *db.Tx) error {
	ds := make([]string, 0, len(f.unannounced))
	for d := range f.unannounced {
		ds = append(ds, "/"+d)
	}
	sort.Strings(ds)
	return tx.PutMeta("unannounced", []byte(strings.Join(ds, "\n")))
}

// announce tells the other devices about directories whose commit may
// have published without its state update (see unannounced).
func (f *Folder) announce(ctx context.Context) error {
	if len(f.unannounced) == 0 || f.cfg.Remote.ReadOnly() {
		return nil
	}
	ds := make([]string, 0, len(f.unannounced))
	for d := range f.unannounced {
		ds = append(ds, d)
	}
	if err := f.cfg.Remote.Announce(ctx, ds); err != nil {
		return err
	}
	f.log.Info("announced changes a crash or an error may have left unseen", "dirs", len(ds))
	clear(f.unannounced)
	return f.cfg.DB.Update(f.putUnannounced)
}

func (f *Folder) saveGeneration(gen uint64) error {
	f.since = gen
	b := binary.BigEndian.AppendUint64(nil, gen)
	return f.cfg.DB.Update(func(tx *db.Tx) error { return tx.PutMeta("generation", b) })
}

// removeTemps deletes the temporary files of downloads a crash cut short
// (only this engine writes names with ignore.TempPrefix in the folder).
func (f *Folder) removeTemps() {
	n := 0
	_ = filepath.WalkDir(f.cfg.Root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), ignore.TempPrefix) {
			if os.Remove(p) == nil {
				n++
			}
		}
		return nil
	})
	if n > 0 {
		f.log.Info("removed the temporary files of interrupted downloads", "count", n)
	}
}
