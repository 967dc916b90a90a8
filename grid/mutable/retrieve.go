package mutable

import (
	"context"
	"errors"
	"fmt"

	"github.com/lafssync/lafssync/grid/fec"
	"github.com/lafssync/lafssync/grid/hashtree"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
)

// Read returns the whole contents of the newest recoverable version.
func (f *File) Read(ctx context.Context) ([]byte, Version, error) {
	return f.ReadAt(ctx, 0, -1)
}

// ReadAt returns n bytes from offset off (n < 0: to the end) of the newest
// recoverable version, fetching only the segments that cover the range.
// A range past the end is truncated.
func (f *File) ReadAt(ctx context.Context, off, n int64) ([]byte, Version, error) {
	if off < 0 {
		return nil, Version{}, fmt.Errorf("read %s: negative offset %d", f, off)
	}
	var b []byte
	var ver Version
	var seen string // the versions the last map found
	err := f.raceRetry(ctx, func() (err error) {
		b, ver, err = f.readOnce(ctx, off, n, &seen)
		return err
	})
	if err != nil {
		return nil, Version{}, fmt.Errorf("read %s: %w", f, err)
	}
	return b, ver, nil
}

// readOnce maps the servers and reads the range from the newest
// recoverable version. A writer may replace shares between mapping and
// fetching: the shares that changed fail with errShareChanged, and the
// caller (raceRetry) maps again after a pause. Too few good shares for
// another reason (a server gone meanwhile) maps again at once, a bounded
// number of times. A map with several versions and none recoverable is
// writers mid-publish (errMidPublish) unless the map before (*seen) found
// the same: then the grid is torn and that is the error.
func (f *File) readOnce(ctx context.Context, off, n int64, seen *string) ([]byte, Version, error) {
	var lastErr error
	for attempt := 0; attempt < readAttempts; attempt++ {
		m, err := f.mapServers(ctx)
		if err != nil {
			return nil, Version{}, err
		}
		v, err := m.pick()
		now := m.versionsSeen()
		if err != nil && len(m.versions) > 1 && now != *seen {
			err = fmt.Errorf("%w: %w", errMidPublish, err)
		}
		*seen = now
		if err != nil {
			return nil, Version{}, err
		}
		b, err := f.retrieve(ctx, v, off, n)
		if err == nil {
			return b, v.id(), nil
		}
		lastErr = fmt.Errorf("%v: %w", v.id(), err)
		if errors.Is(err, errShareChanged) || !errors.Is(err, storage.ErrNotEnoughShares) {
			break
		}
	}
	return nil, Version{}, lastErr
}

// readAttempts bounds how often readOnce maps the servers again at once
// after the chosen version turned out unreadable for too few good shares
// (and how often a writer re-reads to find the signing key).
const readAttempts = 3

