package store

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
)

// groupRig is stores sharing one committer whose flush the test controls:
// the first flush waits until the test has queued the others, so the
// others form one batch.
type groupRig struct {
	t      *testing.T
	dirs   []string
	stores []*Store
	c      *committer

	mu      sync.Mutex
	calls   int
	failAt  map[int]error // flush call number (from 1) -> error
	entered chan struct{}
	release chan struct{}
}

func newGroupRig(t *testing.T, n int) *groupRig {
	r := &groupRig{t: t, failAt: map[int]error{}, entered: make(chan struct{}), release: make(chan struct{})}
	r.c = &committer{flush: r.flush}
	root := t.TempDir()
	for i := range n {
		d := filepath.Join(root, strconv.Itoa(i))
		s := open(t, d, Options{})
		if s.release != nil {
			s.release()
		}
		s.com, s.release = r.c, nil
		r.dirs = append(r.dirs, d)
		r.stores = append(r.stores, s)
	}
	return r
}

func (r *groupRig) flush(paths []string) error {
	r.mu.Lock()
	r.calls++
	n := r.calls
	err := r.failAt[n]
	r.mu.Unlock()
	if n == 1 {
		close(r.entered)
		<-r.release
	}
	if err != nil {
		return err
	}
	return fsyncPaths(paths)
}

func shareData(i int) []byte { return bytes.Repeat([]byte{byte(i + 1)}, 1000+i) }

// shareOn is share i of the rig: on store i%len(stores), SI i.
func (r *groupRig) shareOn(i int) (*Store, storage.SI) {
	var si storage.SI
	si[0], si[1] = byte(i), 0xa5
	return r.stores[i%len(r.stores)], si
}

// visible is share i's bytes if it is listed on its store (nil if not).
func (r *groupRig) visible(i int) []byte {
	s, si := r.shareOn(i)
	return visible(r.t, s, i, si)
}

func (r *groupRig) allocate(n int) {
	for i := range n {
		s, si := r.shareOn(i)
		if a, err := s.AllocateBuckets(ctx, si, storage.LeaseSecrets{Renew: sec(1), Cancel: sec(2)}, sec(9), []int{i % 7}, uint64(len(shareData(i)))); err != nil || len(a.Allocated) != 1 {
			r.t.Fatalf("allocate %d: %+v %v", i, a, err)
		}
	}
}

// finishAll writes shares 0..n-1 whole, share 0 first and alone in its
// batch, the others while its flush waits, so they form the next batch.
// It returns each write's error.
func (r *groupRig) finishAll(n int) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	write := func(i int) {
		defer wg.Done()
		s, si := r.shareOn(i)
		done, err := s.WriteShare(ctx, si, i%7, sec(9), 0, shareData(i))
		if err == nil && !done {
			err = errors.New("not complete")
		}
		errs[i] = err
	}
	wg.Add(n)
	go write(0)
	select {
	case <-r.entered:
	case <-time.After(10 * time.Second):
		r.t.Fatal("first flush never came")
	}
	for i := 1; i < n; i++ {
		go write(i)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.c.mu.Lock()
		q := len(r.c.queue)
		r.c.mu.Unlock()
		if q == n-1 {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%d of %d shares queued", q, n-1)
		}
		time.Sleep(time.Millisecond)
	}
	close(r.release)
	wg.Wait()
	return errs
}

