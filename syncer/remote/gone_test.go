package remote_test

import (
	"testing"

	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
)

// Deletes committed into a directory another device removed meanwhile
// make nothing: before, the commit made the directory again (with its
// parents) to delete from it, and every device then saw it come back
// until the engine removed it again.
func TestDeletesIntoARemovedDirectoryDoNotMakeItAgain(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	_, m := put(t, a, "p/d", "f", "content", "DEVA", nil)
	gen0, _, _, err := a.Poll(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Another device deletes the file and removes d and p.
	b, _ := remote.Open(ctx, g, a.WriteCap(), "DEVB")
	for _, c := range []struct {
		dir string
		op  remote.Op
	}{
		{"p/d", remote.Op{Kind: remote.Delete, Name: "f", Base: m.Ver}},
		{"p", remote.Op{Kind: remote.Delete, Name: "d"}},
		{"", remote.Op{Kind: remote.Delete, Name: "p"}},
	} {
		if r, err := b.Commit(ctx, c.dir, []remote.Op{c.op}, remote.Retention{}); err != nil || !r[0].Applied {
			t.Fatalf("B's delete in %q: %+v %v", c.dir, r, err)
		}
	}
	gen1, _, _, _ := a.Poll(ctx, gen0)

	// A, not knowing, deletes its version of the file and a directory
	// that was inside (a directory pass's delete).
	r, err := a.Commit(ctx, "p/d", []remote.Op{{Kind: remote.Delete, Name: "f", Base: m.Ver}, {Kind: remote.Delete, Name: "sub"}}, remote.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	if r[0].Applied || r[0].Current != nil || !r[1].Applied {
		t.Errorf("deletes into nothing: %+v, want the file's not applied (gone, no Current) and the directory's applied", r)
	}
	if es, err := b.List(ctx, ""); err != nil || es["p"] != nil {
		t.Fatalf("the root after A's deletes has p again (%v), want it still gone", err)
	}
	if gen2, _, _, _ := a.Poll(ctx, gen1); gen2 != gen1 {
		t.Errorf("deletes that changed nothing bumped the generation %d → %d", gen1, gen2)
	}
	// A Put still makes its directory.
	if r, _ := put(t, a, "p/d", "g", "new", "DEVA", nil); !r.Applied {
		t.Fatal("a put into the removed directory was not applied")
	}
	if es, _ := b.List(ctx, "p/d"); es["g"] == nil {
		t.Fatal("the put did not make p/d again")
	}
}
