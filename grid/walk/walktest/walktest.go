// Package walktest builds a small grid of in-memory servers holding a tree
// with every kind of link a walk must handle, for the tests of grid/walk,
// grid/deepcheck and grid/lease.
package walktest

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

var (
	poolOnce sync.Once
	pool     *mutable.KeyPool
)

// LeaseSecret is the client lease secret the fixture uploads with.
var LeaseSecret = []byte("walktest client lease secret....")

// Object is one object of the fixture.
type Object struct {
	Cap cap.Cap
	SI  storage.SI // zero for LIT
}

// Tree is the fixture:
//
//	<root>            mutable directory (write cap)
//	  big.bin         CHK file (3 segments)
//	  docs/           mutable directory
//	    a.txt         CHK file
//	    b.txt         CHK file, also linked as <root>/b-again
//	    tiny          LIT file
//	    up            link back to <root> (a cycle)
//	    notes         mutable file (SDMF)
//	  b-again         the same CHK file as docs/b.txt
//	  shared/         mutable directory linked read-only
//	    s.txt         CHK file
//	  frozen/         immutable directory (DIR2-CHK)
//	    c.txt         CHK file
//
// and, linked from nowhere, Unreachable (a CHK file) and UnreachableMut (a
// mutable file).
type Tree struct {
	Mem     []*mem.Server
	Servers []storage.Server
	Imm     *immutable.Client
	Dirs    *dirnode.Client

	Root                        *dirnode.Directory
	Objects                     map[string]Object // by path; "" is the root
	Unreachable, UnreachableMut Object
}

// Quiet is a logger that drops everything.
var Quiet = slog.New(slog.DiscardHandler)

// Close stops the key pool the fixtures share (call it after all tests,
// e.g. from TestMain); New must not be called afterwards.
func Close() {
	poolOnce.Do(func() {}) // no pool made: none will be
	if pool != nil {
		pool.Close()
	}
}

// New builds the fixture on 10 fresh in-memory servers (3-of-10).
func New(t testing.TB) *Tree {
	t.Helper()
	poolOnce.Do(func() { pool = mutable.NewKeyPool(4) })
	ms, servers := mem.NewGrid(10)
	tr := &Tree{
		Mem: ms, Servers: servers,
		Imm: &immutable.Client{Servers: servers, Params: immutable.DefaultParams(), LeaseSecret: LeaseSecret,
			Convergence: []byte("walktest convergence"), Logger: Quiet},
		Dirs:    &dirnode.Client{Servers: servers, Options: mutable.Options{Pool: pool, LeaseSecret: LeaseSecret, Logger: Quiet}},
		Objects: map[string]Object{},
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	put := func(data []byte) cap.Cap {
		t.Helper()
		up, err := tr.Imm.Upload(ctx, bytes.NewReader(data))
		must(err)
		return up.Cap
	}
	mkdir := func() *dirnode.Directory {
		t.Helper()
		d, err := tr.Dirs.Create(ctx)
		must(err)
		return d
	}
	link := func(d *dirnode.Directory, name string, c cap.Cap) {
		t.Helper()
		must(d.SetCap(ctx, name, c, nil, false))
	}
	obj := func(path string, c cap.Cap) {
		si, _ := c.StorageIndex()
		tr.Objects[path] = Object{Cap: c, SI: si}
	}

	tr.Root = mkdir()
	obj("", tr.Root.Cap())
	big := put(bytes.Repeat([]byte("0123456789abcdef"), int(3*immutable.DefaultParams().MaxSegmentSize/16+100)))
	link(tr.Root, "big.bin", big)
	obj("big.bin", big)

	docs := mkdir()
	link(tr.Root, "docs", docs.Cap())
	obj("docs", docs.Cap())
	a := put(bytes.Repeat([]byte("file a\n"), 2000))
	link(docs, "a.txt", a)
	obj("docs/a.txt", a)
	b := put(bytes.Repeat([]byte("file b\n"), 2000))
	link(docs, "b.txt", b)
	obj("docs/b.txt", b)
	link(tr.Root, "b-again", b)
	tiny := put([]byte("tiny"))
	if tiny.Kind() != cap.KindLIT {
		t.Fatalf("tiny file is %s, want LIT", tiny.Kind())
	}
	link(docs, "tiny", tiny)
	obj("docs/tiny", tiny)
	link(docs, "up", tr.Root.Cap())
	notes, err := mutable.Create(ctx, servers, []byte("mutable notes"), tr.Dirs.Options)
	must(err)
	nc, err := cap.Parse(notes.WriteCap())
	must(err)
	link(docs, "notes", nc)
	obj("docs/notes", nc)

	shared := mkdir()
	link(tr.Root, "shared", shared.Cap().ReadOnly())
	obj("shared", shared.Cap().ReadOnly())
	s := put(bytes.Repeat([]byte("shared s\n"), 2000))
	link(shared, "s.txt", s)
	obj("shared/s.txt", s)

	c := put(bytes.Repeat([]byte("frozen c\n"), 2000))
	frozen, err := dirnode.CreateImmutable(ctx, tr.Imm, dirnode.Entries{"c.txt": {ReadCap: c.String(), Metadata: map[string]any{}}})
	must(err)
	link(tr.Root, "frozen", frozen)
	obj("frozen", frozen)
	obj("frozen/c.txt", c)

	un := put(bytes.Repeat([]byte("nobody links me\n"), 2000))
	si, _ := un.StorageIndex()
	tr.Unreachable = Object{Cap: un, SI: si}
	um, err := mutable.Create(ctx, servers, []byte("nobody links me either"), tr.Dirs.Options)
	must(err)
	umc, _ := cap.Parse(um.WriteCap())
	tr.UnreachableMut = Object{Cap: umc, SI: um.StorageIndex()}
	return tr
}

// Holders returns, for an object's storage index, each server holding
// shares of it and their numbers.
func (tr *Tree) Holders(o Object) map[*mem.Server][]int {
	out := map[*mem.Server][]int{}
	ctx := context.Background()
	for _, m := range tr.Mem {
		shs, _ := m.ListShares(ctx, o.SI)
		if o.Cap.IsMutable() {
			shs, _ = m.ListMutableShares(ctx, o.SI)
		}
		if len(shs) > 0 {
			out[m] = shs
		}
	}
	return out
}

// DeleteShares deletes n shares of an object (immutable or mutable).
func (tr *Tree) DeleteShares(o Object, n int) {
	for m, shs := range tr.Holders(o) {
		for _, sh := range shs {
			if n == 0 {
				return
			}
			if o.Cap.IsMutable() {
				m.DeleteMutable(o.SI, sh)
			} else {
				m.Delete(o.SI, sh)
			}
			n--
		}
	}
}
