package immutable

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/grid/storage"
)

// BadShare is a share that failed verification or could not be read.
type BadShare struct {
	Server   string // nickname
	ServerID string
	Share    int // -1: the server could not list its shares
	Reason   string
	// Err is the cause: errors.Is(Err, storage.ErrCorruptShare) for a
	// share that failed verification, storage.ErrUnavailable for a server
	// that could not be reached.
	Err error
}

// DownloadResult describes a finished download.
type DownloadResult struct {
	Bytes int64
	// Used maps the shares blocks were taken from to their servers.
	Used map[int]string
	// Bad lists the shares that were corrupt or unreadable and skipped.
	Bad     []BadShare
	Elapsed time.Duration
}

// NotEnoughSharesError says why a file could not be recovered.
type NotEnoughSharesError struct {
	Needed int
	Found  int // distinct share numbers located
	Bad    []BadShare
}

func (e *NotEnoughSharesError) Error() string {
	var parts []string
	for _, b := range e.Bad {
		parts = append(parts, fmt.Sprintf("share %d on %s: %s", b.Share, b.Server, b.Reason))
	}
	msg := fmt.Sprintf("not enough good shares: need %d, found %d distinct", e.Needed, e.Found)
	if len(parts) > 0 {
		msg += " (" + strings.Join(parts, "; ") + ")"
	}
	return msg
}

// Unwrap gives storage.ErrNotEnoughShares and the cause of every bad
// share, so errors.Is tells "servers offline" (storage.ErrUnavailable) from
// "shares corrupt" (storage.ErrCorruptShare).
func (e *NotEnoughSharesError) Unwrap() []error {
	out := []error{storage.ErrNotEnoughShares}
	for _, b := range e.Bad {
		if b.Err != nil {
			out = append(out, b.Err)
		}
	}
	return out
}

// serverShare reads one share from one server.
type serverShare struct {
	c     *Client
	srv   storage.Server
	si    storage.SI
	shnum int
}

func (s *serverShare) ReadAt(ctx context.Context, off, n int64) ([]byte, error) {
	ctx, cancel := s.c.call(ctx)
	defer cancel()
	return s.srv.ReadShare(ctx, s.si, s.shnum, uint64(off), uint64(n))
}

type located struct {
	srv   storage.Server
	shnum int
}

// locate asks every server, in ring order, which shares it holds.
func (c *Client) locate(ctx context.Context, si storage.SI) ([]located, []BadShare) {
	ring := c.ring(si)
	found := make([][]int, len(ring))
	errs := make([]error, len(ring))
	c.parallel(len(ring), func(i int) {
		cctx, cancel := c.call(ctx)
		defer cancel()
		found[i], errs[i] = ring[i].ListShares(cctx, si)
	})
	var out []located
	var bad []BadShare
	for i, srv := range ring {
		if errs[i] != nil {
			bad = append(bad, BadShare{Server: srv.Info().Nickname, ServerID: srv.Info().ID, Share: -1, Reason: errs[i].Error(), Err: errs[i]})
			continue
		}
		for _, sh := range found[i] {
			out = append(out, located{srv: srv, shnum: sh})
		}
	}
	return out, bad
}

// reader streams a CHK file's segments, replacing bad shares as it goes.
type reader struct {
	c      *Client
	si     storage.SI
	dec    *chk.Decoder
	ref    chk.Ref
	queue  []located // candidates not yet tried
	active []*chk.Share
	where  map[*chk.Share]storage.Server
	bad    []BadShare
	found  map[int]bool
}

