package mutable

import (
	"context"
	"errors"
	"strings"
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

// A publish that writes too few shares says why in words, never with a
// wrapped nil ("%!w(<nil>)", what POST /uri?t=mkdir showed on a node that
// reaches no server): no server at all is ErrNoServers, and servers that
// did not answer are named with their error.
func TestPublishTooFewSharesSaysWhy(t *testing.T) {
	ctx := context.Background()
	_, err := Create(ctx, nil, []byte("contents"), opts(cap.SDMF, testKey(t, 0)))
	if err == nil || strings.Contains(err.Error(), "%!") || !errors.Is(err, ErrNoServers) {
		t.Fatalf("create with no servers: %v", err)
	}
	if !strings.Contains(err.Error(), "only 0 distinct shares written, need 3: no storage server to write to") {
		t.Errorf("create with no servers says %q", err)
	}

	ms, servers := grid(4)
	for _, m := range ms {
		m.SetOffline(true)
	}
	_, err = Create(ctx, servers, []byte("contents"), opts(cap.SDMF, testKey(t, 0)))
	if err == nil || strings.Contains(err.Error(), "%!") || !errors.Is(err, storage.ErrUnavailable) || errors.Is(err, ErrNoServers) {
		t.Fatalf("create with every server offline: %v", err)
	}
	for _, s := range servers {
		if want := "server " + s.Info().Nickname + " did not answer"; !strings.Contains(err.Error(), want) {
			t.Errorf("create with every server offline says %q, want it to hold %q", err, want)
		}
	}
}
