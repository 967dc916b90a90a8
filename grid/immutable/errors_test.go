package immutable

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/lafssync/lafssync/grid/storage"
)

// A download that fails tells why with the grid's one vocabulary: servers
// offline match storage.ErrUnavailable, corrupt shares
// storage.ErrCorruptShare (a *storage.CorruptShareError naming the share),
// and both storage.ErrNotEnoughShares.
func TestDownloadErrorsTellOfflineFromCorrupt(t *testing.T) {
	ctx := context.Background()
	c, ms := newClient(10)
	cp := roundTrip(t, c, data(30000, 5))
	si, _ := cp.StorageIndex()

	for _, m := range ms[:8] {
		m.SetOffline(true)
	}
	_, err := c.Download(ctx, cp, &bytes.Buffer{})
	var ue *storage.UnavailableError
	if !errors.Is(err, storage.ErrNotEnoughShares) || !errors.Is(err, storage.ErrUnavailable) || !errors.As(err, &ue) ||
		errors.Is(err, storage.ErrCorruptShare) {
		t.Fatalf("8 of 10 servers offline: %v", err)
	}
	for _, m := range ms {
		m.SetOffline(false)
	}

	for _, m := range ms[:8] {
		shares, _ := m.ListShares(ctx, si)
		m.Corrupt(si, shares[0], 40)
	}
	_, err = c.Download(ctx, cp, &bytes.Buffer{})
	var ce *storage.CorruptShareError
	if !errors.Is(err, storage.ErrNotEnoughShares) || !errors.As(err, &ce) || errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("8 of 10 shares corrupt: %v", err)
	}
	if ce.Kind != storage.Immutable || ce.Reason == "" {
		t.Errorf("corrupt share error %+v", ce)
	}
}
