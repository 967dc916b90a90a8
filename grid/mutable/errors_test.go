package mutable

import (
	"context"
	"errors"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/storage"
)

// Mutable reads fail with the same vocabulary as immutable ones: offline
// servers match storage.ErrUnavailable (and a grid where no server answers
// is not "not found"), corrupt shares *storage.CorruptShareError, and both
// storage.ErrNotEnoughShares.
func TestReadErrorsTellOfflineFromCorrupt(t *testing.T) {
	ctx := context.Background()
	ms, _, f := newFileOn(t, cap.MDMF, random(2*MaxSegmentSize+100), 0)

	for _, m := range ms {
		m.SetOffline(true)
	}
	_, _, err := f.Read(ctx)
	if !errors.Is(err, storage.ErrNotEnoughShares) || !errors.Is(err, storage.ErrUnavailable) || errors.Is(err, ErrNotFound) {
		t.Fatalf("every server offline: %v", err)
	}
	for _, m := range ms[8:] {
		m.SetOffline(false)
	}
	_, _, err = f.Read(ctx)
	if !errors.Is(err, storage.ErrNotEnoughShares) || !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("2 of 10 servers answering: %v", err)
	}
	for _, m := range ms {
		m.SetOffline(false)
	}

	// Corrupt a block of 8 shares: the prefix checks pass, the blocks do not.
	for _, m := range ms[:8] {
		shs, _ := m.ListMutableShares(ctx, f.si)
		b, _ := m.ReadMutableShare(ctx, f.si, shs[0], 0, 1<<30)
		m.CorruptMutable(f.si, shs[0], len(b)-100)
	}
	_, _, err = f.Read(ctx)
	var ce *storage.CorruptShareError
	if !errors.Is(err, storage.ErrNotEnoughShares) || !errors.As(err, &ce) || errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("8 of 10 shares corrupt: %v", err)
	}
	if ce.Kind != storage.Mutable || ce.Server == "" || ce.Reason == "" {
		t.Errorf("corrupt share error %+v", ce)
	}
}
