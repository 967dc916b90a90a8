package walk_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/walk"
	"github.com/lafssync/lafssync/grid/walk/walktest"
)

type visit struct {
	path string
	kind cap.Kind
	err  error
}

func collect(t *testing.T, l walk.Lister, root cap.Cap, conc int) map[string]visit {
	t.Helper()
	var mu sync.Mutex
	got := map[string]visit{}
	err := walk.Walk(context.Background(), l, root, func(path []string, c cap.Cap, err error) error {
		p := strings.Join(path, "/")
		mu.Lock()
		defer mu.Unlock()
		if _, dup := got[p]; dup {
			t.Errorf("%q visited twice", p)
		}
		got[p] = visit{p, c.Kind(), err}
		return nil
	}, walk.Options{Concurrency: conc})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWalkVisitsEachObjectOnce(t *testing.T) {
	tr := walktest.New(t)
	g := walk.Grid{Dirs: tr.Dirs, Imm: tr.Imm}
	for _, conc := range []int{1, 8} {
		got := collect(t, g, tr.Root.Cap(), conc)
		var paths []string
		for p, v := range got {
			paths = append(paths, p)
			if v.err != nil {
				t.Errorf("%q: %v", p, v.err)
			}
		}
		slices.Sort(paths)
		// b-again and docs/b.txt are one object, visited by whichever link
		// came first; docs/up is the root again.
		want := []string{"", "big.bin", "docs", "docs/a.txt", "docs/notes", "docs/tiny", "frozen", "frozen/c.txt", "shared", "shared/s.txt"}
		if len(paths) != len(want)+1 || !slices.Contains(paths, "b-again") && !slices.Contains(paths, "docs/b.txt") {
			t.Fatalf("concurrency %d: visited %q", conc, paths)
		}
		for _, w := range want {
			if _, ok := got[w]; !ok {
				t.Errorf("concurrency %d: %q not visited (got %q)", conc, w, paths)
			}
		}
		if got["shared"].kind != cap.KindDirRO || got["frozen"].kind != cap.KindDirCHK || got["docs/tiny"].kind != cap.KindLIT {
			t.Errorf("kinds: %+v", got)
		}
	}
}

// failing lists like its inner Lister except for one directory.
type failing struct {
	walk.Lister
	bad cap.Cap
}

var errBroken = errors.New("all shares gone")

func (f failing) List(ctx context.Context, dir cap.Cap) (dirnode.Entries, error) {
	a, _ := dir.StorageIndex()
	b, _ := f.bad.StorageIndex()
	if a == b {
		return nil, errBroken
	}
	return f.Lister.List(ctx, dir)
}

func TestWalkReportsUnreadableDirectoryAndGoesOn(t *testing.T) {
	tr := walktest.New(t)
	l := failing{walk.Grid{Dirs: tr.Dirs, Imm: tr.Imm}, tr.Objects["docs"].Cap}
	got := collect(t, l, tr.Root.Cap(), 4)
	if v, ok := got["docs"]; !ok || !errors.Is(v.err, errBroken) {
		t.Errorf("docs: %+v", v)
	}
	if _, ok := got["docs/a.txt"]; ok {
		t.Error("a child of an unreadable directory was visited")
	}
	for _, p := range []string{"big.bin", "shared/s.txt", "frozen/c.txt", "b-again"} {
		if v, ok := got[p]; !ok || v.err != nil {
			t.Errorf("%q: %+v, %v", p, v, ok)
		}
	}
}

func TestWalkStopsOnFuncErrorAndCancel(t *testing.T) {
	tr := walktest.New(t)
	g := walk.Grid{Dirs: tr.Dirs, Imm: tr.Imm}
	stop := errors.New("stop")
	n := 0
	var mu sync.Mutex
	err := walk.Walk(context.Background(), g, tr.Root.Cap(), func([]string, cap.Cap, error) error {
		mu.Lock()
		defer mu.Unlock()
		n++
		return stop
	}, walk.Options{Concurrency: 1})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("err %v after %d visits", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = walk.Walk(ctx, g, tr.Root.Cap(), func([]string, cap.Cap, error) error { return nil }, walk.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled walk: %v", err)
	}
}

func TestWalkFileRoot(t *testing.T) {
	tr := walktest.New(t)
	got := collect(t, walk.Grid{Dirs: tr.Dirs, Imm: tr.Imm}, tr.Objects["docs/a.txt"].Cap, 2)
	if len(got) != 1 || got[""].kind != cap.KindCHK {
		t.Errorf("%+v", got)
	}
}
