package mem

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/storagetest"
)

func TestUploadRanges(t *testing.T) {
	ctx := context.Background()
	s := New("t")
	var si storage.SI
	var sec storage.Secret
	if _, err := s.AllocateBuckets(ctx, si, storage.LeaseSecrets{}, sec, []int{0}, 10); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		off      uint64
		data     string
		complete bool
		err      error
	}{
		{0, "abc", false, nil},
		{2, "cde", false, nil}, // identical overlap
		{3, "Xe", false, storage.ErrConflict},
		{8, "ij", false, nil},
		{9, "jk", false, storage.ErrOutOfRange},
		{5, "fgh", true, nil},
	}
	for _, st := range steps {
		done, err := s.WriteShare(ctx, si, 0, sec, st.off, []byte(st.data))
		if !errors.Is(err, st.err) || (err == nil && done != st.complete) {
			t.Fatalf("write %q at %d: complete %v err %v", st.data, st.off, done, err)
		}
	}
	got, _ := s.ReadShare(ctx, si, 0, 0, 100)
	if !bytes.Equal(got, []byte("abcdefghij")) {
		t.Errorf("share is %q", got)
	}
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Server { return New("conf") })
}

func TestUnavailable(t *testing.T) {
	storagetest.RunUnavailable(t, func(t *testing.T) storage.Server {
		s := New("down")
		s.SetOffline(true)
		return s
	})
}
