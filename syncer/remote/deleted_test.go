package remote_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/clock/clocktest"
	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/vv"
)

// TestDeletedListsTombstones: files deleted anywhere in the folder are
// listed newest delete first, with who deleted them, when, and their last
// size; a replaced file, a live one and a re-created one are not.
func TestDeletedListsTombstones(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktest.New(t0)
	a := newFolder(t, g, "DEVA")
	a.SetClock(clk)
	if l, tr, err := a.Deleted(ctx, "", 0); len(l) != 0 || tr || err != nil {
		t.Fatalf("a new folder: %+v %v %v", l, tr, err)
	}
	vers := map[string]vv.Vector{}
	for _, p := range []string{"top.txt", "d/x", "d/sub/y", "d/keep", "d/reborn"} {
		dir, name := "", p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			dir, name = p[:i], p[i+1:]
		}
		_, m := put(t, a, dir, name, "content of "+p, "DEVA", nil)
		vers[p] = m.Ver
	}
	b, _ := remote.Open(ctx, g, a.WriteCap(), "DEVB")
	b.SetClock(clk)
	del := func(f *remote.Folder, dir, name string) {
		t.Helper()
		p := strings.TrimPrefix(dir+"/"+name, "/")
		r, err := f.Commit(ctx, dir, []remote.Op{{Kind: remote.Delete, Name: name, Base: vers[p]}}, remote.Retention{})
		if err != nil || !r[0].Applied {
			t.Fatalf("delete %s: %+v %v", p, r, err)
		}
		clk.Advance(time.Hour)
	}
	del(b, "", "top.txt") // t0
	del(a, "d", "x")      // t0+1h
	del(b, "d/sub", "y")  // t0+2h
	del(a, "d", "reborn") // t0+3h, then re-created
	if res, _ := put(t, a, "d", "reborn", "again", "DEVA", nil); !res.Applied {
		t.Fatal("re-create not applied")
	}
	if res, _ := put(t, a, "d", "keep", "edited", "DEVA", vers["d/keep"]); !res.Applied {
		t.Fatal("edit not applied")
	}

	type row struct {
		path, by string
		at       time.Time
		size     int64
	}
	want := []row{
		{"d/sub/y", "DEVB", t0.Add(2 * time.Hour), int64(len("content of d/sub/y"))},
		{"d/x", "DEVA", t0.Add(time.Hour), int64(len("content of d/x"))},
		{"top.txt", "DEVB", t0, int64(len("content of top.txt"))},
	}
	check := func(f *remote.Folder, dir string, limit int, want []row, wantTrunc bool) {
		t.Helper()
		l, tr, err := f.Deleted(ctx, dir, limit)
		if err != nil || tr != wantTrunc || len(l) != len(want) {
			t.Fatalf("Deleted(%q, %d): %+v truncated %v, %v; want %d files, truncated %v", dir, limit, l, tr, err, len(want), wantTrunc)
		}
		for i, w := range want {
			d := l[i]
			if d.Path != w.path || d.By != w.by || !d.Time.Equal(w.at) || d.Size != w.size || d.Versions != 1 {
				t.Errorf("Deleted(%q) row %d: %+v, want %+v", dir, i, d, w)
			}
		}
	}
	check(a, "", 0, want, false)
	check(a, "/d/", 0, want[:2], false)
	check(a, "d/sub", 0, want[:1], false)
	check(a, "nowhere", 0, nil, false)
	check(a, "", 2, want[:2], true)
	// A follower (read cap) sees the same.
	ro, err := remote.Open(ctx, g, a.ReadCap(), "DEVC")
	if err != nil {
		t.Fatal(err)
	}
	check(ro, "", 0, want, false)
	if _, _, err := a.Deleted(ctx, "../etc", 0); err == nil {
		t.Error("a path with .. listed")
	}
}

// TestDeletedIsBounded: a directory with more deleted files than the bound
// lists the newest MaxDeleted and says it is truncated.
func TestDeletedIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a big commit")
	}
	g := gridtest.New(10)
	ctx := ctxT(t)
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a := newFolder(t, g, "DEVA")
	a.SetClock(clk)
	n := remote.MaxDeleted + 50
	var puts, dels []remote.Op
	for i := 0; i < n; i++ {
		c, m := upload(t, a, "x", "DEVA", nil)
		name := fmt.Sprintf("f%05d", i)
		puts = append(puts, remote.Op{Kind: remote.Put, Name: name, Cap: c, Meta: m})
		dels = append(dels, remote.Op{Kind: remote.Delete, Name: name, Base: m.Ver})
	}
	for _, ops := range [][]remote.Op{puts, dels} {
		if _, err := a.Commit(ctx, "many", ops, remote.Retention{}); err != nil {
			t.Fatal(err)
		}
	}
	l, tr, err := a.Deleted(ctx, "", 1_000_000)
	if err != nil || !tr || len(l) != remote.MaxDeleted {
		t.Fatalf("%d deleted files: listed %d, truncated %v, %v", n, len(l), tr, err)
	}
}
