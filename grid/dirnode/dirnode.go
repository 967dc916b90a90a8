package dirnode

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/internal/clock"
)

// File is the mutable file a directory lives in; *mutable.File is one.
type File interface {
	Read(ctx context.Context) ([]byte, mutable.Version, error)
	Replace(ctx context.Context, data []byte, basedOn mutable.Version) (mutable.Version, error)
}

// Errors callers decide on.
var (
	ErrNotFound = errors.New("no such entry")
	ErrExists   = errors.New("entry already exists")
	ErrReadOnly = errors.New("directory is read-only")
	// ErrBusy means other writers kept winning for every retry.
	ErrBusy = errors.New("directory changed by others on every attempt")
)

// MaxAttempts bounds the read-modify-write retries of one operation.
const MaxAttempts = 12

// Directory is a mutable directory. It is safe for concurrent use; its
// operations serialise through the file's versions, not a lock.
type Directory struct {
	file     File
	cap      cap.Cap     // DIR2 or DIR2-MDMF, write or read-only
	writeKey []byte      // nil when read-only
	clock    clock.Clock // for link timestamps; nil is clock.Real

	mu     sync.Mutex // guards cached and ver
	cached Entries
	ver    mutable.Version
}

// New wraps the mutable file f that the directory cap c names.
func New(f File, c cap.Cap) (*Directory, error) {
	d, ok := c.(*cap.Dir)
	if !ok || !c.IsMutable() {
		return nil, fmt.Errorf("%s is not a mutable directory cap", c.Kind())
	}
	dir := &Directory{file: f, cap: c}
	switch m := d.File.(type) {
	case *cap.Mutable:
		dir.writeKey = append([]byte(nil), m.WriteKey[:]...)
	case *cap.MutableRO:
	default:
		return nil, fmt.Errorf("%s cannot be opened as a directory", c.Kind())
	}
	return dir, nil
}

// Cap is the directory's cap (a secret).
func (d *Directory) Cap() cap.Cap { return d.cap }

// ReadOnly reports whether the directory was opened without its write key.
func (d *Directory) ReadOnly() bool { return d.writeKey == nil }

// load reads the current entries.
func (d *Directory) load(ctx context.Context) (Entries, mutable.Version, error) {
	data, ver, err := d.file.Read(ctx)
	if err != nil {
		return nil, ver, err
	}
	d.mu.Lock()
	if d.cached != nil && d.ver == ver {
		es := d.cached
		d.mu.Unlock()
		return es, ver, nil
	}
	d.mu.Unlock()
	es, err := Unpack(data, d.writeKey, false)
	if err != nil {
		return nil, ver, fmt.Errorf("directory %s: %w", cap.Redacted(d.cap), err)
	}
	d.remember(es, ver)
	return es, ver, nil
}

func (d *Directory) remember(es Entries, ver mutable.Version) {
	d.mu.Lock()
	d.cached, d.ver = es, ver
	d.mu.Unlock()
}

// List returns the entries, sorted by name. The entries are copies.
func (d *Directory) List(ctx context.Context) ([]string, Entries, error) {
	es, _, err := d.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := Entries{}
	names := make([]string, 0, len(es))
	for n, e := range es {
		names = append(names, n)
		out[n] = &Entry{ReadCap: e.ReadCap, WriteCap: e.WriteCap, Metadata: e.Metadata}
	}
	sort.Strings(names)
	return names, out, nil
}

// Get returns one entry (a copy).
func (d *Directory) Get(ctx context.Context, name string) (*Entry, error) {
	es, _, err := d.load(ctx)
	if err != nil {
		return nil, err
	}
	e, ok := es[Normalize(name)]
	if !ok {
		return nil, fmt.Errorf("%q: %w", name, ErrNotFound)
	}
	return &Entry{ReadCap: e.ReadCap, WriteCap: e.WriteCap, Metadata: e.Metadata}, nil
}

// Modify applies fn to the current entries and writes the result, as one
// read-modify-write. If another writer changed the directory meanwhile, it
// re-reads and applies fn again, up to MaxAttempts times. fn may be called
// several times; it must change entries by assigning or deleting map
// elements (never by mutating an *Entry in place).
func (d *Directory) Modify(ctx context.Context, fn func(Entries) error) error {
	return d.modify(ctx, func(es Entries, _ bool) error { return fn(es) })
}

