package remote_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/internal/clock/clocktest"
	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/vv"
)

// What a stock Tahoe client sees of a synced folder: exactly the user's
// files and directories plus .lafssync; files are CHK/LIT caps that
// download to their bytes; metadata has size and mtime (and Tahoe's own
// "tahoe" timestamps).
func TestStockTahoeSeesPlainTree(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	big := strings.Repeat("a big file, stored as CHK. ", 10)
	files := map[string]string{"big.txt": big, "small.txt": "LIT", "sub/inner.txt": "inner " + big}
	_, m := put(t, a, "", "big.txt", big, "DEVA", nil)
	put(t, a, "", "small.txt", "LIT", "DEVA", nil)
	put(t, a, "sub", "inner.txt", files["sub/inner.txt"], "DEVA", nil)
	// Replace and delete a file: history stays under .lafssync.
	_, m2 := put(t, a, "", "gone.txt", "to be deleted", "DEVA", nil)
	if r, err := a.Commit(ctx, "", []remote.Op{{Kind: remote.Delete, Name: "gone.txt", Base: m2.Ver}}, remote.Retention{}); err != nil || !r[0].Applied {
		t.Fatal(r, err)
	}
	c3, m3 := upload(t, a, big+"v2", "DEVA", m.Ver)
	if r, err := a.Commit(ctx, "", []remote.Op{{Kind: remote.Put, Name: "big.txt", Cap: c3, Meta: m3, Base: m.Ver}}, remote.Retention{}); err != nil || !r[0].Applied {
		t.Fatal(r, err)
	}
	files["big.txt"] = big + "v2"

	// Plain grid/dirnode with the read cap, as `tahoe ls` would.
	root, err := g.Dirs().Open(a.ReadCap())
	if err != nil {
		t.Fatal(err)
	}
	names, es, err := root.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{".lafssync", "big.txt", "small.txt", "sub"}) {
		t.Fatalf("stock Tahoe sees %q", names)
	}
	sub, err := g.Dirs().Open(es["sub"].ReadCap)
	if err != nil {
		t.Fatal(err)
	}
	subNames, subEs, _ := sub.List(ctx)
	if !slices.Equal(subNames, []string{"inner.txt"}) {
		t.Fatalf("sub holds %q", subNames)
	}
	check := func(path string, e *dirnode.Entry) {
		c, err := cap.Parse(e.ReadCap)
		if err != nil || (c.Kind() != cap.KindCHK && c.Kind() != cap.KindLIT) {
			t.Errorf("%s: cap kind %v (%v)", path, c, err)
			return
		}
		var b bytes.Buffer
		if _, err := g.Immutable().Download(ctx, c, &b); err != nil || b.String() != files[path] {
			t.Errorf("%s: downloaded %q (%v)", path, b.String(), err)
		}
		if sz, ok := e.Metadata["size"].(float64); !ok || int(sz) != len(files[path]) {
			t.Errorf("%s: size %v", path, e.Metadata["size"])
		}
		if mt, ok := e.Metadata["mtime"].(float64); !ok || mt != 1764650000.25 {
			t.Errorf("%s: mtime %v", path, e.Metadata["mtime"])
		}
		if tk, ok := e.Metadata["tahoe"].(map[string]any); !ok || tk["linkcrtime"] == nil || tk["linkmotime"] == nil {
			t.Errorf("%s: no tahoe timestamps: %v", path, e.Metadata)
		}
	}
	check("big.txt", es["big.txt"])
	check("small.txt", es["small.txt"])
	check("sub/inner.txt", subEs["inner.txt"])
	if strings.HasPrefix(es["big.txt"].ReadCap, "URI:LIT:") || !strings.HasPrefix(es["small.txt"].ReadCap, "URI:LIT:") {
		t.Error("big file not CHK or small file not LIT")
	}
	// The replaced version is readable with stock Tahoe too: the history
	// entry's cap is the previous version.
	hist, err := a.History(ctx, "big.txt")
	if err != nil || len(hist) != 1 || download(t, a, hist[0].Cap) != big {
		t.Fatalf("history: %+v %v", hist, err)
	}
}

func TestSnapshot(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	_, m := put(t, a, "", "f.txt", "top", "DEVA", nil)
	put(t, a, "d/e", "g.txt", "deep", "DEVA", nil)
	snap, err := a.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(snap, "URI:DIR2-CHK:") && !strings.HasPrefix(snap, "URI:DIR2-LIT:") {
		t.Fatalf("snapshot cap %.14s…", snap)
	}
	// Later changes do not show in the snapshot.
	put(t, a, "", "later.txt", "later", "DEVA", nil)
	read := func(c string) dirnode.Entries {
		t.Helper()
		dc, err := cap.Parse(c)
		if err != nil {
			t.Fatal(err)
		}
		es, err := dirnode.ReadImmutable(ctx, g.Immutable(), dc)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	top := read(snap)
	if len(top) != 2 || top["f.txt"] == nil || top["d"] == nil || top[".lafssync"] != nil {
		t.Fatalf("snapshot root: %v", top)
	}
	if mm, foreign := remote.DecodeMeta(top["f.txt"].Metadata); foreign || mm.Ver.Compare(m.Ver) != vv.Equal {
		t.Errorf("snapshot lost the metadata: %+v", top["f.txt"].Metadata)
	}
	e := read(read(top["d"].ReadCap)["e"].ReadCap)
	if e["g.txt"] == nil || download(t, a, e["g.txt"].ReadCap) != "deep" {
		t.Fatalf("snapshot d/e: %v", e)
	}
}

// Re-linking a name keeps Tahoe's linkcrtime and moves linkmotime, as
// Tahoe does.
func TestTahoeTimestampsKept(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	clk := clocktest.New(time.Unix(1764650000, 0))
	a := newFolder(t, g, "DEVA")
	a.SetClock(clk)
	_, m := put(t, a, "", "f", "one", "DEVA", nil)
	clk.Advance(time.Hour)
	put(t, a, "", "f", "two", "DEVA", m.Ver)
	root, _ := g.Dirs().Open(a.ReadCap())
	e, err := root.Get(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := e.Metadata["tahoe"].(map[string]any)
	if tk["linkcrtime"] != 1764650000.0 || tk["linkmotime"] != 1764653600.0 {
		t.Fatalf("tahoe timestamps after a re-link: %v", tk)
	}
}
