package mutable

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

// raceGrid makes a writer win the race against a reader every time, for
// as many rounds as left says: once the reader has mapped the servers
// (ListMutableShares re-arms it), its first read past a share's first
// bytes (the fetch of the block hash tree) is preceded by a complete
// publish of a new version through another handle. That is the window in
// which TestConcurrentCommits (syncer/remote) once saw all ten shares
// "corrupt".
type raceGrid struct {
	mu        sync.Mutex
	armed     bool
	left      int // publishes still to make
	published [][]byte
	writer    *File // on the plain servers
}

type racer struct {
	storage.Server
	g *raceGrid
}

func (r racer) ListMutableShares(ctx context.Context, si storage.SI) ([]int, error) {
	r.g.mu.Lock()
	r.g.armed = true
	r.g.mu.Unlock()
	return r.Server.ListMutableShares(ctx, si)
}

func (r racer) ReadMutableShare(ctx context.Context, si storage.SI, sh int, off, n uint64) ([]byte, error) {
	if off > 0 {
		r.g.mu.Lock()
		if r.g.armed && r.g.left > 0 {
			r.g.armed = false
			r.g.left--
			data := []byte(fmt.Sprintf("version %d written while a reader was reading ", len(r.g.published)+2))
			data = bytes.Repeat(data, 40)
			if _, err := r.g.writer.Replace(ctx, data, Version{}); err != nil {
				r.g.mu.Unlock()
				return nil, fmt.Errorf("racing writer: %w", err)
			}
			r.g.published = append(r.g.published, data)
		}
		r.g.mu.Unlock()
	}
	return r.Server.ReadMutableShare(ctx, si, sh, off, n)
}

// newRace makes a file on 10 servers and a reader handle whose servers
// let a writer in between map and fetch, rounds times.
func newRace(t *testing.T, format cap.Format, rounds int) (*raceGrid, []*mem.Server, *File) {
	t.Helper()
	ms, servers, f := newFileOn(t, format, bytes.Repeat([]byte("first version "), 300), 2)
	g := &raceGrid{left: rounds}
	w, err := Open(f.WriteCap(), servers, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	g.writer = w
	wrapped := make([]storage.Server, len(servers))
	for i, s := range servers {
		wrapped[i] = racer{s, g}
	}
	r, err := Open(f.ReadCap(), wrapped, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return g, ms, r
}

func advised(ms []*mem.Server) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Corruptions()...)
	}
	return out
}

// A read that loses the race to a writer five times in a row (more than
// the three immediate re-maps a read used to make) still reads the newest
// version, and no share is called corrupt or reported to its server.
func TestReadOutlastsWritersWithoutCallingSharesCorrupt(t *testing.T) {
	for _, format := range []cap.Format{cap.SDMF, cap.MDMF} {
		t.Run(format.String(), func(t *testing.T) {
			g, ms, r := newRace(t, format, 5)
			got, ver, err := r.Read(context.Background())
			if err != nil {
				t.Fatalf("read racing 5 writes: %v", err)
			}
			if len(g.published) != 5 {
				t.Fatalf("the writer published %d times, want 5 (the race did not happen as set up)", len(g.published))
			}
			if !bytes.Equal(got, g.published[4]) || ver.Seqnum != 6 {
				t.Errorf("read %q… at %v, want the 5th racing write at seqnum 6", got[:min(len(got), 30)], ver)
			}
			if a := advised(ms); len(a) > 0 {
				t.Errorf("shares replaced by a writer were reported corrupt: %q", a)
			}
		})
	}
}

