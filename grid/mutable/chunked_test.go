package mutable

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

// bodyLimited is a server that refuses a read-test-write carrying more
// than limit bytes of write data (as node/gbs refuses bodies over
// Limits.MaxRTWBody with 413), and can be told to fail every
// read-test-write after its next successful one (the writer "crashes"
// between two calls). It records the largest call it accepted.
type bodyLimited struct {
	storage.Server
	limit int

	mu         sync.Mutex // guards the fields below
	calls      int
	largest    int
	crashAfter int // >0: calls left before every later one fails
	crashed    bool
	// writer, if set, is shared by every server of a grid: the calls the
	// writer makes before it dies, after which every call fails.
	writer *writerLife
}

// writerLife counts down the read-test-write calls a writer makes, on
// any server, before it dies.
type writerLife struct {
	mu   sync.Mutex
	left int
}

func (w *writerLife) call() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.left <= 0 {
		return false
	}
	w.left--
	return true
}

var ctx = context.Background()

var errCrashed = errors.New("writer crashed (test fault)")

func (b *bodyLimited) ReadTestWrite(ctx context.Context, si storage.SI, we storage.Secret, ls storage.LeaseSecrets, tw map[int]storage.TestWrite, reads []storage.ReadVector) (storage.RTWResult, error) {
	n := 0
	for _, t := range tw {
		for _, w := range t.Writes {
			n += len(w.Data)
		}
	}
	if n > b.limit {
		return storage.RTWResult{}, fmt.Errorf("read-test-write of %d bytes: %w", n, storage.ErrTooLarge)
	}
	if b.writer != nil && !b.writer.call() {
		return storage.RTWResult{}, storage.Unavailable(b.Info(), errCrashed)
	}
	b.mu.Lock()
	if b.crashed {
		b.mu.Unlock()
		return storage.RTWResult{}, storage.Unavailable(b.Info(), errCrashed)
	}
	if b.crashAfter > 0 {
		if b.crashAfter--; b.crashAfter == 0 {
			b.crashed = true
		}
	}
	b.calls++
	b.largest = max(b.largest, n)
	b.mu.Unlock()
	return b.Server.ReadTestWrite(ctx, si, we, ls, tw, reads)
}

func limitedGrid(n, limit int) ([]*mem.Server, []*bodyLimited, []storage.Server) {
	ms, ss := grid(n)
	var bs []*bodyLimited
	for i := range ss {
		b := &bodyLimited{Server: ss[i], limit: limit}
		bs = append(bs, b)
		ss[i] = b
	}
	return ms, bs, ss
}

// A share larger than the server accepts in one read-test-write is
// written in several bounded calls and reads back; the 100 MiB-share case
// against node/gbs's 32 MiB body limit, scaled down: 64 KiB calls for
// shares of ~700 KiB. Ten servers (one share a call) and three (three or
// four shares a call), SDMF and MDMF, whole-file writes and MDMF in-place
// writes. On 49dcbdd every such write failed with ErrTooLarge.
func TestLargeSharesWrittenInBoundedCalls(t *testing.T) {
	const limit = 64 << 10
	for _, format := range []cap.Format{cap.SDMF, cap.MDMF} {
		for _, nsrv := range []int{10, 3} {
			t.Run(fmt.Sprintf("%v/%d servers", format, nsrv), func(t *testing.T) {
				_, bs, servers := limitedGrid(nsrv, limit)
				o := opts(format, testKey(t, 0))
				o.MaxWriteSize = limit
				data := random(2 << 20)
				f, err := Create(ctx, servers, data, o)
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				for _, b := range bs {
					if b.largest > limit {
						t.Errorf("%s accepted a %d-byte call", b.Info().Nickname, b.largest)
					}
					if b.calls < 2 {
						t.Errorf("%s got %d calls, want the share split", b.Info().Nickname, b.calls)
					}
				}
				g, err := Open(f.ReadCap(), servers, o)
				if err != nil {
					t.Fatal(err)
				}
				got, v1, err := g.Read(ctx)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("read back: %d bytes, %v", len(got), err)
				}
				next := random(2<<20 + 5000)
				v2, err := f.Replace(ctx, next, v1)
				if err != nil {
					t.Fatalf("replace: %v", err)
				}
				if got, v, err := g.Read(ctx); err != nil || v != v2 || !bytes.Equal(got, next) {
					t.Fatalf("read after replace: %d bytes of %v, %v", len(got), v, err)
				}
				patch := random(300 << 10)
				if _, err := f.WriteAt(ctx, patch, 1<<20, v2); err != nil {
					t.Fatalf("write at: %v", err)
				}
				copy(next[1<<20:], patch)
				if got, _, err := g.Read(ctx); err != nil || !bytes.Equal(got, next) {
					t.Fatalf("read after write at: %d bytes, %v", len(got), err)
				}
				res, err := g.Check(ctx, true)
				if err != nil || !res.Healthy {
					t.Fatalf("check: %v %v", res.Summary(), err)
				}
			})
		}
	}
}

