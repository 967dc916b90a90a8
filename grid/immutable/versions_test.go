package immutable

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

// counting counts the placement requests a server answers.
type counting struct {
	*mem.Server
	mu                   sync.Mutex
	version, list, alloc int
	abort, write         int
}

func (c *counting) WriteShare(ctx context.Context, si storage.SI, sh int, up storage.Secret, off uint64, data []byte) (bool, error) {
	c.mu.Lock()
	c.write++
	c.mu.Unlock()
	return c.Server.WriteShare(ctx, si, sh, up, off, data)
}

// writes returns the share writes over cs and resets them.
func writes(cs []*counting) (n int) {
	for _, c := range cs {
		c.mu.Lock()
		n, c.write = n+c.write, 0
		c.mu.Unlock()
	}
	return n
}

func (c *counting) Version(ctx context.Context) (storage.Version, error) {
	c.mu.Lock()
	c.version++
	c.mu.Unlock()
	return c.Server.Version(ctx)
}

func (c *counting) ListShares(ctx context.Context, si storage.SI) ([]int, error) {
	c.mu.Lock()
	c.list++
	c.mu.Unlock()
	return c.Server.ListShares(ctx, si)
}

func (c *counting) AllocateBuckets(ctx context.Context, si storage.SI, ls storage.LeaseSecrets, up storage.Secret, shares []int, size uint64) (storage.Allocation, error) {
	c.mu.Lock()
	c.alloc++
	c.mu.Unlock()
	return c.Server.AllocateBuckets(ctx, si, ls, up, shares, size)
}

func (c *counting) AbortShare(ctx context.Context, si storage.SI, sh int, up storage.Secret) error {
	c.mu.Lock()
	c.abort++
	c.mu.Unlock()
	return c.Server.AbortShare(ctx, si, sh, up)
}

// counts returns the totals over cs and resets them.
func counts(cs []*counting) (version, list, alloc, abort int) {
	for _, c := range cs {
		c.mu.Lock()
		version, list, alloc, abort = version+c.version, list+c.list, alloc+c.alloc, abort+c.abort
		c.version, c.list, c.alloc, c.abort = 0, 0, 0, 0
		c.mu.Unlock()
	}
	return
}

func countingClient(n int, vc *VersionCache) (*Client, []*mem.Server, []*counting) {
	c, ms := newClient(n)
	cs := make([]*counting, n)
	for i, m := range ms {
		cs[i] = &counting{Server: m}
		c.Servers[i] = cs[i]
	}
	c.Versions = vc
	return c, ms, cs
}

// usage is what servers count as used, and the bytes of si's complete
// shares on them; between two calls around an upload of si, the growth of
// the first beyond that of the second is space reserved for shares that
// never completed.
func usage(ms []*mem.Server, si storage.SI) (used, complete uint64) {
	for _, m := range ms {
		used += m.Used()
		for sh := 0; sh < 256; sh++ {
			if b, ok := m.Share(si, sh); ok {
				complete += uint64(len(b))
			}
		}
	}
	return used, complete
}

// A file new to the grid costs one allocation per server and no share
// listing; with the cache, the servers are asked for their version once,
// not before every file.
func TestFreshUploadRequests(t *testing.T) {
	ctx := context.Background()
	c, _, cs := countingClient(10, NewVersionCache(time.Hour))
	for i := 0; i < 3; i++ {
		if _, err := c.Upload(ctx, bytes.NewReader(data(5000, int64(100+i)))); err != nil {
			t.Fatal(err)
		}
		v, l, a, ab := counts(cs)
		wantV := 0
		if i == 0 {
			wantV = 10
		}
		if v != wantV || l != 0 || a != 10 || ab != 0 {
			t.Errorf("upload %d: %d version, %d list, %d allocate, %d abort requests; want %d, 0, 10, 0", i, v, l, a, ab, wantV)
		}
		// A small file's share (header, blocks, hashes) goes in one write.
		if w := writes(cs); w != 10 {
			t.Errorf("upload %d: %d share writes, want 10 (one per share)", i, w)
		}
	}
	// Without a cache every upload asks every server.
	c, _, cs = countingClient(10, nil)
	for i := 0; i < 2; i++ {
		if _, err := c.Upload(ctx, bytes.NewReader(data(5000, int64(200+i)))); err != nil {
			t.Fatal(err)
		}
		if v, l, a, _ := counts(cs); v != 10 || l != 0 || a != 10 {
			t.Errorf("uncached upload %d: %d version, %d list, %d allocate; want 10, 0, 10", i, v, l, a)
		}
	}
}

// When a server already holds a share of the file, the upload places from
// what every server holds: the share there counts, what the guess
// reserved is used or released (nothing stays reserved), and the file
// reads back.
func TestUploadOverPartlyPresentFile(t *testing.T) {
	ctx := context.Background()
	c, ms, cs := countingClient(10, NewVersionCache(time.Hour))
	d := data(30000, 7)
	first, err := c.Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	si, _ := first.Cap.StorageIndex()
	// Keep two shares on the grid, each on the server that has it.
	kept := map[int]bool{}
	for _, m := range ms {
		for sh := 0; sh < 10; sh++ {
			if _, ok := m.Share(si, sh); ok && len(kept) < 2 && !kept[sh] {
				kept[sh] = true
				continue
			}
			m.Delete(si, sh)
		}
	}
	counts(cs)
	u0, c0 := usage(ms, si)
	again, err := c.Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	if again.Cap.String() != first.Cap.String() || again.Uploaded != 8 || len(again.Placement) != 10 {
		t.Errorf("second upload: same cap %v, %d shares uploaded (want 8), %d placed (want 10)", again.Cap.String() == first.Cap.String(), again.Uploaded, len(again.Placement))
	}
	if _, l, _, _ := counts(cs); l != 10 {
		t.Errorf("second upload: %d list requests, want 10: it surveyed", l)
	}
	if u1, c1 := usage(ms, si); u1-u0 != c1-c0 {
		t.Errorf("%d bytes left reserved for uploads that never completed", (u1-u0)-(c1-c0))
	}
	var out bytes.Buffer
	if _, err := c.Download(ctx, again.Cap, &out); err != nil || !bytes.Equal(out.Bytes(), d) {
		t.Fatalf("read back: %v", err)
	}
}

