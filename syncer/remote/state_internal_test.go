package remote

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/mutable"
)

func TestBumpStateConcurrentLosesNoGeneration(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := newTestGrid(10)
	a, err := Create(ctx, g, "DEVA")
	if err != nil {
		t.Fatal(err)
	}
	ha, _ := a.findHidden(ctx)
	type writer struct {
		f *Folder
		h *hiddenCaps
	}
	ws := []writer{{a, ha}}
	for _, dev := range []string{"DEVB", "DEVC", "DEVD"} {
		b, _ := Open(ctx, g, a.WriteCap(), dev)
		hb, err := b.findHidden(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, writer{b, hb})
	}
	const each = 8
	var mu sync.Mutex
	got := map[uint64]string{}
	var wg sync.WaitGroup
	for _, x := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				gen, err := x.f.bumpState(ctx, x.h, []string{x.f.device})
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				if prev, dup := got[gen]; dup {
					t.Errorf("generation %d returned to both %s and %s", gen, prev, x.f.device)
				}
				got[gen] = x.f.device
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	gen, dirs, full, err := a.Poll(ctx, 0)
	// A write that reported a conflict may have landed and is then done
	// again: extra generations are allowed, lost ones are not.
	if err != nil || gen < uint64(len(ws)*each) || full || len(dirs) != len(ws) {
		t.Fatalf("after %d bumps: gen %d dirs %v full %v err %v", len(ws)*each, gen, dirs, full, err)
	}
	sf, _ := a.openState(ha)
	data, _, _ := sf.Read(ctx)
	s, _ := decodeState(data)
	for gen, dev := range got {
		found := false
		for _, r := range s.Journal {
			found = found || r.Gen == gen && r.Device == dev
		}
		if !found {
			t.Errorf("generation %d by %s is not in the journal", gen, dev)
		}
	}
}

func TestPollJournalReach(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := newTestGrid(10)
	f, err := Create(ctx, g, "DEVA")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := f.findHidden(ctx)
	sf, _ := f.openState(h)
	s := &stateDoc{V: 1, Generation: 60}
	for gen := uint64(50); gen <= 60; gen++ {
		s.Journal = append(s.Journal, journalRecord{Gen: gen, Dir: "d"})
	}
	if _, err := sf.Replace(ctx, encodeState(s), mutable.Version{}); err != nil {
		t.Fatal(err)
	}
	if _, _, full, _ := f.Poll(ctx, 10); !full {
		t.Error("journal from 50, since 10: not full")
	}
	if gen, dirs, full, _ := f.Poll(ctx, 49); full || gen != 60 || len(dirs) != 1 {
		t.Errorf("journal from 50, since 49: gen %d dirs %v full %v", gen, dirs, full)
	}
	for _, bad := range []string{"not json", `{"v": 2, "generation": 3}`, `{"v": 1, "generation": 1, "journal": [{"gen": 5}]}`} {
		if _, err := sf.Replace(ctx, []byte(bad), mutable.Version{}); err != nil {
			t.Fatal(err)
		}
		if _, _, full, err := f.Poll(ctx, 1); !full || err != nil {
			t.Errorf("state %q: full %v err %v", bad, full, err)
		}
	}
	// The next commit starts state again; pollers walk once.
	if gen, err := f.bumpState(ctx, h, []string{""}); err != nil || gen != 1 {
		t.Fatalf("bump over a broken state: %d %v", gen, err)
	}
}