// A large write cut short never reads as wrong bytes, and the version it
// was replacing stays readable:
//   - the writer dies after 12 calls (of the ~60 it needs, 6 a share, so
//     fewer than k new shares are complete): it wrote the servers not
//     needed to keep k old shares first, so the old version reads back, and Check reports the torn shares as bad (a repair makes
//     the file healthy again, with the old contents);
//   - every server fails after its first call: the servers keeping the
//     last k old shares are never touched, the write fails, and the old
//     version reads back;
//   - two servers fail mid-share: their shares go elsewhere, the new
//     version reads back, and Check reports the two torn shares as bad
//     until a repair.
func TestTornLargeWriteNeverReadsWrongBytes(t *testing.T) {
	const limit = 64 << 10
	for _, format := range []cap.Format{cap.SDMF, cap.MDMF} {
		for _, how := range []string{"writer dies", "every server fails"} {
			t.Run(format.String()+"/"+how, func(t *testing.T) {
				_, bs, servers := limitedGrid(10, limit)
				o := opts(format, testKey(t, 1))
				o.MaxWriteSize = limit
				old := random(1 << 20)
				f, err := Create(ctx, servers, old, o)
				if err != nil {
					t.Fatal(err)
				}
				life := &writerLife{left: 12}
				for _, b := range bs {
					if how == "writer dies" {
						b.writer = life
					} else {
						b.crashAfter = 1
					}
				}
				if _, err := f.Replace(ctx, random(1<<20), Version{}); err == nil {
					t.Fatal("a write cut short succeeded")
				}
				for _, b := range bs {
					b.writer, b.crashed, b.crashAfter = nil, false, 0
				}
				g, err := Open(f.WriteCap(), servers, o)
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := g.Read(ctx)
				if err != nil || !bytes.Equal(got, old) {
					t.Fatalf("read after a torn write: %d bytes (old version: %v), %v", len(got), bytes.Equal(got, old), err)
				}
				res, err := g.Check(ctx, true)
				if err != nil || res.Healthy {
					t.Fatalf("check after a torn write: %s, %v", res.Summary(), err)
				}
				rr, err := g.Repair(ctx, true)
				if err != nil || !rr.After.Healthy {
					t.Fatalf("repair after a torn write: %v, %v", rr.After.Summary(), err)
				}
				if got, _, err := g.Read(ctx); err != nil || !bytes.Equal(got, old) {
					t.Fatalf("read after repair: %d bytes, %v", len(got), err)
				}
			})
		}
		t.Run(format.String()+"/two servers", func(t *testing.T) {
			_, bs, servers := limitedGrid(10, limit)
			o := opts(format, testKey(t, 1))
			o.MaxWriteSize = limit
			f, err := Create(ctx, servers, random(1<<20), o)
			if err != nil {
				t.Fatal(err)
			}
			bs[2].crashAfter, bs[7].crashAfter = 1, 1
			next := random(1 << 20)
			if _, err := f.Replace(ctx, next, Version{}); err != nil {
				t.Fatalf("write with two servers failing mid-share: %v", err)
			}
			g, err := Open(f.ReadCap(), servers, o)
			if err != nil {
				t.Fatal(err)
			}
			if got, _, err := g.Read(ctx); err != nil || !bytes.Equal(got, next) {
				t.Fatalf("read: %d bytes, %v", len(got), err)
			}
			bs[2].crashed, bs[7].crashed = false, false
			res, err := g.Check(ctx, true)
			if err != nil || res.Healthy || len(res.Bad) < 2 {
				t.Fatalf("check with two torn shares: %v %v", res.Summary(), err)
			}
			rr, err := f.Repair(ctx, true)
			if err != nil || !rr.After.Healthy {
				t.Fatalf("repair: %v %v", rr.After.Summary(), err)
			}
			if got, _, err := g.Read(ctx); err != nil || !bytes.Equal(got, next) {
				t.Fatalf("read after repair: %d bytes, %v", len(got), err)
			}
		})
	}
}

