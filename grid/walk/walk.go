package walk

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/immutable"
)

// Lister reads a directory's entries.
type Lister interface {
	List(ctx context.Context, dir cap.Cap) (dirnode.Entries, error)
}

// Grid lists directories through the grid's directory and immutable-file
// clients.
type Grid struct {
	Dirs *dirnode.Client
	Imm  *immutable.Client
}

// List implements Lister for mutable (DIR2, DIR2-MDMF) and immutable
// (DIR2-CHK, DIR2-LIT) directories.
func (g Grid) List(ctx context.Context, dir cap.Cap) (dirnode.Entries, error) {
	if !dir.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir.Kind())
	}
	if !dir.IsMutable() {
		return dirnode.ReadImmutable(ctx, g.Imm, dir)
	}
	d, err := g.Dirs.Open(dir.String())
	if err != nil {
		return nil, err
	}
	_, es, err := d.List(ctx)
	return es, err
}

// Func is called once for every object reached, with its path from the
// root (nil for the root itself) and its cap: the write cap where the
// directory holding the link has one, else the read cap. For a directory,
// err is non-nil when it could not be listed (its children are then not
// visited). Func may be called from several goroutines at once; it must
// not keep path beyond the call. A Func error stops the walk and is
// returned by Walk.
type Func func(path []string, c cap.Cap, err error) error

// DefaultConcurrency is how many directories are listed (and Func calls
// made) at once unless Options say otherwise.
const DefaultConcurrency = 8

// Options tune a walk. The zero value is fine.
type Options struct {
	// Concurrency bounds the goroutines listing directories and calling
	// Func (default DefaultConcurrency).
	Concurrency int
}

// ErrNoDirectory is reported (wrapped) for a directory cap that cannot be
// listed because it only allows verification (a verify cap).
var ErrNoDirectory = errors.New("a verify cap cannot be listed")

// Walk visits root and everything reachable from it. It returns when every
// object has been visited, ctx is done (ctx.Err()), or fn returned an
// error (that error).
func Walk(ctx context.Context, dirs Lister, root cap.Cap, fn Func, opts Options) error {
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &walker{dirs: dirs, fn: fn, seen: map[string]bool{}}
	w.cond = sync.NewCond(&w.mu)
	w.push(item{c: root})
	stop := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer stop()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { w.work(ctx) })
	}
	wg.Wait()
	if w.err != nil {
		return w.err
	}
	return ctx.Err()
}

type item struct {
	path []string
	c    cap.Cap
}

type walker struct {
	dirs Lister
	fn   Func

	mu      sync.Mutex // guards the fields below
	cond    *sync.Cond // signalled when queue, pending or err change
	queue   []item     // reached, not yet visited
	pending int        // queued or being visited
	seen    map[string]bool
	err     error // the first Func error
}

// key identifies an object: its storage index, or for LIT (and unknown)
// caps, which have none, the cap itself. Keys stay in memory.
func key(c cap.Cap) string {
	if si, ok := c.StorageIndex(); ok {
		return "si:" + si.String()
	}
	return "cap:" + c.String()
}

// push queues c unless it was reached before. w.mu must be held (or the
// walk not started).
func (w *walker) push(it item) {
	k := key(it.c)
	if w.seen[k] {
		return
	}
	w.seen[k] = true
	w.queue = append(w.queue, it)
	w.pending++
	w.cond.Signal()
}

func (w *walker) work(ctx context.Context) {
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && w.pending > 0 && w.err == nil && ctx.Err() == nil {
			w.cond.Wait()
		}
		if len(w.queue) == 0 || w.err != nil || ctx.Err() != nil {
			w.mu.Unlock()
			return
		}
		// Depth first (LIFO) keeps the queue short in deep trees.
		it := w.queue[len(w.queue)-1]
		w.queue = w.queue[:len(w.queue)-1]
		w.mu.Unlock()

		children, err := w.visit(ctx, it)

		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
		}
		if w.err == nil {
			for _, ch := range children {
				w.push(ch)
			}
		}
		w.pending--
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// visit lists it if it is a directory, calls fn, and returns the children.
func (w *walker) visit(ctx context.Context, it item) ([]item, error) {
	if !it.c.IsDir() {
		return nil, w.fn(it.path, it.c, nil)
	}
	var es dirnode.Entries
	var err error
	if _, isVerifier := it.c.(*cap.Dir); isVerifier && it.c.ReadOnly() == nil {
		err = ErrNoDirectory
	} else {
		es, err = w.dirs.List(ctx, it.c)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if ferr := w.fn(it.path, it.c, err); ferr != nil || err != nil {
		return nil, ferr
	}
	names := make([]string, 0, len(es))
	for name := range es {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]item, 0, len(names))
	for i := len(names) - 1; i >= 0; i-- { // reversed: LIFO pops them in order
		e := es[names[i]]
		s := e.WriteCap
		if s == "" {
			s = e.ReadCap
		}
		if s == "" {
			continue
		}
		p := make([]string, len(it.path)+1)
		copy(p, it.path)
		p[len(it.path)] = names[i]
		out = append(out, item{path: p, c: cap.ParseChild(s)})
	}
	return out, nil
}