// When writers never stop, the read gives up after the policy's tries
// with an error that says so (ErrChangedWhileReading) and is not a
// corruption, and Check does the same without advising any server.
func TestReadLosingEveryRaceSaysChangedNotCorrupt(t *testing.T) {
	for _, format := range []cap.Format{cap.SDMF, cap.MDMF} {
		t.Run(format.String(), func(t *testing.T) {
			g, ms, r := newRace(t, format, 1000)
			r.race = racePolicy{attempts: 4, first: time.Millisecond, max: 2 * time.Millisecond, budget: time.Minute}
			_, _, err := r.Read(context.Background())
			if !errors.Is(err, ErrChangedWhileReading) || !errors.Is(err, storage.ErrNotEnoughShares) {
				t.Fatalf("read losing every race: want ErrChangedWhileReading and ErrNotEnoughShares, got %v", err)
			}
			if errors.Is(err, storage.ErrCorruptShare) || strings.Contains(err.Error(), "corrupt") {
				t.Errorf("read losing every race says corrupt: %v", err)
			}
			if len(g.published) != 4 {
				t.Errorf("read made %d tries, want the policy's 4", len(g.published))
			}

			_, err = r.Check(context.Background(), true)
			if !errors.Is(err, ErrChangedWhileReading) || errors.Is(err, storage.ErrCorruptShare) {
				t.Fatalf("verify losing every race: %v", err)
			}
			if a := advised(ms); len(a) > 0 {
				t.Errorf("shares replaced by a writer were reported corrupt: %q", a)
			}
		})
	}
}

// The time budget stops the tries too, whatever the count allows.
func TestReadRaceRetryBoundedInTime(t *testing.T) {
	g, _, r := newRace(t, cap.MDMF, 1000)
	r.race = racePolicy{attempts: 1000, first: 20 * time.Millisecond, max: 20 * time.Millisecond, budget: 100 * time.Millisecond}
	start := time.Now()
	_, _, err := r.Read(context.Background())
	if !errors.Is(err, ErrChangedWhileReading) {
		t.Fatalf("read losing every race: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second || len(g.published) > 20 {
		t.Errorf("a 100 ms budget took %v and %d tries", d, len(g.published))
	}
}

// A verifying check that races writers twice reports the version it
// finally verified, healthy, with no share called bad.
func TestCheckRacingWritersFindsNoBadShares(t *testing.T) {
	g, ms, r := newRace(t, cap.MDMF, 2)
	res, err := r.Check(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.published) != 2 || res.Version.Seqnum != 3 || !res.Healthy || len(res.Bad) > 0 {
		t.Errorf("after %d racing writes: %s (version %v, bad %v)", len(g.published), res.Summary(), res.Version, res.Bad)
	}
	if a := advised(ms); len(a) > 0 {
		t.Errorf("shares replaced by a writer were reported corrupt: %q", a)
	}
}

// A share that really is corrupt (same checkstring, a bad block) is still
// called corrupt after the re-check, and reported by a verifying check.
func TestRecheckKeepsRealCorruption(t *testing.T) {
	ctx := context.Background()
	ms, _, f := newFileOn(t, cap.MDMF, random(2*MaxSegmentSize+100), 3)
	for _, m := range ms[:8] {
		shs, _ := m.ListMutableShares(ctx, f.si)
		b, _ := m.ReadMutableShare(ctx, f.si, shs[0], 0, 1<<30)
		m.CorruptMutable(f.si, shs[0], len(b)-100)
	}
	_, _, err := f.Read(ctx)
	if !errors.Is(err, storage.ErrCorruptShare) || errors.Is(err, ErrChangedWhileReading) || errors.Is(err, errShareChanged) {
		t.Fatalf("8 of 10 shares corrupt: %v", err)
	}
	res, err := f.Check(ctx, true)
	if err != nil || len(res.Bad) != 8 || len(advised(ms)) != 8 {
		t.Fatalf("verify of 8 corrupt shares: %v, %+v, advised %d", err, res, len(advised(ms)))
	}
}

// viewGrid shows the reader's first maps a fixed picture of the shares
// (views[j] for map j: (server, share) → bytes) and the real servers after.
type viewGrid struct {
	mu    sync.Mutex
	lists int         // ListMutableShares calls so far (10 per map)
	at    map[int]int // server → the map its last list was part of
	views []map[[2]int][]byte
}

// wrap returns servers as the readers of g see them.
func (g *viewGrid) wrap(servers []storage.Server) []storage.Server {
	out := make([]storage.Server, len(servers))
	for i, s := range servers {
		out[i] = viewer{s, i, g}
	}
	return out
}

type viewer struct {
	storage.Server
	i int
	g *viewGrid
}

func (v viewer) view() map[[2]int][]byte {
	v.g.mu.Lock()
	defer v.g.mu.Unlock()
	if j := v.g.at[v.i]; j < len(v.g.views) {
		return v.g.views[j]
	}
	return nil
}

func (v viewer) ListMutableShares(ctx context.Context, si storage.SI) ([]int, error) {
	v.g.mu.Lock()
	v.g.at[v.i] = v.g.lists / 10
	v.g.lists++
	v.g.mu.Unlock()
	view := v.view()
	if view == nil {
		return v.Server.ListMutableShares(ctx, si)
	}
	var out []int
	for k := range view {
		if k[0] == v.i {
			out = append(out, k[1])
		}
	}
	return out, nil
}

func (v viewer) ReadMutableShare(ctx context.Context, si storage.SI, sh int, off, n uint64) ([]byte, error) {
	view := v.view()
	if view == nil {
		return v.Server.ReadMutableShare(ctx, si, sh, off, n)
	}
	b := view[[2]int{v.i, sh}]
	off, end := min(off, uint64(len(b))), min(off+n, uint64(len(b)))
	return b[off:end], nil
}

// tornViews returns the file's shares of five successive versions mixed
// so that each version has two shares (fewer than k = 3): the first view
// gives servers 2j and 2j+1 version j+1, each later one shifts that by
// one server. The file itself ends at version 5 on every server.
func tornViews(t *testing.T, n int) ([]storage.Server, *File, []byte, []map[[2]int][]byte) {
	t.Helper()
	_, servers, f := newFileOn(t, cap.MDMF, []byte("version 1"), 4)
	snaps := []map[[2]int][]byte{snapshot(servers, f)}
	var last []byte
	for i := 2; i <= 5; i++ {
		last = []byte(fmt.Sprintf("version %d", i))
		if _, err := f.Replace(context.Background(), last, Version{}); err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, snapshot(servers, f))
	}
	var views []map[[2]int][]byte
	for j := 0; j < n; j++ {
		view := map[[2]int][]byte{}
		for k := range snaps[0] {
			view[k] = snaps[((k[0]+j)/2)%5][k]
		}
		views = append(views, view)
	}
	return servers, f, last, views
}

