package immutable

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

func newClient(n int) (*Client, []*mem.Server) {
	ms, ss := mem.NewGrid(n)
	p := DefaultParams()
	p.MaxSegmentSize = 4096 // many segments for small test files
	return &Client{Servers: ss, Params: p, Convergence: []byte("conv"), LeaseSecret: []byte("lease")}, ms
}

func data(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func roundTrip(t *testing.T, c *Client, d []byte) cap.Cap {
	t.Helper()
	ctx := context.Background()
	up, err := c.Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatalf("upload %d bytes: %v", len(d), err)
	}
	var out bytes.Buffer
	if _, err := c.Download(ctx, up.Cap, &out); err != nil {
		t.Fatalf("download %d bytes: %v", len(d), err)
	}
	if !bytes.Equal(out.Bytes(), d) {
		t.Fatalf("download of %d bytes differs", len(d))
	}
	return up.Cap
}

func TestRoundTripSizes(t *testing.T) {
	c, ms := newClient(10)
	for _, n := range []int{0, 1, 55, 56, 4095, 4096, 4097, 3*4096 + 1, 50000} {
		cp := roundTrip(t, c, data(n, int64(n)))
		wantLIT := n <= 55
		if (cp.Kind() == cap.KindLIT) != wantLIT {
			t.Errorf("%d bytes: cap kind %s", n, cp.Kind())
		}
	}
	// A CHK file is spread one share per server (10 servers, 10 shares).
	cp := roundTrip(t, c, data(10000, 99))
	si, _ := cp.StorageIndex()
	for _, m := range ms {
		if shares, _ := m.ListShares(context.Background(), si); len(shares) != 1 {
			t.Errorf("server %s holds %v", m.Info().Nickname, shares)
		}
	}
}

func TestSurvivesLosingNMinusK(t *testing.T) {
	c, ms := newClient(10)
	d := data(30000, 1)
	cp := roundTrip(t, c, d)
	rng := rand.New(rand.NewSource(2))
	for trial := 0; trial < 20; trial++ {
		for _, m := range ms {
			m.SetOffline(false)
		}
		for _, i := range rng.Perm(10)[:7] {
			ms[i].SetOffline(true)
		}
		var out bytes.Buffer
		if _, err := c.Download(context.Background(), cp, &out); err != nil || !bytes.Equal(out.Bytes(), d) {
			t.Fatalf("trial %d with 7 servers offline: %v", trial, err)
		}
	}
	for _, m := range ms {
		m.SetOffline(false)
	}
	for i := 0; i < 8; i++ {
		ms[i].SetOffline(true)
	}
	_, err := c.Download(context.Background(), cp, &bytes.Buffer{})
	var ne *NotEnoughSharesError
	if !errors.As(err, &ne) || !errors.Is(err, storage.ErrNotEnoughShares) || ne.Found != 2 {
		t.Fatalf("8 offline: %v", err)
	}
}

func TestCorruptSharesSkippedAndReported(t *testing.T) {
	c, ms := newClient(10)
	d := data(30000, 3)
	cp := roundTrip(t, c, d)
	si, _ := cp.StorageIndex()
	// Corrupt a block in 7 of the 10 shares: only 3 good ones remain.
	corrupted := 0
	for _, m := range ms[:7] {
		shares, _ := m.ListShares(context.Background(), si)
		if m.Corrupt(si, shares[0], 40) {
			corrupted++
		}
	}
	var out bytes.Buffer
	res, err := c.Download(context.Background(), cp, &out)
	if err != nil || !bytes.Equal(out.Bytes(), d) {
		t.Fatalf("download with %d corrupt shares: %v", corrupted, err)
	}
	if len(res.Bad) == 0 {
		t.Error("no bad shares reported")
	}
	advised := 0
	for _, m := range ms {
		advised += len(m.Corruptions())
	}
	if advised == 0 {
		t.Error("no corruption advisory reached any server")
	}
	for _, b := range res.Bad {
		if !strings.Contains(b.Reason, "corrupt") {
			t.Errorf("bad share %d: reason %q", b.Share, b.Reason)
		}
	}
}

func TestUnhappy(t *testing.T) {
	c, _ := newClient(5)
	_, err := c.Upload(context.Background(), bytes.NewReader(data(1000, 4)))
	var ue *UnhappyError
	if !errors.As(err, &ue) || ue.Happiness != 5 || ue.Needed != 7 {
		t.Fatalf("5 servers, happy=7: %v", err)
	}
	if !strings.Contains(err.Error(), "only 5") {
		t.Errorf("message: %v", err)
	}
	// Servers that refuse (read-only) are named in the reasons.
	c, ms := newClient(10)
	for _, m := range ms[:4] {
		m.SetReadOnly(true)
	}
	_, err = c.Upload(context.Background(), bytes.NewReader(data(1000, 5)))
	if !errors.As(err, &ue) || ue.Usable != 6 || !strings.Contains(err.Error(), "no room") {
		t.Fatalf("4 read-only of 10: %v", err)
	}
	// Nothing is left allocated.
	for _, m := range ms {
		if m.Used() != 0 {
			t.Errorf("%s still has %d bytes reserved", m.Info().Nickname, m.Used())
		}
	}
}

