package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/internal/clock"
)

// Names inside the hidden entry.
const (
	stateName   = "state"
	historyName = "history"
)

// walkConcurrency bounds the directories Walk reads at once.
const walkConcurrency = 8

// Folder is an opened folder root. Methods are safe for concurrent use.
type Folder struct {
	g        Grid
	device   string
	root     cap.Cap // the root directory's cap as opened (write or read)
	readOnly bool
	clock    clock.Clock

	mu     sync.Mutex        // guards hidden and shards
	hidden *hiddenCaps       // nil until found or made
	shards map[string]string // folder directory path → its history shard's cap

	// failAfterPublish: so many Commits still to stop after their
	// publish, before state (FailAfterPublish; crash tests).
	failAfterPublish atomic.Int32
}

// hiddenCaps are the caps under .lafssync (write caps in a read-write
// folder, read caps otherwise).
type hiddenCaps struct {
	dir, state, history string
}

// Create makes a new empty folder (root directory, .lafssync/state,
// .lafssync/history) and returns it with its write cap.
func Create(ctx context.Context, g Grid, device string) (*Folder, error) {
	f := &Folder{g: g, device: device}
	root, err := f.newDir(ctx)
	if err != nil {
		return nil, fmt.Errorf("create folder: make its root directory: %w", err)
	}
	f.root = root.Cap()
	if _, err := f.makeHidden(ctx, root); err != nil {
		return nil, fmt.Errorf("create folder: %w", err)
	}
	return f, nil
}

// Open opens a folder by its root cap (write cap: read-write; read cap:
// read-only). A directory without .lafssync is adopted (a plain Tahoe
// directory the user wants synced) when opened with a write cap: the hidden
// entry is created on the first Commit. Opened with a read cap, such a
// directory is followed as it is: every Poll says full.
//
// Open does not touch the grid (it works offline); a cap that is not a
// mutable directory's is ErrNoFolder.
func Open(ctx context.Context, g Grid, rootCap, device string) (*Folder, error) {
	c, err := cap.Parse(strings.TrimSpace(rootCap))
	if err != nil {
		return nil, fmt.Errorf("%w: the cap given is not valid (%v); copy it again from `lafs sync share`", ErrNoFolder, err)
	}
	if !c.IsDir() || !c.IsMutable() {
		what := "a file's cap"
		if c.IsDir() {
			what = "an immutable directory (a snapshot, which cannot change)"
		}
		return nil, fmt.Errorf("open folder: the cap given is %s, not a folder's directory cap (URI:DIR2… or URI:DIR2-MDMF…): %w", what, ErrNoFolder)
	}
	return &Folder{g: g, device: device, root: c, readOnly: c.IsReadOnly()}, nil
}

// SetClock sets the clock for history and journal times and retention
// (clock.Real by default). Call it before using the folder.
func (f *Folder) SetClock(c clock.Clock) { f.clock = c }

// Device is the device ID the folder writes as.
func (f *Folder) Device() string { return f.device }

// WriteCap is the root's write cap ("" when read-only). ReadCap is its
// read cap. ReadOnly says which.
func (f *Folder) WriteCap() string {
	if f.readOnly {
		return ""
	}
	return f.root.String()
}
func (f *Folder) ReadCap() string { return f.root.ReadOnly().String() }
func (f *Folder) ReadOnly() bool  { return f.readOnly }

// LogValue keeps the caps out of logs.
func (f *Folder) String() string { return "folder " + cap.Redacted(f.root) }

func (f *Folder) now() float64 {
	return float64(clock.Or(f.clock).Now().UnixMicro()) / 1e6
}

// mutableOptions are the options for a new mutable file, with its key
// from the grid's KeySource when it has one.
func (f *Folder) mutableOptions(ctx context.Context, dc *dirnode.Client) (mutable.Options, error) {
	opts := dc.Options
	if ks, ok := f.g.(KeySource); ok {
		k, err := ks.NewKey(ctx)
		if err != nil {
			return opts, fmt.Errorf("get a key for a new directory: %w", err)
		}
		opts.Key = k
	}
	return opts, nil
}

// newDir makes a new empty mutable directory.
func (f *Folder) newDir(ctx context.Context) (*dirnode.Directory, error) {
	dc := *f.g.Dirs()
	opts, err := f.mutableOptions(ctx, &dc)
	if err != nil {
		return nil, err
	}
	dc.Options = opts
	return dc.Create(ctx)
}

