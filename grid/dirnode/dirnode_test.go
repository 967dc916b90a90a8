package dirnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"sort"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

var ctx = context.Background()

// keys are made once: RSA key generation is the slow part of creating
// directories, and it is not what these tests are about.
var (
	keysOnce sync.Once
	pool     *mutable.KeyPool
)

func newClient(t testing.TB) *Client {
	keysOnce.Do(func() { pool = mutable.NewKeyPool(8) })
	_, servers := mem.NewGrid(10)
	return &Client{Servers: servers, Options: mutable.Options{Pool: pool, LeaseSecret: []byte("l"), Logger: slog.New(slog.DiscardHandler)}}
}

func TestOperations(t *testing.T) {
	c := newClient(t)
	root, err := c.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if root.Cap().Kind() != cap.KindDir {
		t.Fatalf("new directory cap is %s", root.Cap().Kind())
	}
	fileCap := "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56"
	if err := root.Set(ctx, "a.txt", fileCap, "", map[string]any{"lafssync": map[string]any{"mtime": 5.0}}, false); err != nil {
		t.Fatal(err)
	}
	if err := root.Set(ctx, "a.txt", fileCap, "", nil, false); !errors.Is(err, ErrExists) {
		t.Errorf("second add without overwrite: %v", err)
	}
	e, err := root.Get(ctx, "a.txt")
	if err != nil || e.ReadCap != fileCap {
		t.Fatalf("get: %+v %v", e, err)
	}
	tahoe := e.Metadata["tahoe"].(map[string]any)
	if tahoe["linkcrtime"] == nil || tahoe["linkmotime"] == nil || e.Metadata["lafssync"] == nil {
		t.Errorf("metadata %v", e.Metadata)
	}
	sub, err := c.MkdirAll(ctx, root, "x/y/z")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Set(ctx, "deep", fileCap, "", nil, false); err != nil {
		t.Fatal(err)
	}
	again, err := c.MkdirAll(ctx, root, "x/y/z")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Get(ctx, "deep"); err != nil {
		t.Fatalf("MkdirAll did not find the existing path: %v", err)
	}
	if err := root.Rename(ctx, "a.txt", "b.txt", false); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Get(ctx, "a.txt"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after rename: %v", err)
	}
	b, _ := root.Get(ctx, "b.txt")
	if b.Metadata["tahoe"].(map[string]any)["linkcrtime"] != tahoe["linkcrtime"] {
		t.Error("rename lost the link's creation time")
	}
	if err := Move(ctx, root, "b.txt", sub, "moved.txt", false); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Get(ctx, "moved.txt"); err != nil {
		t.Fatal(err)
	}
	if err := root.Delete(ctx, "b.txt"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting a moved entry: %v", err)
	}
	// Another client opening the directory by its cap sees the same tree;
	// a read-only holder can read but not change it, and sees no write caps.
	other := &Client{Servers: c.Servers, Options: c.Options}
	ro, err := other.Open(root.Cap().ReadOnly().String())
	if err != nil {
		t.Fatal(err)
	}
	names, es, err := ro.List(ctx)
	if err != nil || len(names) != 1 || names[0] != "x" || es["x"].WriteCap != "" || es["x"].ReadCap == "" {
		t.Fatalf("read-only list: %v %+v %v", names, es, err)
	}
	if err := ro.Set(ctx, "nope", fileCap, "", nil, false); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only write: %v", err)
	}
	if _, err := other.Open(fileCap); err == nil {
		t.Error("opened a file cap as a directory")
	}
}