// Maps that catch writers mid-publish (several versions, none with k
// shares, a different mix each time) are tried again, and the read then
// gets the version they finished; before, the first such map failed the
// read with "no version has k shares".
func TestReadWaitsOutWritersMidPublish(t *testing.T) {
	servers, f, last, views := tornViews(t, 2)
	g := &viewGrid{at: map[int]int{}, views: views}
	r, err := Open(f.ReadCap(), g.wrap(servers), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	got, ver, err := r.Read(context.Background())
	if err != nil || !bytes.Equal(got, last) || ver.Seqnum != 5 {
		t.Fatalf("read after two maps mid-publish: %q at %v, %v", got, ver, err)
	}
	if g.lists != 30 {
		t.Errorf("%d maps, want 3", g.lists/10)
	}
	// A check waits them out the same way, and finds the file healthy.
	g2 := &viewGrid{at: map[int]int{}, views: views}
	c, _ := Open(f.ReadCap(), g2.wrap(servers), Options{Logger: quiet})
	res, err := c.Check(context.Background(), true)
	if err != nil || !res.Healthy || res.Version.Seqnum != 5 {
		t.Fatalf("check after two maps mid-publish: %+v, %v", res, err)
	}
}

// A grid left torn (the same unrecoverable mix at every map) is not
// waited on: the read fails at the second map with too few shares, and
// does not blame concurrent writers.
func TestReadOfTornGridFailsAtOnce(t *testing.T) {
	servers, f, _, views := tornViews(t, 1)
	for range 20 {
		views = append(views, views[0])
	}
	g := &viewGrid{at: map[int]int{}, views: views}
	r, err := Open(f.ReadCap(), g.wrap(servers), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = r.Read(context.Background())
	if !errors.Is(err, storage.ErrNotEnoughShares) || errors.Is(err, ErrChangedWhileReading) {
		t.Fatalf("read of a torn grid: %v", err)
	}
	if g.lists != 20 {
		t.Errorf("%d maps of a torn grid, want 2", g.lists/10)
	}
	// A check reports it (not recoverable) at the second map.
	g.lists, g.at = 0, map[int]int{}
	res, err := r.Check(context.Background(), false)
	if err != nil || res.Recoverable || g.lists != 20 {
		t.Fatalf("check of a torn grid: %+v, %v after %d maps", res, err, g.lists/10)
	}
}