func (c *Client) newReader(ctx context.Context, cc *cap.CHK) (*reader, error) {
	si, _ := cc.StorageIndex()
	ref := chk.Ref{Key: cc.Key, UEBHash: cc.UEBHash, K: cc.K, N: cc.N, Size: cc.Size}
	dec, err := chk.NewDecoder(ref)
	if err != nil {
		return nil, err
	}
	locs, bad := c.locate(ctx, si)
	r := &reader{c: c, si: si, dec: dec, ref: ref, where: map[*chk.Share]storage.Server{}, bad: bad, found: map[int]bool{}}
	// Prefer one share per server, and each share number once, before
	// falling back to duplicates.
	seenSrv, seenSh := map[storage.Server]bool{}, map[int]bool{}
	var first, rest []located
	for _, l := range locs {
		r.found[l.shnum] = true
		if !seenSrv[l.srv] && !seenSh[l.shnum] {
			seenSrv[l.srv], seenSh[l.shnum] = true, true
			first = append(first, l)
		} else {
			rest = append(rest, l)
		}
	}
	r.queue = append(first, rest...)
	if err := r.fill(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *reader) markBad(srv storage.Server, shnum int, err error) {
	r.bad = append(r.bad, BadShare{Server: srv.Info().Nickname, ServerID: srv.Info().ID, Share: shnum, Reason: err.Error(), Err: err})
	var ce *storage.CorruptShareError
	if errors.As(err, &ce) {
		r.c.logger().Warn("corrupt share", "si", r.si.String(), "share", shnum, "server", srv.Info().Nickname, "reason", ce.Reason)
		actx, cancel := r.c.call(context.Background())
		_ = srv.AdviseCorrupt(actx, storage.Immutable, r.si, shnum, ce.Reason)
		cancel()
	}
}

func (r *reader) activeHas(shnum int) bool {
	for _, s := range r.active {
		if s.Num == shnum {
			return true
		}
	}
	return false
}

// fill opens shares from the queue until k distinct share numbers are
// active and the crypttext tree is loaded.
func (r *reader) fill(ctx context.Context) error {
	for len(r.active) < r.ref.K || !r.dec.HasCrypttextTree() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(r.queue) == 0 {
			if len(r.active) >= r.ref.K {
				return fmt.Errorf("no share supplied a valid crypttext hash tree: %w", r.notEnough())
			}
			return r.notEnough()
		}
		l := r.queue[0]
		r.queue = r.queue[1:]
		if r.activeHas(l.shnum) && len(r.active) < r.ref.K {
			continue
		}
		s, err := r.dec.OpenShare(ctx, l.shnum, &serverShare{c: r.c, srv: l.srv, si: r.si, shnum: l.shnum})
		if err == nil {
			err = r.dec.LoadCrypttextTree(ctx, s)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.markBad(l.srv, l.shnum, err)
			continue
		}
		if len(r.active) < r.ref.K && !r.activeHas(l.shnum) {
			r.active = append(r.active, s)
			r.where[s] = l.srv
		}
	}
	return nil
}

func (r *reader) notEnough() error {
	return &NotEnoughSharesError{Needed: r.ref.K, Found: len(r.found), Bad: r.bad}
}