// Random sequences of operations through the grid match an in-memory model.
func TestMatchesModel(t *testing.T) {
	c := newClient(t)
	d, err := c.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A second handle on the same directory: operations alternate between
	// them, so cached state is exercised against real re-reads.
	d2, err := c.Open(d.Cap().String())
	if err != nil {
		t.Fatal(err)
	}
	model := map[string]string{}
	rng := rand.New(rand.NewSource(5))
	names := []string{"a", "b", "c", "dé", "e f", "Ω"}
	steps := 120
	if testing.Short() {
		steps = 40
	}
	for i := 0; i < steps; i++ {
		dir := d
		if rng.Intn(2) == 0 {
			dir = d2
		}
		n := names[rng.Intn(len(names))]
		m := names[rng.Intn(len(names))]
		v := fmt.Sprintf("URI:LIT:%s", "mfrgg"[:1+rng.Intn(4)])
		switch rng.Intn(4) {
		case 0:
			err := dir.Set(ctx, n, v, "", nil, true)
			if err != nil {
				t.Fatal(err)
			}
			model[n] = v
		case 1:
			err := dir.Delete(ctx, n)
			_, had := model[n]
			if had != (err == nil) || (!had && !errors.Is(err, ErrNotFound)) {
				t.Fatalf("step %d delete %q: %v (model has it: %v)", i, n, err, had)
			}
			delete(model, n)
		case 2:
			err := dir.Rename(ctx, n, m, true)
			if _, had := model[n]; had {
				if err != nil {
					t.Fatalf("step %d rename: %v", i, err)
				}
				v := model[n]
				delete(model, n)
				model[m] = v
			} else if !errors.Is(err, ErrNotFound) {
				t.Fatalf("step %d rename of missing %q: %v", i, n, err)
			}
		case 3:
			_, es, err := dir.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != len(model) {
				t.Fatalf("step %d: %d entries, model %d", i, len(es), len(model))
			}
			for k, v := range model {
				if es[k] == nil || es[k].ReadCap != v {
					t.Fatalf("step %d: entry %q is %+v, model %q", i, k, es[k], v)
				}
			}
		}
	}
}

// Writers racing on one directory through separate handles never lose an
// entry: each conflicted write is re-read and re-applied.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	c := newClient(t)
	d, err := c.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 6
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		h, err := c.Open(d.Cap().String())
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for i := 0; i < each; i++ {
				if err := h.Set(ctx, fmt.Sprintf("w%d-%d", w, i), "URI:LIT:", "", nil, false); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	names, _, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != writers*each {
		sort.Strings(names)
		t.Fatalf("%d of %d entries survived: %v", len(names), writers*each, names)
	}
}

// BenchmarkAddEntry adds one entry to a directory of 10, 1,000 and 10,000
// entries on 10 in-memory servers (SDMF, 3-of-10). The goal: under
// 150 ms for 10,000 entries.
func BenchmarkAddEntry(b *testing.B) {
	for _, size := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("%d", size), func(b *testing.B) {
			c := newClient(b)
			d, err := c.Create(ctx)
			if err != nil {
				b.Fatal(err)
			}
			err = d.Modify(ctx, func(es Entries) error {
				for i := 0; i < size; i++ {
					es[fmt.Sprintf("file-%06d.txt", i)] = &Entry{
						ReadCap:  "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56",
						Metadata: map[string]any{"tahoe": map[string]any{"linkcrtime": 1.7e9, "linkmotime": 1.7e9}, "lafssync": map[string]any{"size": 56.0, "mtime": 1.7e9}},
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			b.Run("cached", func(b *testing.B) {
				for b.Loop() {
					i++
					if err := d.Set(ctx, fmt.Sprintf("new-%d", i), "URI:LIT:", "", nil, false); err != nil {
						b.Fatal(err)
					}
				}
			})
			// A fresh handle each time: read, verify and unpack the whole
			// directory first, as after another writer changed it.
			b.Run("fresh", func(b *testing.B) {
				for b.Loop() {
					i++
					h, err := c.Open(d.Cap().String())
					if err != nil {
						b.Fatal(err)
					}
					if err := h.Set(ctx, fmt.Sprintf("new-%d", i), "URI:LIT:", "", nil, false); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