// visible is what a reader of store dir sees of share i: nil if absent,
// else the whole data (a partial or torn share fails the test).
func visible(t *testing.T, s *Store, i int, si storage.SI) []byte {
	t.Helper()
	have, err := s.ListShares(ctx, si)
	if err != nil {
		t.Fatal(err)
	}
	if len(have) == 0 {
		return nil
	}
	d, err := s.ReadShare(ctx, si, have[0], 0, 1<<20)
	if err != nil || !bytes.Equal(d, shareData(i)) {
		t.Fatalf("share %d visible but not whole: %d bytes, %v", i, len(d), err)
	}
	ls, err := shareLeases(s.sharePath(si, have[0]))
	if err != nil || len(ls) != 1 {
		t.Fatalf("share %d visible with leases %v, %v", i, ls, err)
	}
	return d
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A crash at any step of a batch (before its file flush, after it, after
// each rename, after the directory flush) leaves each share either
// absent or whole where readers look, and nothing of a batch is visible
// before its files are flushed. The crash image is a copy of the stores'
// directories taken at that step, opened by a new Store.
func TestGroupCommitCrashLeavesNoPartialShare(t *testing.T) {
	const n = 9
	r := newGroupRig(t, 3)
	r.allocate(n)
	type image struct {
		step string
		dirs []string
	}
	var images []image
	snap := func(step string) {
		im := image{step: step}
		for _, d := range r.dirs {
			c := filepath.Join(t.TempDir(), "img")
			copyTree(t, d, c)
			im.dirs = append(im.dirs, c)
		}
		images = append(images, im)
	}
	flush := r.c.flush
	r.c.flush = func(p []string) error { snap("before flush"); return flush(p) }
	r.c.trace = snap
	for i, err := range r.finishAll(n) {
		if err != nil {
			t.Fatalf("share %d: %v", i, err)
		}
	}
	if len(images) < 2*4+n-1 {
		t.Fatalf("%d crash images, want one per step", len(images))
	}
	sawPart := false
	for k, im := range images {
		stores := make([]*Store, len(im.dirs))
		for j, d := range im.dirs {
			stores[j] = open(t, d, Options{})
		}
		seen := 0
		for i := range n {
			var si storage.SI
			si[0], si[1] = byte(i), 0xa5
			if visible(t, stores[i%len(stores)], i, si) != nil {
				seen++
			}
		}
		t.Logf("image %d (%s): %d of %d shares visible", k, im.step, seen, n)
		switch {
		case k == 0 && seen != 0:
			t.Errorf("before the first flush %d shares visible", seen)
		case im.step == "files flushed" && k > 2 && seen != 1:
			// The second batch's files are flushed; only share 0 (the
			// first batch) may be in place.
			t.Errorf("image %d: %d shares visible right after the second batch's file flush, want 1", k, seen)
		case seen > 1 && seen < n:
			sawPart = true
		}
	}
	if !sawPart {
		t.Error("no image between the renames of a batch")
	}
	for i := range n {
		if r.visible(i) == nil {
			t.Errorf("share %d reported stored but not visible", i)
		}
	}
}

// Shares finishing together on several stores are all stored and
// visible, in two batches (the first share's, then the rest): four
// flushes for nine shares instead of eighteen.
func TestGroupCommitConcurrentFinishes(t *testing.T) {
	const n = 9
	r := newGroupRig(t, 3)
	r.allocate(n)
	for i, err := range r.finishAll(n) {
		if err != nil {
			t.Fatalf("share %d: %v", i, err)
		}
	}
	for i := range n {
		if r.visible(i) == nil {
			t.Errorf("share %d not visible", i)
		}
	}
	if r.calls != 4 {
		t.Errorf("%d flushes, want 4 (two batches of two)", r.calls)
	}
	if r.c.busy || len(r.c.queue) != 0 {
		t.Errorf("committer left busy=%v with %d queued", r.c.busy, len(r.c.queue))
	}
}

// A failed flush of a batch's files fails every share in it; none becomes
// visible, and writing the last bytes again completes them.
func TestGroupCommitFlushErrorFailsTheBatch(t *testing.T) {
	const n = 6
	r := newGroupRig(t, 2)
	r.allocate(n)
	eio := errors.New("input/output error")
	r.failAt[3] = eio // the second batch's file flush
	errs := r.finishAll(n)
	if errs[0] != nil {
		t.Fatalf("share 0 (first batch): %v", errs[0])
	}
	for i := 1; i < n; i++ {
		if !errors.Is(errs[i], eio) {
			t.Errorf("share %d: %v, want the flush error", i, errs[i])
		}
		if r.visible(i) != nil {
			t.Errorf("share %d visible after its flush failed", i)
		}
	}
	for i := 1; i < n; i++ {
		s, si := r.shareOn(i)
		d := shareData(i)
		done, err := s.WriteShare(ctx, si, i%7, sec(9), uint64(len(d)-1), d[len(d)-1:])
		if err != nil || !done {
			t.Fatalf("share %d retried: %v %v", i, done, err)
		}
		if visible(t, s, i, si) == nil {
			t.Errorf("share %d not visible after the retry", i)
		}
	}
}

// A failed flush of the directories fails every share of the batch,
// though each is in place whole (its data was flushed); the upload is
// over, so a retry is told the share is complete.
func TestGroupCommitDirectoryFlushErrorFailsTheBatch(t *testing.T) {
	const n = 5
	r := newGroupRig(t, 2)
	r.allocate(n)
	eio := errors.New("input/output error")
	r.failAt[4] = eio // the second batch's directory flush
	errs := r.finishAll(n)
	for i := 1; i < n; i++ {
		if !errors.Is(errs[i], eio) {
			t.Errorf("share %d: %v, want the flush error", i, errs[i])
		}
		s, si := r.shareOn(i)
		visible(t, s, i, si)
		d := shareData(i)
		if _, err := s.WriteShare(ctx, si, i%7, sec(9), 0, d); !errors.Is(err, storage.ErrComplete) {
			t.Errorf("share %d: write after: %v", i, err)
		}
	}
}

// The committer of the real filesystem is shared by the stores on it and
// released with the last one.
func TestCommitterRegistry(t *testing.T) {
	root := t.TempDir()
	a := open(t, filepath.Join(root, "a"), Options{})
	b := open(t, filepath.Join(root, "b"), Options{})
	if a.com == nil {
		t.Skip("no group commit on this platform")
	}
	if a.com != b.com {
		t.Fatal("two stores on one filesystem have two committers")
	}
	c := a.com
	a.Close()
	b.Close()
	committers.mu.Lock()
	defer committers.mu.Unlock()
	for _, x := range committers.m {
		if x == c {
			t.Errorf("committer kept after its last store closed, refs %d", c.refs)
		}
	}
}