// segment returns the plaintext of segment seg, replacing shares whose
// block fails, until k good blocks are in hand.
func (r *reader) segment(ctx context.Context, seg int) ([]byte, error) {
	for attempt := 0; attempt <= r.ref.N*4; attempt++ {
		blocks := make([][]byte, len(r.active))
		errs := make([]error, len(r.active))
		var wg sync.WaitGroup
		for i, s := range r.active {
			wg.Go(func() { blocks[i], errs[i] = s.ReadBlock(ctx, seg) })
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		keep := r.active[:0]
		got := map[int][]byte{}
		for i, s := range r.active {
			if errs[i] != nil {
				r.markBad(r.where[s], s.Num, errs[i])
				continue
			}
			keep = append(keep, s)
			got[s.Num] = blocks[i]
		}
		r.active = keep
		if len(got) >= r.ref.K {
			return r.dec.DecodeSegment(seg, got)
		}
		if err := r.fill(ctx); err != nil {
			return nil, err
		}
	}
	return nil, r.notEnough()
}

func (r *reader) result(start time.Time, n int64) *DownloadResult {
	res := &DownloadResult{Bytes: n, Used: map[int]string{}, Bad: r.bad, Elapsed: time.Since(start)}
	for _, s := range r.active {
		res.Used[s.Num] = r.where[s].Info().ID
	}
	sort.Slice(res.Bad, func(i, j int) bool { return res.Bad[i].Share < res.Bad[j].Share })
	return res
}

// Download writes the whole file named by c (CHK or LIT) to w.
func (c *Client) Download(ctx context.Context, fc cap.Cap, w io.Writer) (*DownloadResult, error) {
	return c.DownloadRange(ctx, fc, 0, -1, w)
}

// DownloadRange writes length bytes starting at offset (length < 0: to the
// end) of the file named by fc to w, fetching only the segments needed.
func (c *Client) DownloadRange(ctx context.Context, fc cap.Cap, offset, length int64, w io.Writer) (*DownloadResult, error) {
	start := time.Now()
	if d, ok := fc.(*cap.Dir); ok {
		fc = d.File
	}
	var size int64
	switch x := fc.(type) {
	case *cap.LIT:
		size = int64(len(x.Data))
	case *cap.CHK:
		size = x.Size
	default:
		return nil, fmt.Errorf("download: %s is not an immutable file cap", fc.Kind())
	}
	if offset < 0 || offset > size {
		return nil, fmt.Errorf("download: offset %d is outside the %d-byte file", offset, size)
	}
	if length < 0 || offset+length > size {
		length = size - offset
	}
	if lit, ok := fc.(*cap.LIT); ok {
		n, err := w.Write(lit.Data[offset : offset+length])
		return &DownloadResult{Bytes: int64(n), Used: map[int]string{}, Elapsed: time.Since(start)}, err
	}
	cc := fc.(*cap.CHK)
	r, err := c.newReader(ctx, cc)
	if err != nil {
		si, _ := cc.StorageIndex()
		return nil, fmt.Errorf("download %s: %w", si, err)
	}
	if length == 0 {
		return r.result(start, 0), nil
	}
	l, _ := r.dec.Layout()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pf := &prefetcher{r: r, ctx: ctx, pending: map[int]chan prefetched{}, last: int((offset + length - 1) / l.SegmentSize),
		start: int(offset / l.SegmentSize), batch: batchSegments(l)}
	var written int64
	for seg := int(offset / l.SegmentSize); written < length; seg++ {
		p, err := pf.segment(seg)
		if err != nil {
			return r.result(start, written), fmt.Errorf("download %s segment %d: %w", r.si, seg, err)
		}
		segStart := int64(seg) * l.SegmentSize
		from := max(offset+written-segStart, 0)
		to := min(int64(len(p)), offset+length-segStart)
		n, err := w.Write(p[from:to])
		written += int64(n)
		if err != nil {
			return r.result(start, written), fmt.Errorf("download %s: write output: %w", r.si, err)
		}
	}
	return r.result(start, written), nil
}

// A download reads about batchBytes of one share's blocks per request (as
// many whole segments' blocks as fit, at least one) and keeps batchesAhead
// batches in flight while it decodes, to hide network latency. At 128 KiB
// segments and k=3 a batch is 4 segments; at Tahoe's 1 MiB default, one.
const (
	batchBytes   = 192 << 10
	batchesAhead = 3
)

// batchSegments is how many segments' blocks one request reads.
func batchSegments(l chk.Layout) int {
	return max(1, int(batchBytes/max(l.BlockSize, 1)))
}

type prefetched struct {
	blocks []map[int][]byte // per segment of the batch
	ok     bool
}

// prefetcher reads batches of blocks from the active shares in the
// background. A segment whose batch did not yield k good blocks goes
// through the reader's own path, which replaces failing shares.
type prefetcher struct {
	r       *reader
	ctx     context.Context
	pending map[int]chan prefetched // by first segment of the batch
	last    int                     // last segment wanted
	start   int                     // first segment wanted: batches count from it
	batch   int                     // segments per batch
}

func (p *prefetcher) launch(first int) {
	if first > p.last || p.pending[first] != nil {
		return
	}
	count := min(p.batch, p.last-first+1)
	ch := make(chan prefetched, 1)
	p.pending[first] = ch
	shares := append([]*chk.Share(nil), p.r.active...)
	k := p.r.ref.K
	go func() {
		var mu sync.Mutex
		var wg sync.WaitGroup
		res := prefetched{blocks: make([]map[int][]byte, count), ok: true}
		for i := range res.blocks {
			res.blocks[i] = map[int][]byte{}
		}
		for _, s := range shares {
			wg.Go(func() {
				bs, err := s.ReadBlocks(p.ctx, first, count)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					res.ok = false
					return
				}
				for i, b := range bs {
					res.blocks[i][s.Num] = b
				}
			})
		}
		wg.Wait()
		res.ok = res.ok && len(res.blocks[0]) >= k
		ch <- res
	}()
}

func (p *prefetcher) segment(seg int) ([]byte, error) {
	first := p.start + (seg-p.start)/p.batch*p.batch
	for b := 0; b <= batchesAhead; b++ {
		p.launch(first + b*p.batch)
	}
	ch := p.pending[first]
	res := <-ch
	ch <- res // other segments of the batch read it again
	if seg == min(first+p.batch-1, p.last) {
		delete(p.pending, first)
	}
	if res.ok {
		if data, err := p.r.dec.DecodeSegment(seg, res.blocks[seg-first]); err == nil {
			return data, nil
		}
	}
	return p.r.segment(p.ctx, seg)
}