// A server that turned read-only after its version was cached refuses
// the allocation; the upload asks it again and places around it.
func TestCachedVersionOfServerThatFilledUp(t *testing.T) {
	ctx := context.Background()
	c, ms, cs := countingClient(11, NewVersionCache(time.Hour))
	if _, err := c.Upload(ctx, bytes.NewReader(data(5000, 1))); err != nil {
		t.Fatal(err)
	}
	counts(cs)
	d := data(5000, 2)
	// The server first on the next file's ring (the same convergence
	// secret and parameters give the same storage index on a throwaway
	// grid).
	probe, _ := newClient(10)
	pu, err := probe.Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	si, _ := pu.Cap.StorageIndex()
	full := c.ring(si)[0].(*counting)
	full.SetReadOnly(true)
	u0, c0 := usage(ms, si)
	up, err := c.Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	for sh, id := range up.Placement {
		if id == full.Info().ID {
			t.Errorf("share %d placed on the read-only server", sh)
		}
	}
	if full.version != 1 {
		t.Errorf("the read-only server was asked its version %d times after refusing; want 1", full.version)
	}
	if u1, c1 := usage(ms, si); u1-u0 != c1-c0 {
		t.Errorf("%d bytes left reserved (used %d→%d, complete %d→%d, placement %v)", (u1-u0)-(c1-c0), u0, u1, c0, c1, len(up.Placement))
	}
}

func TestVersionCacheExpires(t *testing.T) {
	ctx := context.Background()
	m := &counting{Server: mem.New("a")}
	vc := NewVersionCache(time.Minute)
	now := time.Unix(1000, 0)
	vc.now = func() time.Time { return now }
	for range 3 {
		if _, err := vc.version(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if m.version != 1 {
		t.Fatalf("%d requests within the max age; want 1", m.version)
	}
	v0, _ := m.Server.Version(ctx)
	vc.reserved(m, 1000)
	if v, _ := vc.version(ctx, m); v.AvailableSpace != v0.AvailableSpace-1000 {
		t.Errorf("after reserving 1000 bytes the cache says %d free; want %d", v.AvailableSpace, v0.AvailableSpace-1000)
	}
	now = now.Add(time.Minute)
	if _, err := vc.version(ctx, m); err != nil || m.version != 2 {
		t.Errorf("after the max age: %d requests (want 2), %v", m.version, err)
	}
	vc.forget(m)
	vc.version(ctx, m)
	if m.version != 3 {
		t.Errorf("after forget: %d requests; want 3", m.version)
	}
	m.SetOffline(true)
	vc.forget(m)
	if _, err := vc.version(ctx, m); err == nil {
		t.Error("an offline server's version came from nowhere")
	}
	m.SetOffline(false)
	if _, err := vc.version(ctx, m); err != nil || m.version != 5 {
		t.Errorf("a failed answer was cached: %d requests, %v", m.version, err)
	}
}

// A share of the file on another server than the guess puts it: the
// guess's reservations the final placement does not use are released.
func TestGuessReleasedWhenPlacementMovesShares(t *testing.T) {
	ctx := context.Background()
	c, ms, _ := countingClient(10, NewVersionCache(time.Hour))
	d := data(30000, 9)
	first, err := c.Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	si, _ := first.Cap.StorageIndex()
	ring := c.ring(si)
	// Share 0's bytes, then every share gone; share 0 goes back onto the
	// server the guess gives share 5 (another uploader put it there).
	var share0 []byte
	for _, m := range ms {
		if b, ok := m.Share(si, 0); ok {
			share0 = append([]byte(nil), b...)
		}
		for sh := 0; sh < 10; sh++ {
			m.Delete(si, sh)
		}
	}
	if share0 == nil {
		t.Fatal("no server held share 0")
	}
	other := ring[5].(*counting)
	var sec storage.Secret
	sec[0] = 7
	if _, err := other.Server.AllocateBuckets(ctx, si, storage.LeaseSecrets{}, sec, []int{0}, uint64(len(share0))); err != nil {
		t.Fatal(err)
	}
	if done, err := other.Server.WriteShare(ctx, si, 0, sec, 0, share0); err != nil || !done {
		t.Fatalf("planting share 0: %v %v", done, err)
	}
	u0, c0 := usage(ms, si)
	again, err := c.Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	if again.Placement[0] != other.Info().ID || again.Uploaded != 9 {
		t.Errorf("share 0 placed on %s (want the server holding it), %d shares uploaded (want 9)", again.Placement[0], again.Uploaded)
	}
	if u1, c1 := usage(ms, si); u1-u0 != c1-c0 {
		t.Errorf("%d bytes left reserved for uploads that never completed", (u1-u0)-(c1-c0))
	}
	var out bytes.Buffer
	if _, err := c.Download(ctx, again.Cap, &out); err != nil || !bytes.Equal(out.Bytes(), d) {
		t.Fatalf("read back: %v", err)
	}
}
