package remote

import (
	"context"
	"sync"
	"testing"
	"time"
)

// gridOf is set by the external tests' helper; internal tests build their
// own grid through testGrid (state_grid_test.go).

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
