package immutable

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/lafssync/lafssync/grid/storage"
)

// diesMidUpload is a storage server as a dying client leaves it: writes
// fail after a budget, and no abort ever arrives (kill -9, power cut).
type diesMidUpload struct {
	storage.Server
	writes *atomic.Int32
}

var errDied = errors.New("the uploading process died")

func (d diesMidUpload) WriteShare(ctx context.Context, si storage.SI, shnum int, secret storage.Secret, off uint64, data []byte) (bool, error) {
	if d.writes.Add(-1) < 0 {
		return false, errDied
	}
	return d.Server.WriteShare(ctx, si, shnum, secret, off, data)
}

func (d diesMidUpload) AbortShare(context.Context, storage.SI, int, storage.Secret) error { return nil }

// TestUploadAfterDyingMidUploadFinishes: a client killed during an upload
// leaves incomplete shares on the servers; restarted, the same client must
// be able to upload the same file (the sync engine does exactly that)
// rather than be refused until the servers' idle abort, half an hour later.
func TestUploadAfterDyingMidUploadFinishes(t *testing.T) {
	c, _ := newClient(10)
	d := data(2<<20, 7) // ~700 KB shares, two writes or more each: the budget leaves some incomplete
	var budget atomic.Int32
	budget.Store(15)
	dying := *c
	dying.Servers = nil
	for _, s := range c.Servers {
		dying.Servers = append(dying.Servers, diesMidUpload{Server: s, writes: &budget})
	}
	if _, err := dying.Upload(context.Background(), bytes.NewReader(d)); err == nil {
		t.Fatal("the dying upload succeeded; the test needs it to fail midway")
	}
	restarted := *c // the same node's secrets after a restart
	up, err := restarted.Upload(context.Background(), bytes.NewReader(d))
	if err != nil {
		t.Fatalf("re-upload after a client died mid-upload: %v", err)
	}
	var out bytes.Buffer
	if _, err := restarted.Download(context.Background(), up.Cap, &out); err != nil || !bytes.Equal(out.Bytes(), d) {
		t.Fatalf("download after the resumed upload: %v", err)
	}
	// Another client (other secrets) still cannot write those shares.
	other := *c
	other.LeaseSecret = []byte("someone else")
	if s1, s2 := mustSecret(t, c), mustSecret(t, &other); s1 == s2 {
		t.Fatal("two clients derive the same upload secret")
	}
}

func mustSecret(t *testing.T, c *Client) storage.Secret {
	t.Helper()
	s, err := c.uploadSecret(storage.SI{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
