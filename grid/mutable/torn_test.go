package mutable

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/storage"
)

// publishOnly writes version seq of contents as the shares the servers
// in srvs hold, and nothing else: a torn write, as a writer that lost
// the race on the other servers leaves it.
func publishOnly(t *testing.T, f *File, contents []byte, seq uint64, srvs map[int]bool) Version {
	t.Helper()
	ctx := context.Background()
	m, err := f.mapServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.loadKey(ctx, m); err != nil {
		t.Fatal(err)
	}
	e, err := f.encode(contents, seq, 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	writes, lengths := map[int][]storage.WriteVector{}, map[int]uint64{}
	for _, s := range m.shares {
		if srvs[s.srv] {
			writes[s.shnum] = []storage.WriteVector{{Offset: 0, Data: e.shares[s.shnum].marshal()}}
			lengths[s.shnum] = e.shares[s.shnum].h.offEOF
		}
	}
	v, err := f.place(ctx, m, m.shares, e.h, writes, lengths, false)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// hybrid is a servermap as a writer whose map straddles another write
// takes it: early for most servers, late for those in lateSrv.
func hybrid(early, late *servermap, lateSrv map[int]bool) *servermap {
	m := *early
	m.shares = nil
	for _, s := range early.shares {
		if !lateSrv[s.srv] {
			m.shares = append(m.shares, s)
		}
	}
	for _, s := range late.shares {
		if lateSrv[s.srv] {
			m.shares = append(m.shares, s)
		}
	}
	m.index()
	return &m
}

// Two writers left torn versions of the same seqnum (W on servers 0-3,
// the newest for readers by root hash; L on 4-9). Each then writes again
// on top of its own, as dirnode does to confirm a change that reported a
// conflict: A based on W, B based on L with a map taken while A's write
// was landing. Each leaves the other's servers alone (their shares are
// newer than its base), so their writes never meet a test vector — and
// before, both reported success, while readers get only B's (the higher
// seqnum): A's change was lost (TestConcurrentCommits' rare "applied put
// is not on the grid"). A write that left another version's shares in
// place now reports a conflict, though its shares landed; the caller
// re-reads and writes again, on top of the newest.
func TestWritersLeavingEachOthersSharesCannotBothSucceed(t *testing.T) {
	ctx := context.Background()
	for _, format := range []cap.Format{cap.SDMF, cap.MDMF} {
		t.Run(format.String(), func(t *testing.T) {
			_, servers, f := newFileOn(t, format, []byte("base"), 1)
			a, _ := Open(f.WriteCap(), servers, Options{Logger: quiet})
			b, _ := Open(f.WriteCap(), servers, Options{Logger: quiet})
			low, high := map[int]bool{0: true, 1: true, 2: true, 3: true}, map[int]bool{4: true, 5: true, 6: true, 7: true, 8: true, 9: true}
			// Try contents until the version on servers 0-3 is the one
			// readers pick (the higher root hash of the two).
			var w, l Version
			for i := 0; ; i++ {
				if i == 20 {
					t.Fatal("no pair of versions with the 4-server one newest by root")
				}
				w = publishOnly(t, a, []byte("A's change"), 2, low)
				l = publishOnly(t, b, []byte("B's change"), 2, high)
				if bytes.Compare(w.RootHash[:], l.RootHash[:]) > 0 {
					break
				}
			}
			early, err := b.mapServers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v := early.newest(); v == nil || v.id() != w {
				t.Fatalf("readers should get W %v now, get %v", w, v)
			}
			_, errA := a.Replace(ctx, []byte("A's change, confirmed"), w)
			late, err := b.mapServers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			mB := hybrid(early, late, map[int]bool{0: true, 1: true}) // A's write seen on 2 of its 4 servers
			if err := mB.checkBase(l); err != nil {
				t.Fatalf("B's straddling map should show L newest: %v", err)
			}
			if err := b.loadKey(ctx, mB); err != nil {
				t.Fatal(err)
			}
			_, errB := b.publish(ctx, mB, []byte("B's change, confirmed"), mB.maxSeq+1, 3, 10)
			got, _, err := f.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("A: %v; B: %v; readers get %q", errA, errB, got)
			if errA == nil && string(got) != "A's change, confirmed" {
				t.Errorf("A's write reported success, but readers get %q", got)
			}
			if errB == nil && string(got) != "B's change, confirmed" {
				t.Errorf("B's write reported success, but readers get %q", got)
			}
			for _, err := range []error{errA, errB} {
				if err != nil && !errors.Is(err, ErrUncoordinated) {
					t.Errorf("a write that left another version in place: %v, want a conflict", err)
				}
			}
		})
	}
}