// open opens a directory by cap over the servers usable now.
func (f *Folder) open(dirCap string) (*dirnode.Directory, error) {
	return f.g.Dirs().Open(dirCap)
}

// childCap is the cap this folder uses for a child: its write cap when
// the folder is writable and the entry has one, else its read cap.
func (f *Folder) childCap(e *dirnode.Entry) string {
	if !f.readOnly && e.WriteCap != "" {
		return e.WriteCap
	}
	return cap.ParseChild(e.ReadCap).String()
}

// makeHidden creates .lafssync (state, history) and links it into root.
// If another device linked one first, theirs is used.
func (f *Folder) makeHidden(ctx context.Context, root *dirnode.Directory) (*hiddenCaps, error) {
	dc := *f.g.Dirs()
	opts, err := f.mutableOptions(ctx, &dc)
	if err != nil {
		return nil, err
	}
	opts.Format = cap.MDMF
	st, err := mutable.Create(ctx, dc.Servers, encodeState(&stateDoc{V: metaVersion}), opts)
	if err != nil {
		return nil, fmt.Errorf("make .lafssync/state: %w", err)
	}
	hist, err := f.newDir(ctx)
	if err != nil {
		return nil, fmt.Errorf("make .lafssync/history: %w", err)
	}
	hd, err := f.newDir(ctx)
	if err != nil {
		return nil, fmt.Errorf("make .lafssync: %w", err)
	}
	now := f.now()
	err = hd.Modify(ctx, func(es dirnode.Entries) error {
		stc, err := cap.Parse(st.WriteCap())
		if err != nil {
			return err
		}
		es[stateName] = linkEntry(stc, nil, map[string]any{}, now)
		es[historyName] = linkEntry(hist.Cap(), nil, dirMeta(), now)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fill .lafssync: %w", err)
	}
	if _, err := root.Link(ctx, StateName, hd.Cap(), dirMeta(), dirnode.ReplaceNothing); err != nil {
		if errors.Is(err, dirnode.ErrExists) {
			f.mu.Lock()
			f.hidden = nil
			f.mu.Unlock()
			return f.findHidden(ctx)
		}
		return nil, fmt.Errorf("link .lafssync into the folder's root: %w", err)
	}
	h := &hiddenCaps{dir: hd.Cap().String(), state: st.WriteCap(), history: hist.Cap().String()}
	f.mu.Lock()
	f.hidden = h
	f.mu.Unlock()
	return h, nil
}

// findHidden returns the caps under .lafssync, reading the root and
// .lafssync the first time; nil (and no error) when the folder has none.
func (f *Folder) findHidden(ctx context.Context) (*hiddenCaps, error) {
	f.mu.Lock()
	h := f.hidden
	f.mu.Unlock()
	if h != nil {
		return h, nil
	}
	root, err := f.open(f.root.String())
	if err != nil {
		return nil, err
	}
	e, err := get(ctx, root, StateName)
	if errors.Is(err, dirnode.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the folder's root directory: %w", err)
	}
	if !dirnode.IsDirEntry(e) {
		return nil, fmt.Errorf("the folder's %s entry is not a directory (a stock Tahoe user may have replaced it); rename it away with `tahoe mv`: %w", StateName, ErrNoFolder)
	}
	hd, err := f.open(f.childCap(e))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", StateName, err)
	}
	_, es, err := list(ctx, hd)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", StateName, err)
	}
	h = &hiddenCaps{dir: f.childCap(e)}
	if se := es[stateName]; se != nil {
		h.state = f.childCap(se)
	}
	if he := es[historyName]; he != nil && dirnode.IsDirEntry(he) {
		h.history = f.childCap(he)
	}
	f.mu.Lock()
	f.hidden = h
	f.mu.Unlock()
	return h, nil
}

// ensureHidden is findHidden that creates .lafssync in a writable folder
// without one (an adopted plain directory).
func (f *Folder) ensureHidden(ctx context.Context) (*hiddenCaps, error) {
	h, err := f.findHidden(ctx)
	if err != nil || h != nil {
		return h, err
	}
	root, err := f.open(f.root.String())
	if err != nil {
		return nil, err
	}
	return f.makeHidden(ctx, root)
}

