package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// A committer makes complete immutable shares durable and visible in
// groups (doc.go "Group commit"). It serves every Store of the process
// whose directory is on one filesystem: shares finishing while a flush is
// under way wait and go together in the next one.
//
// There is no goroutine: the first finisher to arrive leads, flushing
// what is queued; when done it hands the lead to the oldest waiter, so no
// request flushes more than the batch it was in.
type committer struct {
	// flush makes the named files or directories (and, where the platform
	// can, everything else on their filesystem) durable.
	flush func(paths []string) error
	// trace, if set, is called between the steps of a batch (tests).
	trace func(step string)

	mu    sync.Mutex // guards the fields below
	queue []*pending
	busy  bool // a leader is running a batch
	refs  int  // Stores using this committer (the registry's count)
	close func() error
}

// pending is one share waiting for its batch.
type pending struct {
	from, to string
	wake     chan struct{} // one send: done, or lead the next batch
	done     bool
	placed   bool // renamed into place (visible), whatever err says
	err      error
}

// maxBatch bounds one batch; the rest waits for the next.
const maxBatch = 512

// commit makes the closed, complete container at from durable, renames it
// to to and makes that durable. It returns when its batch is done. An
// error means the share was not confirmed stored; p.placed says whether
// it is visible all the same.
func (c *committer) commit(p *pending) error {
	p.wake = make(chan struct{}, 1)
	c.mu.Lock()
	c.queue = append(c.queue, p)
	if c.busy {
		c.mu.Unlock()
		<-p.wake
		if p.done {
			return p.err
		}
		c.mu.Lock() // handed the lead; busy is still set
	} else {
		c.busy = true
	}
	n := min(len(c.queue), maxBatch)
	batch := c.queue[:n:n]
	c.queue = append([]*pending(nil), c.queue[n:]...)
	c.mu.Unlock()

	c.run(batch)

	c.mu.Lock()
	if len(c.queue) > 0 {
		c.queue[0].wake <- struct{}{}
	} else {
		c.busy = false
	}
	c.mu.Unlock()
	return p.err
}

func (c *committer) step(s string) {
	if c.trace != nil {
		c.trace(s)
	}
}

// run is one batch: (1) one flush of every file, so each is on disk whole
// before (2) any is renamed into place, then (3) one flush of the
// directories the renames changed. Each share is told only after (3).
func (c *committer) run(batch []*pending) {
	defer func() {
		for _, p := range batch {
			p.done = true
			p.wake <- struct{}{}
		}
	}()
	files := make([]string, len(batch))
	for i, p := range batch {
		files[i] = p.from
	}
	if err := c.flush(files); err != nil {
		for _, p := range batch {
			p.err = fmt.Errorf("flush %d shares to disk: %w", len(batch), err)
		}
		return
	}
	c.step("files flushed")
	var dirs []string
	seen := map[string]bool{}
	addDir := func(d string) {
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	var placed []*pending
	for _, p := range batch {
		bucket := filepath.Dir(p.to)
		made, err := mkdirLeaf(bucket)
		if err == nil {
			err = os.Rename(p.from, p.to)
		}
		if err != nil {
			p.err = err
			continue
		}
		p.placed = true
		placed = append(placed, p)
		addDir(bucket)
		if made {
			addDir(filepath.Dir(bucket))
		}
		c.step("renamed")
	}
	if len(placed) == 0 {
		return
	}
	if err := c.flush(dirs); err != nil {
		for _, p := range placed {
			p.err = fmt.Errorf("flush the directories of %d shares to disk: %w", len(placed), err)
		}
		return
	}
	c.step("directories flushed")
}

// The registry: one committer per filesystem, shared by the Stores on it
// and dropped with the last of them.
var committers struct {
	mu sync.Mutex
	m  map[uint64]*committer
}

// committerFor returns the committer for the filesystem of dir, and a
// function that releases it, or nil where group commit is not available
// (then finish flushes each share on its own). Every directory the store
// renames between must be on that filesystem.
func committerFor(dirs ...string) (*committer, func()) {
	id, ok := sameFS(dirs)
	if !ok {
		return nil, nil
	}
	committers.mu.Lock()
	defer committers.mu.Unlock()
	c := committers.m[id]
	if c == nil {
		flush, closeFn, err := newFSFlusher(dirs[0])
		if err != nil {
			return nil, nil
		}
		c = &committer{flush: flush, close: closeFn}
		if committers.m == nil {
			committers.m = map[uint64]*committer{}
		}
		committers.m[id] = c
	}
	c.refs++
	var once sync.Once
	return c, func() {
		once.Do(func() {
			committers.mu.Lock()
			defer committers.mu.Unlock()
			c.refs--
			if c.refs == 0 {
				delete(committers.m, id)
				c.close()
			}
		})
	}
}

// fsyncPaths flushes each path on its own: files and directories.
func fsyncPaths(paths []string) error {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
	}
	return nil
}
