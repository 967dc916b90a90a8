package storagetest

import (
	"errors"
	"testing"

	"github.com/lafssync/lafssync/grid/storage"
)

// RunUnavailable checks that every method of a server that cannot be
// reached fails with an error matching storage.ErrUnavailable and naming
// the server (*storage.UnavailableError with its ID), so callers can tell
// an offline server from a corrupt share or a full disk. newDown returns a
// server that is already unreachable (taken offline, its listener closed).
func RunUnavailable(t *testing.T, newDown func(t *testing.T) storage.Server) {
	s := newDown(t)
	id := s.Info().ID
	calls := []struct {
		name string
		call func() error
	}{
		{"Version", func() error { _, err := s.Version(ctx); return err }},
		{"AllocateBuckets", func() error {
			_, err := s.AllocateBuckets(ctx, si(1), lease(1), secret(1), []int{0}, 100)
			return err
		}},
		{"WriteShare", func() error { _, err := s.WriteShare(ctx, si(1), 0, secret(1), 0, []byte("x")); return err }},
		{"AbortShare", func() error { return s.AbortShare(ctx, si(1), 0, secret(1)) }},
		{"ListShares", func() error { _, err := s.ListShares(ctx, si(1)); return err }},
		{"ReadShare", func() error { _, err := s.ReadShare(ctx, si(1), 0, 0, 10); return err }},
		{"AddLease", func() error { return s.AddLease(ctx, si(1), lease(1)) }},
		{"AdviseCorrupt", func() error { return s.AdviseCorrupt(ctx, storage.Immutable, si(1), 0, "test") }},
		{"ListMutableShares", func() error { _, err := s.ListMutableShares(ctx, si(2)); return err }},
		{"ReadMutableShare", func() error { _, err := s.ReadMutableShare(ctx, si(2), 0, 0, 10); return err }},
		{"ReadTestWrite", func() error {
			_, err := s.ReadTestWrite(ctx, si(2), secret(2), lease(2),
				map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Offset: 0, Data: []byte("x")}}}}, nil)
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("%s on an unreachable server: %v, want an error matching storage.ErrUnavailable", c.name, err)
			}
			var ue *storage.UnavailableError
			if !errors.As(err, &ue) || ue.ID != id {
				t.Fatalf("%s: %v does not name server %s", c.name, err, id)
			}
			if errors.Is(err, storage.ErrCorruptShare) || errors.Is(err, storage.ErrNoSpace) || errors.Is(err, storage.ErrNotFound) {
				t.Errorf("%s: unavailability %v also matches another sentinel", c.name, err)
			}
		})
	}
}
