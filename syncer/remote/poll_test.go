package remote_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
)

func TestPollJournal(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	b, _ := remote.Open(ctx, g, a.ReadCap(), "FRIEND")
	gen, dirs, full, err := b.Poll(ctx, 0)
	if err != nil || gen != 0 || full || dirs != nil {
		t.Fatalf("new folder: gen %d dirs %v full %v err %v", gen, dirs, full, err)
	}
	put(t, a, "", "f", "1", "DEVA", nil)
	put(t, a, "x/y", "f", "2", "DEVA", nil) // makes x and x/y: the root and x change too
	put(t, a, "x/y", "g", "3", "DEVA", nil)
	gen, dirs, full, err = b.Poll(ctx, 0)
	if err != nil || gen != 3 || full || !slices.Equal(dirs, []string{"", "x", "x/y"}) {
		t.Fatalf("since 0: gen %d dirs %q full %v err %v", gen, dirs, full, err)
	}
	gen, dirs, full, _ = b.Poll(ctx, 2)
	if gen != 3 || full || !slices.Equal(dirs, []string{"x/y"}) {
		t.Fatalf("since 2: gen %d dirs %q full %v", gen, dirs, full)
	}
	if gen, dirs, full, _ = b.Poll(ctx, 3); gen != 3 || full || dirs != nil {
		t.Fatalf("since 3 (nothing new): gen %d dirs %q full %v", gen, dirs, full)
	}
	if _, _, full, _ = b.Poll(ctx, 99); !full {
		t.Fatal("since a generation the folder never had: not full")
	}
	// Servers gone: an error (the caller says offline), not "nothing changed".
	g.Offline(9)
	if _, _, full, err = b.Poll(ctx, 3); err == nil || !full || !strings.Contains(err.Error(), "only 1 of 10 storage servers are reachable") {
		t.Fatalf("poll with 1 of 10 servers: full %v err %v", full, err)
	}
	if _, err := b.List(ctx, "x"); err == nil || !strings.Contains(err.Error(), `directory "x"`) || !strings.Contains(err.Error(), "storage servers are reachable") {
		t.Fatalf("list with 1 of 10 servers: %v", err)
	}
	// None connected (a node just starting): say so, not "not found".
	g.Offline(10)
	if _, _, _, err = b.Poll(ctx, 3); err == nil || !strings.Contains(err.Error(), "no storage server is connected yet") {
		t.Fatalf("poll with no servers: %v", err)
	}
}

// Poll reads only .lafssync/state: the same server reads whatever the
// tree's size.
func TestPollReadsAreConstant(t *testing.T) {
	reads := func(dirs int) int {
		g := gridtest.New(10)
		ctx := ctxT(t)
		a := newFolder(t, g, "DEVA")
		for i := 0; i < dirs; i++ {
			put(t, a, fmt.Sprintf("d%02d", i), "f", "x", "DEVA", nil)
		}
		b, _ := remote.Open(ctx, g, a.ReadCap(), "FRIEND")
		gen, _, _, err := b.Poll(ctx, 0) // the first poll also finds state
		if err != nil {
			t.Fatal(err)
		}
		before := g.Reads()
		if _, _, _, err := b.Poll(ctx, gen); err != nil {
			t.Fatal(err)
		}
		return g.Reads() - before
	}
	one, thirty := reads(1), reads(30)
	t.Logf("server reads of one poll: %d (1 directory), %d (30 directories)", one, thirty)
	if one != thirty || one == 0 {
		t.Fatalf("poll reads: %d with 1 directory, %d with 30", one, thirty)
	}
}

func TestAdoptPlainDirectory(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	dc := g.Dirs()
	k, _ := g.NewKey(ctx)
	dc.Options.Key = k
	plain, err := dc.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, err := remote.Open(ctx, g, plain.Cap().String(), "DEVA")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, full, err := a.Poll(ctx, 0); !full || err != nil {
		t.Fatalf("poll of a plain directory: full %v err %v", full, err)
	}
	if res, _ := put(t, a, "", "f", "x", "DEVA", nil); !res.Applied {
		t.Fatal("put into an adopted directory")
	}
	names, _, _ := plain.List(ctx)
	if !slices.Equal(names, []string{".lafssync", "f"}) {
		t.Fatalf("adopted directory holds %v", names)
	}
	b, _ := remote.Open(ctx, g, plain.Cap().String(), "DEVB")
	if gen, dirs, full, err := b.Poll(ctx, 0); gen != 1 || full || err != nil || !slices.Equal(dirs, []string{""}) {
		t.Fatalf("poll after adoption: %d %v %v %v", gen, dirs, full, err)
	}
}

func TestWalk(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	for _, d := range []string{"", "a", "a/b", "a/b/c", "z", "z/bad", "z/bad/under"} {
		put(t, a, d, "f", d, "DEVA", nil)
	}
	// Make z/bad unreadable: delete every share of its directory.
	es, _ := a.List(ctx, "z")
	dc, err := cap.Parse(es["bad"].Cap)
	if err != nil {
		t.Fatal(err)
	}
	si, _ := dc.StorageIndex()
	for _, s := range g.Servers {
		for sh := 0; sh < 10; sh++ {
			s.DeleteMutable(si, sh)
		}
	}
	var order []string
	var failed []string
	err = a.Walk(ctx, func(dir string, entries map[string]*remote.Entry, err error) error {
		order = append(order, dir)
		if err != nil {
			failed = append(failed, dir)
			if !strings.Contains(err.Error(), `"z/bad"`) {
				t.Errorf("error does not name the directory: %v", err)
			}
			return nil
		}
		if entries["f"] == nil {
			t.Errorf("%q: no f", dir)
		}
		if dir == "" && entries[".lafssync"] != nil {
			t.Error(".lafssync listed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "a", "z", "a/b", "z/bad", "a/b/c"}
	if !slices.Equal(order, want) || !slices.Equal(failed, []string{"z/bad"}) {
		t.Fatalf("walk order %q (failed %q), want %q", order, failed, want)
	}
	// SkipDir skips a subtree; another error stops the walk.
	order = nil
	_ = a.Walk(ctx, func(dir string, _ map[string]*remote.Entry, err error) error {
		order = append(order, dir)
		if dir == "a" {
			return fs.SkipDir
		}
		return nil
	})
	if slices.Contains(order, "a/b") {
		t.Fatalf("SkipDir did not skip: %q", order)
	}
	stop := errors.New("stop")
	if err := a.Walk(context.Background(), func(dir string, _ map[string]*remote.Entry, _ error) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("walk error: %v", err)
	}
}