func TestServerFailsMidUpload(t *testing.T) {
	c, ms := newClient(10)
	c.Params.Happy = 5
	fail := &failAfter{Server: ms[3]}
	fail.writes.Store(1) // the share's first chunk goes through, the next write fails
	c.Servers[3] = fail
	d := data(3<<20, 6) // ~1 MiB shares: more than one write each (a small share goes in one)
	up, err := c.Upload(context.Background(), bytes.NewReader(d))
	if err != nil {
		t.Fatalf("upload with one failing server: %v", err)
	}
	if len(up.Placement) != 9 || up.Happiness != 9 {
		t.Errorf("placement %d shares, happiness %d", len(up.Placement), up.Happiness)
	}
	var out bytes.Buffer
	if _, err := c.Download(context.Background(), up.Cap, &out); err != nil || !bytes.Equal(out.Bytes(), d) {
		t.Fatal(err)
	}
}

type failAfter struct {
	*mem.Server
	writes atomic.Int64
}

func (f *failAfter) WriteShare(ctx context.Context, si storage.SI, sh int, s storage.Secret, off uint64, p []byte) (bool, error) {
	if f.writes.Add(-1) < 0 {
		return false, errors.New("connection reset")
	}
	return f.Server.WriteShare(ctx, si, sh, s, off, p)
}

func TestDedup(t *testing.T) {
	c, _ := newClient(10)
	d := data(20000, 7)
	a, err := c.Upload(context.Background(), bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Upload(context.Background(), bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	if a.Cap.String() != b.Cap.String() || a.Uploaded != 10 || b.Uploaded != 0 {
		t.Errorf("second upload: same cap %v, uploaded %d then %d", a.Cap.String() == b.Cap.String(), a.Uploaded, b.Uploaded)
	}
}

func TestRangeReads(t *testing.T) {
	c, ms := newClient(10)
	d := data(200000, 8)
	cp := roundTrip(t, c, d)
	for _, r := range [][2]int64{{0, 1}, {4095, 2}, {4096, 4096}, {199999, 1}, {12345, 20000}, {200000, 0}, {100, -1}} {
		var out bytes.Buffer
		if _, err := c.DownloadRange(context.Background(), cp, r[0], r[1], &out); err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		end := r[0] + r[1]
		if r[1] < 0 {
			end = int64(len(d))
		}
		if !bytes.Equal(out.Bytes(), d[r[0]:end]) {
			t.Errorf("range %v wrong", r)
		}
	}
	// A 1-byte read at the end fetches a small fraction of what a full
	// download does (shares' headers and hash trees, one segment's blocks).
	before := totalBytes(ms)
	c.DownloadRange(context.Background(), cp, 199999, 1, &bytes.Buffer{})
	small := totalBytes(ms) - before
	before = totalBytes(ms)
	c.Download(context.Background(), cp, &bytes.Buffer{})
	full := totalBytes(ms) - before
	if small*10 >= full {
		t.Errorf("1-byte range read %d share bytes, full download %d", small, full)
	}
	if _, err := c.DownloadRange(context.Background(), cp, 200001, 1, &bytes.Buffer{}); err == nil {
		t.Error("offset past the end accepted")
	}
}

func totalBytes(ms []*mem.Server) (n int) {
	for _, m := range ms {
		n += m.BytesRead()
	}
	return
}

func TestCheckVerifyRepair(t *testing.T) {
	c, ms := newClient(10)
	d := data(30000, 9)
	cp := roundTrip(t, c, d)
	ctx := context.Background()
	res, err := c.Check(ctx, cp, true)
	if err != nil || !res.Healthy || len(res.Shares) != 10 || res.Happiness != 10 {
		t.Fatalf("fresh file: %+v %v", res, err)
	}
	// Wipe 4 servers: still recoverable, not healthy.
	for _, m := range ms[:4] {
		m.Wipe()
	}
	res, _ = c.Check(ctx, cp, false)
	if res.Healthy || !res.Recoverable || len(res.Shares) != 6 {
		t.Fatalf("after wipe: %s", res.Summary())
	}
	rep, err := c.Repair(ctx, cp, false)
	if err != nil {
		t.Fatalf("repair: %v", err)
	}
	if rep.Placed != 4 || !rep.After.Healthy {
		t.Fatalf("repair placed %d; after: %s", rep.Placed, rep.After.Summary())
	}
	// The repaired shares are byte-identical: verify passes and a download
	// from only the repaired servers works.
	res, _ = c.Check(ctx, cp, true)
	if !res.Healthy {
		t.Fatalf("verify after repair: %s", res.Summary())
	}
	for _, m := range ms[4:] {
		m.SetOffline(true)
	}
	var out bytes.Buffer
	// Only 4 servers left; they hold 4 shares: enough for k=3.
	if _, err := c.Download(ctx, cp, &out); err != nil || !bytes.Equal(out.Bytes(), d) {
		t.Fatalf("download from repaired shares only: %v", err)
	}
	// Verify spots a corrupt share.
	for _, m := range ms[4:] {
		m.SetOffline(false)
	}
	si, _ := cp.StorageIndex()
	shares, _ := ms[5].ListShares(ctx, si)
	ms[5].Corrupt(si, shares[0], 200)
	res, _ = c.Check(ctx, cp, true)
	if res.Healthy || len(res.Bad) != 1 || res.Bad[0].Share != shares[0] {
		t.Fatalf("verify with a corrupt share: %s %+v", res.Summary(), res.Bad)
	}
	// Not recoverable: an error that says so.
	for _, m := range ms[:8] {
		m.Wipe()
	}
	if _, err := c.Repair(ctx, cp, false); err == nil || !strings.Contains(err.Error(), "not recoverable") {
		t.Fatalf("repair of a lost file: %v", err)
	}
}
