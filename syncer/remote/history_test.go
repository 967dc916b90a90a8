package remote_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/clock/clocktest"
	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/vv"
)

func TestHistoryNewestFirstAndDelete(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a := newFolder(t, g, "DEVA")
	a.SetClock(clk)
	if _, err := a.History(ctx, "d/f"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("history of a new file: %v", err)
	}
	var base vv.Vector
	var metas []remote.FileMeta
	for i := 1; i <= 3; i++ {
		res, m := put(t, a, "d", "f", fmt.Sprintf("version %d", i), "DEVA", base)
		if !res.Applied {
			t.Fatalf("put %d not applied", i)
		}
		base = m.Ver
		metas = append(metas, m)
		clk.Advance(time.Hour)
	}
	h, err := a.History(ctx, "d/f")
	if err != nil || len(h) != 2 {
		t.Fatalf("history after 3 versions: %+v %v", h, err)
	}
	for i, v := range h {
		want := metas[1-i] // newest previous first
		if v.N != i+1 || v.Meta.Ver.Compare(want.Ver) != vv.Equal || v.Deleted || got(t, a, v.Cap) != fmt.Sprintf("version %d", 2-i) {
			t.Errorf("version %d: %+v", i+1, v)
		}
	}
	if !h[0].Replaced.Equal(time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("replaced at %v", h[0].Replaced)
	}
	if ts, err := a.Tombstone(ctx, "d/f"); ts != nil || err != nil {
		t.Fatalf("tombstone of a live file: %+v %v", ts, err)
	}

	// Delete: the last version heads the history, with a tombstone.
	b, _ := remote.Open(ctx, g, a.WriteCap(), "DEVB")
	b.SetClock(clk)
	r, err := b.Commit(ctx, "d", []remote.Op{{Kind: remote.Delete, Name: "f", Base: base}}, remote.Retention{})
	if err != nil || !r[0].Applied {
		t.Fatalf("delete: %+v %v", r, err)
	}
	h, err = a.History(ctx, "d/f")
	if err != nil || len(h) != 3 || !h[0].Deleted || h[0].Meta.Ver.Compare(base) != vv.Equal || got(t, a, h[0].Cap) != "version 3" {
		t.Fatalf("history after delete: %+v %v", h, err)
	}
	ts, err := a.Tombstone(ctx, "d/f")
	if err != nil || ts == nil || ts.By != "DEVB" || ts.Ver.Compare(base) != vv.Equal || ts.Hash != metas[2].Hash || !ts.Time.Equal(clk.Now()) {
		t.Fatalf("tombstone: %+v %v", ts, err)
	}
	// Re-created: the tombstone no longer holds; the history stays.
	if res, _ := put(t, a, "d", "f", "reborn", "DEVA", nil); !res.Applied {
		t.Fatal("re-create not applied")
	}
	if ts, err := a.Tombstone(ctx, "d/f"); ts != nil || err != nil {
		t.Fatalf("tombstone after re-create: %+v %v", ts, err)
	}
	if h, _ := a.History(ctx, "d/f"); len(h) != 3 || !h[0].Deleted {
		t.Fatalf("history after re-create: %+v", h)
	}
	if ts, err := a.Tombstone(ctx, "never/existed"); ts != nil || err != nil {
		t.Fatalf("tombstone of nothing: %+v %v", ts, err)
	}
}

func got(t *testing.T, f *remote.Folder, c string) string { return download(t, f, c) }

// Retention keeps a version if it is among the newest Versions or younger
// than MaxAge; it prunes only beyond both.
func TestHistoryRetention(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a := newFolder(t, g, "DEVA")
	a.SetClock(clk)
	r := remote.Retention{Versions: 2, MaxAge: 10 * time.Hour}
	var base vv.Vector
	commit := func(content string) {
		t.Helper()
		c, m := upload(t, a, content, "DEVA", base)
		res, err := a.Commit(ctx, "", []remote.Op{{Kind: remote.Put, Name: "f", Cap: c, Meta: m, Base: base}}, r)
		if err != nil || !res[0].Applied {
			t.Fatalf("put %s: %+v %v", content, res, err)
		}
		base = m.Ver
	}
	// Five versions an hour apart: all four previous ones are younger than
	// 10 h, so all are kept although Versions is 2.
	for i := 1; i <= 5; i++ {
		commit(fmt.Sprint("v", i))
		clk.Advance(time.Hour)
	}
	if h, _ := a.History(ctx, "f"); len(h) != 4 {
		t.Fatalf("young versions: kept %d, want 4", len(h))
	}
	// A day later, the next commit prunes to the 2 newest (all are old).
	clk.Advance(24 * time.Hour)
	commit("v6")
	h, _ := a.History(ctx, "f")
	if len(h) != 2 || got(t, a, h[0].Cap) != "v5" || got(t, a, h[1].Cap) != "v4" {
		t.Fatalf("after a day: %d versions %+v", len(h), h)
	}
}

func TestHistoryDefaultsKeepTen(t *testing.T) {
	if testing.Short() {
		t.Skip("12 commits")
	}
	g := gridtest.New(10)
	ctx := ctxT(t)
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a := newFolder(t, g, "DEVA")
	a.SetClock(clk)
	var base vv.Vector
	for i := 0; i < 13; i++ {
		_, m := put(t, a, "", "f", fmt.Sprint("v", i), "DEVA", base)
		base = m.Ver
		clk.Advance(31 * 24 * time.Hour)
	}
	if h, _ := a.History(ctx, "f"); len(h) != remote.DefaultVersions {
		t.Fatalf("old versions with the default retention: kept %d, want %d", len(h), remote.DefaultVersions)
	}
}

// Paths are compared in NFC: a macOS device (NFD names) and a Linux one
// (NFC) share one history for "café/x".
func TestHistoryPathNormalized(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	nfd, nfc := "cafe\u0301", "caf\u00e9"
	_, m := put(t, a, nfd, "x", "one", "DEVA", nil)
	if res, _ := put(t, a, nfc, "x", "two", "DEVA", m.Ver); !res.Applied {
		t.Fatal("the NFC path is not the same directory")
	}
	h, err := a.History(ctx, nfd+"/x")
	if err != nil || len(h) != 1 {
		t.Fatalf("history by the NFD path: %+v %v", h, err)
	}
	gen, dirs, _, _ := a.Poll(ctx, 1)
	if gen != 2 || len(dirs) != 1 || dirs[0] != nfc {
		t.Fatalf("journal names %q, want the NFC path", dirs)
	}
}