// modify is Modify whose fn also learns whether an earlier attempt's write
// reported a conflict (and so may have landed after all).
//
// Failures are of three kinds. A conflict (another writer got in first)
// is retried at once after a short jittered pause. A transient failure
// (servers unreachable, too few shares answering while other writers
// replace them, a server call timing out; see transient) is retried with
// a growing back-off, at most maxTransient times, within the same
// MaxAttempts budget. Anything else (a malformed directory, a file not on
// the grid, a read-only cap, a full or refusing server) fails at once.
func (d *Directory) modify(ctx context.Context, fn func(es Entries, afterConflict bool) error) error {
	if d.writeKey == nil {
		return ErrReadOnly
	}
	transients := 0
	var lastErr error
	for attempt := 0; attempt < MaxAttempts; attempt++ {
		err := d.attempt(ctx, attempt, fn)
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		lastErr = err
		var wait time.Duration
		switch {
		case errors.Is(err, mutable.ErrUncoordinated):
			// Someone else wrote: back off a little (jittered,
			// growing) and redo the change on top of theirs.
			wait = time.Duration(rand.IntN(5+attempt*10)) * time.Millisecond
		case transient(ctx, err) && transients < maxTransient:
			transients++
			wait = transientBackoff(transients)
		case transients > 0:
			return fmt.Errorf("directory %s: %w (after %d attempts)", cap.Redacted(d.cap), err, attempt+1)
		default:
			return err
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
	if errors.Is(lastErr, mutable.ErrUncoordinated) {
		return fmt.Errorf("directory %s: %w (%d attempts)", cap.Redacted(d.cap), ErrBusy, MaxAttempts)
	}
	return fmt.Errorf("directory %s: gave up after %d attempts; check that enough storage servers are reachable: %w",
		cap.Redacted(d.cap), MaxAttempts, lastErr)
}

// attempt is one read-modify-write of modify.
func (d *Directory) attempt(ctx context.Context, attempt int, fn func(es Entries, afterConflict bool) error) error {
	// The first attempt works from the cached version; if that is
	// stale, the write conflicts and later attempts read afresh.
	d.mu.Lock()
	es, ver := d.cached, d.ver
	d.mu.Unlock()
	fresh := false
	if es == nil || attempt > 0 {
		var err error
		if es, ver, err = d.load(ctx); err != nil {
			return err
		}
		fresh = true
	}
	work := make(Entries, len(es))
	for n, e := range es {
		work[n] = e
	}
	err := fn(work, attempt > 0)
	if err == nil {
		err = checkAdded(es, work)
	}
	if err != nil && !fresh {
		// Decided on a cached view (e.g. "no such entry"): check
		// against the current directory before answering.
		if es, ver, err = d.load(ctx); err != nil {
			return err
		}
		work = make(Entries, len(es))
		for n, e := range es {
			work[n] = e
		}
		if err = fn(work, attempt > 0); err == nil {
			err = checkAdded(es, work)
		}
	}
	if err != nil {
		return permanent{err}
	}
	data, err := Pack(work, d.writeKey, false)
	if err != nil {
		return permanent{err}
	}
	nv, err := d.file.Replace(ctx, data, ver)
	if err != nil {
		return err
	}
	d.remember(work, nv)
	return nil
}

// permanent marks an error of the caller's fn or of packing: the answer,
// never retried (an fn may well return a transient-looking error it got
// elsewhere).
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// maxTransient bounds the retries of one operation after transient
// failures; with transientBackoff they wait about 3 s in all.
const maxTransient = 6

// transientBackoff is the pause before the n-th retry (n ≥ 1) after a
// transient failure: 50 ms doubling, jittered down by up to a half.
func transientBackoff(n int) time.Duration {
	d := 50 * time.Millisecond << min(n-1, 10)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// transient reports whether err may go away by itself: a server
// unreachable or timing out, or too few shares answering (servers offline,
// or another writer replacing shares while they were read). A file not
// found on any server that answered, a read-only cap, a refusing or full
// server, a malformed directory and the caller's own errors are not.
func transient(ctx context.Context, err error) bool {
	var p permanent
	switch {
	case ctx.Err() != nil || errors.As(err, &p):
		return false
	case errors.Is(err, ErrReadOnly), errors.Is(err, mutable.ErrReadOnly),
		errors.Is(err, storage.ErrUnauthorized), errors.Is(err, storage.ErrNoSpace),
		errors.Is(err, storage.ErrTooLarge), errors.Is(err, storage.ErrReadOnly):
		return false
	case errors.Is(err, mutable.ErrNotFound):
		// Not found where some servers did not answer: the ones
		// holding it may be those.
		return errors.Is(err, storage.ErrUnavailable)
	}
	return errors.Is(err, storage.ErrUnavailable) || errors.Is(err, storage.ErrNotEnoughShares) ||
		errors.Is(err, mutable.ErrUncoordinated) || errors.Is(err, context.DeadlineExceeded)
}

// sleep waits d or until ctx is done (then it returns ctx.Err()).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// SetClock sets the clock for link timestamps (clock.Real by default).
// Call it before using the directory.
func (d *Directory) SetClock(c clock.Clock) { d.clock = c }

// linkMetadata merges user metadata with Tahoe's "tahoe" timestamps: the
// link's creation time is kept from the old entry, its modification time
// is now.
func (d *Directory) linkMetadata(old *Entry, user map[string]any) map[string]any {
	now := float64(clock.Or(d.clock).Now().UnixNano()) / 1e9
	md := map[string]any{}
	for k, v := range user {
		if k != "tahoe" {
			md[k] = v
		}
	}
	crtime := now
	if old != nil {
		if t, ok := old.Metadata["tahoe"].(map[string]any); ok {
			if c, ok := t["linkcrtime"].(float64); ok {
				crtime = c
			}
		} else if c, ok := old.Metadata["ctime"].(float64); ok {
			crtime = c
		}
	}
	md["tahoe"] = map[string]any{"linkcrtime": crtime, "linkmotime": now}
	return md
}

// Set links name to a child (adding or replacing). metadata is the user
// part (the syncer's own fields live here); the "tahoe" timestamps are
// maintained. With overwrite false an existing name is ErrExists.
func (d *Directory) Set(ctx context.Context, name, readCap, writeCap string, metadata map[string]any, overwrite bool) error {
	replace := ReplaceNothing
	if overwrite {
		replace = ReplaceAny
	}
	_, err := d.link(ctx, name, readCap, writeCap, metadata, replace)
	return err
}

// SetCap links name to a child cap, filling the read-cap column from it.
func (d *Directory) SetCap(ctx context.Context, name string, child cap.Cap, metadata map[string]any, overwrite bool) error {
	rc, wc := childCaps(child)
	return d.Set(ctx, name, rc, wc, metadata, overwrite)
}

// Delete unlinks name.
func (d *Directory) Delete(ctx context.Context, name string) error {
	n := Normalize(name)
	return d.modify(ctx, func(es Entries, afterConflict bool) error {
		if _, ok := es[n]; !ok {
			if afterConflict {
				return nil // our conflicted delete may have landed: confirm by writing
			}
			return fmt.Errorf("%q: %w", name, ErrNotFound)
		}
		delete(es, n)
		return nil
	})
}

// Rename moves an entry within the directory (one write), replacing the
// target if overwrite.
func (d *Directory) Rename(ctx context.Context, from, to string, overwrite bool) error {
	if err := CheckName(to); err != nil {
		return err
	}
	f, t := Normalize(from), Normalize(to)
	var moved *Entry
	return d.modify(ctx, func(es Entries, afterConflict bool) error {
		e, ok := es[f]
		if !ok {
			if afterConflict && moved != nil && es[t] != nil && es[t].ReadCap == moved.ReadCap && es[t].WriteCap == moved.WriteCap {
				return nil // our conflicted rename may have landed: confirm by writing
			}
			return fmt.Errorf("%q: %w", from, ErrNotFound)
		}
		moved = e
		if _, exists := es[t]; exists && !overwrite && f != t {
			return fmt.Errorf("%q: %w", to, ErrExists)
		}
		delete(es, f)
		es[t] = &Entry{ReadCap: e.ReadCap, WriteCap: e.WriteCap, Metadata: d.linkMetadata(e, userPart(e.Metadata))}
		return nil
	})
}

func userPart(md map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range md {
		if k != "tahoe" {
			out[k] = v
		}
	}
	return out
}

// Move moves an entry to another directory: it links into dst first, then
// unlinks from src, so a failure in between leaves the child in both
// directories, never in neither.
func Move(ctx context.Context, src *Directory, from string, dst *Directory, to string, overwrite bool) error {
	e, err := src.Get(ctx, from)
	if err != nil {
		return err
	}
	if err := dst.Set(ctx, to, e.ReadCap, e.WriteCap, userPart(e.Metadata), overwrite); err != nil {
		return fmt.Errorf("move %q: link into the target: %w", from, err)
	}
	if err := src.Delete(ctx, from); err != nil {
		return fmt.Errorf("move %q: linked into the target but not removed from the source: %w", from, err)
	}
	return nil
}

// Client makes and opens directories on a set of servers.
type Client struct {
	Servers []storage.Server
	Options mutable.Options
	Clock   clock.Clock // given to the directories made or opened; nil is clock.Real
}

func (c *Client) withClock(d *Directory, err error) (*Directory, error) {
	if d != nil {
		d.clock = c.Clock
	}
	return d, err
}

// Create makes a new, empty mutable directory (SDMF unless Options.Format
// says MDMF).
func (c *Client) Create(ctx context.Context) (*Directory, error) {
	f, err := mutable.Create(ctx, c.Servers, nil, c.Options)
	if err != nil {
		return nil, err
	}
	fc, err := cap.Parse(f.WriteCap())
	if err != nil {
		return nil, err
	}
	return c.withClock(New(f, &cap.Dir{File: fc}))
}

// Open opens a directory by its cap (DIR2, DIR2-RO, DIR2-MDMF, DIR2-MDMF-RO).
func (c *Client) Open(dirCap string) (*Directory, error) {
	dc, err := cap.Parse(dirCap)
	if err != nil {
		return nil, err
	}
	d, ok := dc.(*cap.Dir)
	if !ok || !dc.IsMutable() {
		return nil, fmt.Errorf("%s is not a mutable directory cap", dc.Kind())
	}
	f, err := mutable.Open(d.File.String(), c.Servers, c.Options)
	if err != nil {
		return nil, err
	}
	return c.withClock(New(f, dc))
}

// Mkdir creates a new directory and links it as name in d.
func (c *Client) Mkdir(ctx context.Context, d *Directory, name string, metadata map[string]any) (*Directory, error) {
	sub, err := c.Create(ctx)
	if err != nil {
		return nil, err
	}
	if err := d.SetCap(ctx, name, sub.Cap(), metadata, false); err != nil {
		return nil, err
	}
	return sub, nil
}

// MkdirAll walks a slash-separated path from d, creating the directories
// that are missing, and returns the last one.
func (c *Client) MkdirAll(ctx context.Context, d *Directory, path string) (*Directory, error) {
	cur := d
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		if part == "" {
			continue
		}
		e, err := cur.Get(ctx, part)
		switch {
		case errors.Is(err, ErrNotFound):
			next, err := c.Mkdir(ctx, cur, part, nil)
			if errors.Is(err, ErrExists) { // someone else made it meanwhile
				if e, err = cur.Get(ctx, part); err != nil {
					return nil, err
				}
				if next, err = c.openEntry(e, part); err != nil {
					return nil, err
				}
			} else if err != nil {
				return nil, err
			}
			cur = next
		case err != nil:
			return nil, err
		default:
			if cur, err = c.openEntry(e, part); err != nil {
				return nil, err
			}
		}
	}
	return cur, nil
}

func (c *Client) openEntry(e *Entry, name string) (*Directory, error) {
	s := e.WriteCap
	if s == "" {
		s = e.ReadCap
	}
	dc, err := cap.Parse(s)
	if err != nil || !dc.IsDir() {
		return nil, fmt.Errorf("%q is not a directory", name)
	}
	return c.Open(s)
}