// chunkWrites: every call within the limit, the first piece of each share
// holds the whole checkstring and carries the share's own test, later
// pieces test the new checkstring, new-length rides on the last piece,
// and the pieces put together are the original writes.
func TestChunkWrites(t *testing.T) {
	cs := bytes.Repeat([]byte{7}, sdmfCheckLen)
	oldTest := storage.TestVector{Offset: 0, Size: 1, Specimen: []byte{}}
	nl := uint64(30000)
	tw := map[int]storage.TestWrite{}
	for sh := 0; sh < 3; sh++ {
		tw[sh] = storage.TestWrite{Tests: []storage.TestVector{oldTest}, NewLength: &nl, Writes: []storage.WriteVector{
			{Offset: 20000, Data: bytes.Repeat([]byte{byte(sh)}, 10000)},
			{Offset: 0, Data: bytes.Repeat([]byte{byte(sh + 10)}, 20000)},
		}}
	}
	const limit = 4096
	calls := chunkWrites(tw, cs, limit)
	got := map[int][]byte{}
	seen := map[int]bool{}
	lengths := map[int]int{}
	for i, call := range calls {
		total := 0
		for sh, t1 := range call {
			for _, w := range t1.Writes {
				total += len(w.Data)
				if !seen[sh] && (w.Offset != 0 || len(w.Data) < len(cs)) {
					t.Errorf("call %d: share %d's first piece is %d bytes at %d", i, sh, len(w.Data), w.Offset)
				}
				if end := int(w.Offset) + len(w.Data); end > len(got[sh]) {
					got[sh] = append(got[sh], make([]byte, end-len(got[sh]))...)
				}
				copy(got[sh][w.Offset:], w.Data)
			}
			want := storage.TestVector{Offset: 0, Size: uint64(len(cs)), Specimen: cs}
			if !seen[sh] {
				want = oldTest
			}
			if len(t1.Tests) != 1 || !bytes.Equal(t1.Tests[0].Specimen, want.Specimen) || t1.Tests[0].Size != want.Size {
				t.Errorf("call %d share %d tests %+v, want %+v", i, sh, t1.Tests, want)
			}
			if t1.NewLength != nil {
				lengths[sh]++
			}
			seen[sh] = true
		}
		if total > limit {
			t.Errorf("call %d carries %d bytes", i, total)
		}
	}
	for sh := 0; sh < 3; sh++ {
		want := append(bytes.Repeat([]byte{byte(sh + 10)}, 20000), bytes.Repeat([]byte{byte(sh)}, 10000)...)
		if !bytes.Equal(got[sh], want) {
			t.Errorf("share %d reassembled wrong (%d bytes)", sh, len(got[sh]))
		}
		if lengths[sh] != 1 {
			t.Errorf("share %d: new-length sent %d times", sh, lengths[sh])
		}
	}
	// What fits goes in one call, unchanged.
	if c := chunkWrites(tw, cs, 1<<20); len(c) != 1 {
		t.Errorf("90 KB of writes under a 1 MiB limit: %d calls", len(c))
	}
}
