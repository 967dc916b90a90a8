package dirnode

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

// countingFile counts the reads of the mutable file under a directory and
// calls afterRead once each read returned.
type countingFile struct {
	File
	mu        sync.Mutex
	reads     int
	afterRead func(n int, err error)
}

func (c *countingFile) Read(ctx context.Context) ([]byte, mutable.Version, error) {
	b, v, err := c.File.Read(ctx)
	c.mu.Lock()
	c.reads++
	n := c.reads
	c.mu.Unlock()
	if c.afterRead != nil {
		c.afterRead(n, err)
	}
	return b, v, err
}

// A directory edit whose read finds too few servers answering (8 of 10
// offline: fewer than k=3 shares) retries with back-off instead of failing
// at once; the servers are back for the second attempt, which succeeds.
// On 49dcbdd the edit failed on the first read.
func TestModifyRetriesWhenServersAreOffline(t *testing.T) {
	keysOnce.Do(func() { pool = mutable.NewKeyPool(8) })
	ms, servers := mem.NewGrid(10)
	c := &Client{Servers: servers, Options: newClient(t).Options}
	root, err := c.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Set(ctx, "a", "URI:LIT:", "", nil, false); err != nil {
		t.Fatal(err)
	}
	mf, err := mutable.Open(root.Cap().(*cap.Dir).File.String(), servers, c.Options)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:8] {
		m.SetOffline(true)
	}
	var firstErr error
	f := &countingFile{File: mf, afterRead: func(n int, err error) {
		if n == 1 {
			firstErr = err
			for _, m := range ms {
				m.SetOffline(false)
			}
		}
	}}
	d, err := New(f, root.Cap())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Set(ctx, "b", "URI:LIT:", "", nil, false); err != nil {
		t.Fatalf("edit after the servers came back: %v", err)
	}
	if !errors.Is(firstErr, storage.ErrNotEnoughShares) && !errors.Is(firstErr, storage.ErrUnavailable) {
		t.Fatalf("first read failed with %v; the test needs a transient failure", firstErr)
	}
	if f.reads != 2 {
		t.Errorf("%d reads, want 2 (one failed, one after the servers came back)", f.reads)
	}
	names, _, err := root.List(ctx)
	if err != nil || fmt.Sprint(names) != "[a b]" {
		t.Errorf("directory holds %v (%v), want [a b]", names, err)
	}
}

// Which failures are retried and which end the operation at once, counted
// in reads and writes of the directory's file.
func TestModifyRetriesOnlyTransientFailures(t *testing.T) {
	down := storage.Unavailable(storage.ServerInfo{ID: "s1", Nickname: "s1"}, errors.New("connection refused"))
	onFirst := func(err error) func(int) error {
		return func(n int) error {
			if n == 1 {
				return err
			}
			return nil
		}
	}
	always := func(err error) func(int) error { return func(int) error { return err } }
	tests := []struct {
		name          string
		read, replace func(int) error
		readOnly      bool
		wantOK        bool
		reads, writes int
	}{
		{name: "read: server unavailable", read: onFirst(fmt.Errorf("read: %w", down)), wantOK: true, reads: 2, writes: 1},
		{name: "read: not enough shares", read: onFirst(fmt.Errorf("read: %w", storage.ErrNotEnoughShares)), wantOK: true, reads: 2, writes: 1},
		{name: "read: conflict", read: onFirst(&mutable.ConflictError{Detail: "race"}), wantOK: true, reads: 2, writes: 1},
		{name: "read: call timed out", read: onFirst(fmt.Errorf("read: %w", context.DeadlineExceeded)), wantOK: true, reads: 2, writes: 1},
		{name: "write: server unavailable", replace: onFirst(fmt.Errorf("only 1 distinct shares written: %w", down)), wantOK: true, reads: 2, writes: 2},
		{name: "read: not found", read: always(mutable.ErrNotFound), reads: 1},
		{name: "read: not found while servers were down", read: onFirst(fmt.Errorf("%w: %w", mutable.ErrNotFound, down)), wantOK: true, reads: 2, writes: 1},
		{name: "read: malformed directory", read: always(errors.New("netstring: bad length")), reads: 1},
		{name: "write: no space", replace: always(fmt.Errorf("place: %w", storage.ErrNoSpace)), reads: 1, writes: 1},
		{name: "write: read-only cap", replace: always(mutable.ErrReadOnly), reads: 1, writes: 1},
		{name: "read-only directory", readOnly: true},
		{name: "unavailable every time", read: always(down), reads: 1 + maxTransient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFile{read: tc.read, replace: tc.replace}
			d := fakeDir(t, f, 1)
			if tc.readOnly {
				d.writeKey = nil
			}
			err := d.Set(ctx, "a", "URI:LIT:", "", nil, false)
			if (err == nil) != tc.wantOK {
				t.Fatalf("Set: %v, want success %v", err, tc.wantOK)
			}
			if f.reads != tc.reads || f.writes != tc.writes {
				t.Errorf("%d reads and %d writes, want %d and %d", f.reads, f.writes, tc.reads, tc.writes)
			}
		})
	}
}

// The caller's own error is the answer even when it looks transient: it
// is returned at once, not retried.
func TestModifyDoesNotRetryTheCallersError(t *testing.T) {
	f := &fakeFile{}
	d := fakeDir(t, f, 1)
	calls := 0
	err := d.Modify(ctx, func(Entries) error { calls++; return storage.ErrUnavailable })
	if !errors.Is(err, storage.ErrUnavailable) || calls > 2 || f.writes != 0 {
		t.Fatalf("Modify: %v after %d calls and %d writes", err, calls, f.writes)
	}
}
