package dirnode

import (
	"fmt"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
)

func TestImmutableDirectories(t *testing.T) {
	c := newClient(t)
	ic := &immutable.Client{Servers: c.Servers, Params: immutable.DefaultParams(), Convergence: []byte("c"), LeaseSecret: []byte("l")}
	small := Entries{"short": {ReadCap: "URI:LIT:krugkidfnzsc4", Metadata: map[string]any{}}}
	dc, err := CreateImmutable(ctx, ic, small)
	if err != nil {
		t.Fatal(err)
	}
	// Tahoe's own tiny_litdir_uri: the same single child gives the same cap.
	if dc.String() != "URI:DIR2-LIT:gqytunj2onug64tufqzdcosvkjetutcjkq5gw4tvm5vwszdgnz5hgyzufqydulbshj5x2lbm" {
		t.Errorf("small immutable directory cap %s", dc)
	}
	big := Entries{}
	for i := 0; i < 20; i++ {
		big[fmt.Sprintf("file%02d", i)] = &Entry{ReadCap: "URI:LIT:krugkidfnzsc4", Metadata: map[string]any{"n": float64(i)}}
	}
	dc, err = CreateImmutable(ctx, ic, big)
	if err != nil || dc.Kind() != cap.KindDirCHK {
		t.Fatalf("bigger immutable directory: %v %v", dc, err)
	}
	back, err := ReadImmutable(ctx, ic, dc)
	if err != nil || len(back) != 20 || back["file07"].Metadata["n"] != 7.0 {
		t.Fatalf("read back: %v", err)
	}
	bad := Entries{"mut": {ReadCap: "URI:SSK-RO:jf6wkflosyvntwxqcdo7a54jvm:euw4iw7bbnkrrwpzuburbhppuxhc3gwxv26f6imekhz7zyw2ojnq", Metadata: map[string]any{}}}
	if _, err := CreateImmutable(ctx, ic, bad); err == nil {
		t.Error("immutable directory with a mutable child accepted")
	}
}

func TestMDMFDirectory(t *testing.T) {
	c := newClient(t)
	c.Options.Format = cap.MDMF
	d, err := c.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Cap().Kind() != cap.KindDirMDMF {
		t.Fatalf("cap kind %s", d.Cap().Kind())
	}
	if err := d.Set(ctx, "x", "URI:LIT:", "", nil, false); err != nil {
		t.Fatal(err)
	}
	ro, err := (&Client{Servers: c.Servers, Options: mutable.Options{Format: cap.MDMF}}).Open(d.Cap().ReadOnly().String())
	if err != nil {
		t.Fatal(err)
	}
	if e, err := ro.Get(ctx, "x"); err != nil || e.ReadCap != "URI:LIT:" {
		t.Fatalf("MDMF directory read-only get: %v", err)
	}
}
