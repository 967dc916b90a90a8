package store

import (
	"errors"
	"slices"
	"testing"

	"github.com/lafssync/lafssync/grid/storage"
)

// SetLimits turns read-only and the reserved space on and off while the
// store serves: new allocations and mutable writes follow at once, an
// upload allocated before read-only completes, and the limits come off
// again.
func TestSetLimitsWhileServing(t *testing.T) {
	s := open(t, t.TempDir(), Options{FreeSpace: freeSpace(1 << 20)})
	ls := storage.LeaseSecrets{Renew: sec(1), Cancel: sec(2)}
	var before, si storage.SI
	before[0], si[0] = 1, 2
	if a, err := s.AllocateBuckets(ctx, before, ls, sec(9), []int{0}, 5); err != nil || !slices.Equal(a.Allocated, []int{0}) {
		t.Fatalf("allocation before read-only: %+v %v", a, err)
	}

	s.SetLimits(true, 0)
	if ro, _ := s.Limits(); !ro {
		t.Fatal("Limits after SetLimits(true, 0) says not read-only")
	}
	if a, err := s.AllocateBuckets(ctx, si, ls, sec(9), []int{0, 1}, 5); err != nil || len(a.Allocated) != 0 {
		t.Errorf("allocation on a read-only store: %+v %v, want none allocated", a, err)
	}
	w := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: []byte("x")}}}}
	if _, err := s.ReadTestWrite(ctx, si, sec(5), ls, w, nil); !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("mutable write on a read-only store: %v, want %v", err, storage.ErrReadOnly)
	}
	if v, err := s.Version(ctx); err != nil || v.AvailableSpace != 0 {
		t.Errorf("read-only store's version: %+v %v, want no space available", v, err)
	}
	if done, err := s.WriteShare(ctx, before, 0, sec(9), 0, []byte("share")); err != nil || !done {
		t.Errorf("the upload allocated before read-only: %v %v, want it completed", done, err)
	}

	s.SetLimits(false, 1<<20) // all the free space reserved
	if a, err := s.AllocateBuckets(ctx, si, ls, sec(9), []int{0}, 5); err != nil || len(a.Allocated) != 0 {
		t.Errorf("allocation with every byte reserved: %+v %v, want none allocated", a, err)
	}
	s.SetLimits(false, 0)
	if a, err := s.AllocateBuckets(ctx, si, ls, sec(9), []int{0}, 5); err != nil || !slices.Equal(a.Allocated, []int{0}) {
		t.Errorf("allocation with the limits off again: %+v %v", a, err)
	}
}