// splitPath checks a slash-separated folder path and splits it ("" is the
// root).
func splitPath(p string) ([]string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil, nil
	}
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if part == "" || part == "." || part == ".." {
			return nil, fmt.Errorf("%q is not a folder path (empty, . or .. component)", p)
		}
		parts[i] = dirnode.Normalize(part)
	}
	if parts[0] == StateName {
		return nil, fmt.Errorf("%q: %s is the sync engine's own data, not part of the folder: %w", p, StateName, ErrNotFound)
	}
	return parts, nil
}

// resolve opens the directory at path, reading each ancestor afresh (a
// cached cap could name a directory another device has since unlinked).
func (f *Folder) resolve(ctx context.Context, path string) (*dirnode.Directory, error) {
	parts, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	cur, err := f.open(f.root.String())
	if err != nil {
		return nil, err
	}
	for i, part := range parts {
		e, err := get(ctx, cur, part)
		if errors.Is(err, dirnode.ErrNotFound) {
			return nil, fmt.Errorf("directory %q: %w", strings.Join(parts[:i+1], "/"), ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("read directory %q: %w", strings.Join(parts[:i], "/"), err)
		}
		if !isMutableDir(e) {
			return nil, fmt.Errorf("%q is a file, not a directory: %w", strings.Join(parts[:i+1], "/"), ErrNotFound)
		}
		if cur, err = f.open(f.childCap(e)); err != nil {
			return nil, fmt.Errorf("open directory %q: %w", strings.Join(parts[:i+1], "/"), err)
		}
	}
	return cur, nil
}

func isMutableDir(e *dirnode.Entry) bool {
	s := e.WriteCap
	if s == "" {
		s = e.ReadCap
	}
	c := cap.ParseChild(s)
	return c.IsDir() && c.IsMutable()
}

// toEntry is the engine's view of a directory entry.
func (f *Folder) toEntry(name string, e *dirnode.Entry) *Entry {
	out := &Entry{Name: name}
	if isMutableDir(e) {
		out.Dir = true
		out.Cap = f.childCap(e)
		return out
	}
	c := cap.ParseChild(e.ReadCap)
	out.Meta, out.Foreign = DecodeMeta(e.Metadata)
	switch c.Kind() {
	case cap.KindCHK, cap.KindLIT:
		out.Cap = c.String()
		if _, ok := e.Metadata["size"]; !ok || out.Foreign {
			out.Meta.Size = capSize(c)
		}
		return out
	}
	out.Foreign = true
	out.Meta.Ver, out.Meta.Hash = nil, [32]byte{}
	out.Cap = e.ReadCap
	if out.Cap == "" {
		out.Cap = e.WriteCap
	}
	switch {
	case e.ReadCap == "" && e.WriteCap == "":
		out.Bad = "the entry has no cap"
	case c.IsDir():
		out.Bad = "an immutable directory (snapshot): the folder sync only keeps mutable subdirectories in step"
	case c.IsMutable():
		out.Bad = "a mutable file: the folder sync only syncs immutable (CHK/LIT) files"
	case c.Kind() == cap.KindUnknown:
		out.Bad = "a cap this program does not know (garbage, or a newer kind)"
	default:
		out.Bad = fmt.Sprintf("a %s cap, which cannot be read as a file", c.Kind())
	}
	return out
}

func capSize(c cap.Cap) int64 {
	switch x := c.(type) {
	case *cap.CHK:
		return x.Size
	case *cap.LIT:
		return int64(len(x.Data))
	}
	return 0
}

// List reads one directory of the folder ("" = root; the root's
// .lafssync entry is never listed). ErrNotFound if it does not exist.
func (f *Folder) List(ctx context.Context, dir string) (map[string]*Entry, error) {
	d, err := f.resolve(ctx, dir)
	if err != nil {
		return nil, f.withHealth(fmt.Errorf("list %s: %w", showDir(dir), err))
	}
	_, es, err := list(ctx, d)
	if err != nil {
		return nil, f.withHealth(fmt.Errorf("list %s: %w", showDir(dir), err))
	}
	return f.entries(dir, es), nil
}

func (f *Folder) entries(dir string, es dirnode.Entries) map[string]*Entry {
	out := make(map[string]*Entry, len(es))
	for n, e := range es {
		if dir == "" && n == StateName {
			continue
		}
		out[n] = f.toEntry(n, e)
	}
	return out
}

// showDir names a folder directory for messages.
func showDir(dir string) string {
	if strings.Trim(dir, "/") == "" {
		return "the folder's root"
	}
	return fmt.Sprintf("directory %q", strings.Trim(dir, "/"))
}

func joinPath(dir, name string) string {
	dir = strings.Trim(dir, "/")
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// Walk visits every directory of the tree, parents before children, with
// bounded concurrency; fn gets each directory's entries. A directory that
// cannot be read is reported to fn with err set and its subtree skipped.
//
// Directories are read walkConcurrency at a time, level by level; fn is
// called from Walk's goroutine, one directory at a time, in path order
// within a level. fn returning fs.SkipDir skips that directory's subtree;
// any other error stops the walk and is returned. A directory reached a
// second time (linked twice, or a cycle) is visited once.
func (f *Folder) Walk(ctx context.Context, fn func(dir string, entries map[string]*Entry, err error) error) error {
	type node struct {
		path, cap string
		entries   map[string]*Entry
		err       error
	}
	seen := map[string]bool{f.root.String(): true}
	level := []*node{{path: "", cap: f.root.String()}}
	for len(level) > 0 {
		sem := make(chan struct{}, walkConcurrency)
		var wg sync.WaitGroup
		for _, n := range level {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				d, err := f.open(n.cap)
				if err == nil {
					var es dirnode.Entries
					if _, es, err = list(ctx, d); err == nil {
						n.entries = f.entries(n.path, es)
					}
				}
				if err != nil {
					n.err = f.withHealth(fmt.Errorf("read %s: %w", showDir(n.path), err))
				}
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
		var next []*node
		for _, n := range level {
			err := fn(n.path, n.entries, n.err)
			if errors.Is(err, fs.SkipDir) || n.err != nil && err == nil {
				continue
			}
			if err != nil {
				return err
			}
			names := make([]string, 0, len(n.entries))
			for name, e := range n.entries {
				if e.Dir {
					names = append(names, name)
				}
			}
			sort.Strings(names)
			for _, name := range names {
				c := n.entries[name].Cap
				if seen[c] {
					continue
				}
				seen[c] = true
				next = append(next, &node{path: joinPath(n.path, name), cap: c})
			}
		}
		sort.Slice(next, func(i, j int) bool { return next[i].path < next[j].path })
		level = next
	}
	return nil
}

// readAttempts bounds the reads of one directory or file that fail for
// too few good shares: servers being away, or a read that lost the race
// to other devices' publishes of the same directory more often than the
// mutable layer keeps trying (mutable.ErrChangedWhileReading, which says
// so rather than calling the shares corrupt). A moment later the read
// succeeds; this adds a short, growing pause between such rounds.
const readAttempts = 4

func readRetry(ctx context.Context, read func() error) error {
	var err error
	for attempt := 0; attempt < readAttempts; attempt++ {
		if err = read(); err == nil || !errors.Is(err, storage.ErrNotEnoughShares) {
			return err
		}
		d := time.Duration(10<<attempt)*time.Millisecond + time.Duration(rand.IntN(10))*time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
	}
	return err
}

// get reads one entry of d, retrying as readRetry does.
func get(ctx context.Context, d *dirnode.Directory, name string) (e *dirnode.Entry, err error) {
	err = readRetry(ctx, func() error {
		e, err = d.Get(ctx, name)
		return err
	})
	return e, err
}

// list reads d, retrying as readRetry does.
func list(ctx context.Context, d *dirnode.Directory) (names []string, es dirnode.Entries, err error) {
	err = readRetry(ctx, func() error {
		names, es, err = d.List(ctx)
		return err
	})
	return names, es, err
}

// withHealth adds what the grid looks like to an error from it, when too
// few servers are reachable: that, not the file, is then what the user
// must fix or wait for.
func (f *Folder) withHealth(err error) error {
	if err == nil {
		return nil
	}
	h := f.g.Health()
	if h.OK() {
		return err
	}
	if h.Reachable == 0 {
		return fmt.Errorf("%w (no storage server is connected yet, %d known; this is not lost data: the folder syncs once servers are reachable)", err, h.Known)
	}
	return fmt.Errorf("%w (only %d of %d storage servers are reachable and %d are needed; check the network connection, or wait: the folder catches up when they are back)", err, h.Reachable, h.Known, h.Happy)
}
