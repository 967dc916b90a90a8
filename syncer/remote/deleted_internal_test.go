package remote

import (
	"context"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/dirnode"
)

// TestDeletedSkipsWhatAWriterForged: history written by a broken or
// hostile writer lists nothing it should not: a shard whose recorded
// directory does not hash to its name, entries without versions or with
// garbage metadata.
func TestDeletedSkipsWhatAWriterForged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := newTestGrid(10)
	f, err := Create(ctx, g, "DEVA")
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.findHidden(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Upload(ctx, nil, 0, [16]byte{1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tomb := &Tombstone{By: "EVIL", Time: time.Unix(1764650000, 0)}
	good := historyEntry(nil, []histVersion{{Cap: c, Meta: FileMeta{Size: 0}}}, tomb, 1764650000)
	// A real shard of "d" with one genuine tombstone among forged entries.
	sd, err := f.shard(ctx, h, "d", true)
	if err != nil {
		t.Fatal(err)
	}
	err = sd.Modify(ctx, func(es dirnode.Entries) error {
		es["real"] = good
		es["noversions"] = &dirnode.Entry{ReadCap: c, Metadata: map[string]any{"lafssync": map[string]any{"v": 1.0, "versions": []any{}, "deleted": map[string]any{"by": "EVIL"}}}}
		es["garbage"] = &dirnode.Entry{ReadCap: c, Metadata: map[string]any{"lafssync": "not an object"}}
		es["badversions"] = &dirnode.Entry{ReadCap: c, Metadata: map[string]any{"lafssync": map[string]any{"versions": []any{1.0, "x", map[string]any{"cap": 7.0}}, "deleted": map[string]any{}}}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A shard link that claims to be "e"'s under another name.
	forged, err := f.newDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := forged.Modify(ctx, func(es dirnode.Entries) error { es["forged"] = good; return nil }); err != nil {
		t.Fatal(err)
	}
	hd, err := f.open(h.history)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hd.Link(ctx, shardName("elsewhere"), forged.Cap(), map[string]any{"lafssync": map[string]any{"v": 1.0, "dir": "e"}}, dirnode.ReplaceNothing); err != nil {
		t.Fatal(err)
	}
	l, truncated, err := f.Deleted(ctx, "", 0)
	if err != nil || truncated || len(l) != 1 || l[0].Path != "d/real" || l[0].By != "EVIL" {
		t.Fatalf("listed %+v (truncated %v, %v); want only d/real", l, truncated, err)
	}
}