func (m *servermap) pick() (*version, error) {
	v := m.newest()
	if v != nil {
		return v, nil
	}
	failed := m.failures()
	if len(m.shares) == 0 && len(m.problems) == 0 {
		if len(m.bad) == 0 {
			return nil, fmt.Errorf("%w (%d servers)", ErrNotFound, len(m.ring))
		}
		if len(m.bad) < len(m.ring) {
			return nil, fmt.Errorf("%w (%d servers, %d failed: %w)", ErrNotFound, len(m.ring), len(m.bad), failed)
		}
		// No server answered: the file may well be there.
		return nil, fmt.Errorf("%w: none of the %d servers answered: %w", storage.ErrNotEnoughShares, len(m.ring), failed)
	}
	err := fmt.Errorf("%w: no version has k shares (%d good shares, %d rejected, %d servers failed)",
		storage.ErrNotEnoughShares, len(m.shares), len(m.problems), len(m.bad))
	if failed == nil && len(m.problems) == 0 {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %w", err, errors.Join(append([]error{failed}, m.problems...)...))
}

// failures joins the errors of the servers that failed to answer (nil if
// none), in ring order, so errors.Is finds storage.ErrUnavailable.
func (m *servermap) failures() error {
	var errs []error
	for _, i := range m.ring {
		if err := m.bad[i]; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// retrieve reads [off, off+n) of version v, verifying every block used.
func (f *File) retrieve(ctx context.Context, v *version, off, n int64) ([]byte, error) {
	h := v.h
	end := int64(h.DataLen)
	if n >= 0 && off+n < end {
		end = off + n
	}
	if off >= end {
		return []byte{}, nil
	}
	first, last := int(uint64(off)/h.SegSize), int(uint64(end-1)/h.SegSize)
	segs, err := f.fetchSegments(ctx, v, first, last)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, end-off)
	for i := first; i <= last; i++ {
		seg := segs[i-first]
		base := int64(i) * int64(h.SegSize)
		lo, hi := max(off-base, 0), min(end-base, int64(len(seg)))
		out = append(out, seg[lo:hi]...)
	}
	return out, nil
}

// fetchSegments returns the plaintext of segments first..last of v, using
// the first k shares (in share-number, ring order) that pass every check.
func (f *File) fetchSegments(ctx context.Context, v *version, first, last int) ([][]byte, error) {
	h := v.h
	type good struct {
		shnum  int
		blocks [][]byte // per segment, salt‖block for MDMF
	}
	var goods []good
	used := map[int]bool{}
	var problems []error
	changed := 0
	for _, s := range v.shares {
		if len(goods) == h.K {
			break
		}
		if used[s.shnum] {
			continue
		}
		blocks, err := f.fetchShare(ctx, v, s, first, last)
		if err != nil {
			if err = f.recheck(ctx, s, err); errors.Is(err, errShareChanged) {
				problems = append(problems, changedShare(f.servers[s.srv], s.shnum, err))
				changed++
				f.opts.Logger.Debug("mutable: share changed while reading", "file", f, "share", s.shnum, "err", err)
				continue
			}
			problems = append(problems, corruptShare(f.servers[s.srv], s.shnum, err))
			f.opts.Logger.Warn("mutable: share rejected", "file", f, "share", s.shnum, "err", err)
			continue
		}
		used[s.shnum] = true
		goods = append(goods, good{s.shnum, blocks})
	}
	if len(goods) < h.K {
		if len(problems) == 0 {
			return nil, fmt.Errorf("%w: %d of %d needed shares found", storage.ErrNotEnoughShares, len(goods), h.K)
		}
		if changed > 0 {
			return nil, fmt.Errorf("%w: %d of %d needed shares of the version mapped could be read, %d changed meanwhile: %w",
				storage.ErrNotEnoughShares, len(goods), h.K, changed, errors.Join(problems...))
		}
		return nil, fmt.Errorf("%w: %d of %d needed shares passed checks: %w", storage.ErrNotEnoughShares, len(goods), h.K, errors.Join(problems...))
	}
	code, err := fec.New(h.K, h.N)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, last-first+1)
	for i := first; i <= last; i++ {
		pieces := make([][]byte, h.N)
		var salt [saltLen]byte
		if h.Version == versionSDMF {
			salt = h.Salt
		}
		for _, g := range goods {
			b := g.blocks[i-first]
			if h.Version == versionMDMF {
				copy(salt[:], b[:saltLen])
				b = b[saltLen:]
			}
			pieces[g.shnum] = b
		}
		bs := len(pieces[goods[0].shnum])
		if bs > 0 {
			if err := code.Decode(pieces); err != nil {
				return nil, fmt.Errorf("decode segment %d: %w", i, err)
			}
		}
		seg := make([]byte, 0, bs*h.K)
		for j := 0; j < h.K; j++ {
			seg = append(seg, pieces[j]...)
		}
		seg = seg[:h.segLen(i)]
		ctr(taghash.SSKDataKey(salt[:], f.readKey[:]), seg, seg)
		out = append(out, seg)
	}
	return out, nil
}

// fetchShare reads the block hash tree and the blocks of segments
// first..last from one share and checks them against the signed root.
func (f *File) fetchShare(ctx context.Context, v *version, s mapShare, first, last int) ([][]byte, error) {
	h := s.p.header
	srv := f.servers[s.srv]
	cctx, cancel := f.call(ctx)
	defer cancel()
	treeB, err := srv.ReadMutableShare(cctx, f.si, s.shnum, h.offBlockTree, h.blockTreeLength)
	if err != nil {
		return nil, fmt.Errorf("read block hash tree: %w", err)
	}
	if uint64(len(treeB)) != h.blockTreeLength {
		return nil, corrupt("share truncated: block hash tree %d of %d bytes", len(treeB), h.blockTreeLength)
	}
	tree := toHashes(treeB)
	// The share's block-tree root must chain to the signed root.
	st := hashtree.NewPartial(h.N, h.Root)
	cand := map[int]hashtree.Hash{}
	for i, x := range s.p.Chain {
		cand[i] = x
	}
	leaf := hashtree.LeafIndex(st.Nodes(), s.shnum)
	if old, ok := cand[leaf]; ok && old != tree[0] {
		return nil, corrupt("share hash chain disagrees with block hash tree root")
	}
	cand[leaf] = tree[0]
	if err := st.Add(cand); err != nil {
		return nil, corrupt("share hash chain: %v", err)
	}
	if !st.Known(leaf) {
		return nil, corrupt("share hash chain does not reach leaf %d", s.shnum)
	}
	if h.numSegs == 0 {
		return nil, nil
	}
	// The stored tree must be internally consistent with its root.
	bt := hashtree.NewPartial(h.numSegs, tree[0])
	lo, _ := h.blockRange(first)
	hiOff, hiN := h.blockRange(last)
	data, err := srv.ReadMutableShare(cctx, f.si, s.shnum, lo, hiOff+hiN-lo)
	if err != nil {
		return nil, fmt.Errorf("read blocks: %w", err)
	}
	if uint64(len(data)) != hiOff+hiN-lo {
		return nil, corrupt("share truncated: blocks %d of %d bytes", len(data), hiOff+hiN-lo)
	}
	blocks := make([][]byte, 0, last-first+1)
	for i := first; i <= last; i++ {
		o, n := h.blockRange(i)
		b := data[o-lo : o-lo+n]
		nodes := map[int]hashtree.Hash{}
		for _, j := range hashtree.Needed(bt.Nodes(), i, false) {
			nodes[j] = tree[j]
		}
		nodes[hashtree.LeafIndex(bt.Nodes(), i)] = taghash.BlockHash(b)
		if err := bt.Add(nodes); err != nil {
			return nil, corrupt("block %d fails the block hash tree: %v", i, err)
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}
