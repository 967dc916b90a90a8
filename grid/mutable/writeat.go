package mutable

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"

	"github.com/lafssync/lafssync/grid/fec"
	"github.com/lafssync/lafssync/grid/hashtree"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
)

// WriteAt writes p at offset off as the next version (basedOn as for
// Replace). For an MDMF file whose range lies within the current length
// and whose N shares are all reachable, only the blocks of the touched
// segments are rewritten, with the block hash trees, share hash chains,
// signature and header; otherwise (SDMF, growth, missing shares) the whole
// file is read, patched and republished.
func (f *File) WriteAt(ctx context.Context, p []byte, off int64, basedOn Version) (Version, error) {
	if !f.rw {
		return Version{}, ErrReadOnly
	}
	if off < 0 {
		return Version{}, fmt.Errorf("write %s: negative offset %d", f, off)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.mapServers(ctx)
	if err != nil {
		return Version{}, fmt.Errorf("write %s: %w", f, err)
	}
	if err := m.checkBase(basedOn); err != nil {
		return Version{}, err
	}
	v, err := m.pick()
	if err != nil {
		return Version{}, fmt.Errorf("write %s: %w", f, err)
	}
	if err := f.loadKey(ctx, m); err != nil {
		return Version{}, fmt.Errorf("write %s: %w", f, err)
	}
	if len(p) == 0 {
		return v.id(), nil
	}
	if v.h.Version == versionMDMF && uint64(off)+uint64(len(p)) <= v.h.DataLen && v.h.Seqnum == m.maxSeq {
		ver, ok, err := f.writeInPlace(ctx, m, v, p, uint64(off))
		if err != nil {
			return Version{}, fmt.Errorf("write %s: %w", f, err)
		}
		if ok {
			return ver, nil
		}
	}
	data, err := f.retrieve(ctx, v, 0, -1)
	if err != nil {
		return Version{}, fmt.Errorf("write %s: %w", f, err)
	}
	if end := int(off) + len(p); end > len(data) {
		data = append(data, make([]byte, end-len(data))...)
	}
	copy(data[off:], p)
	ver, err := f.publish(ctx, m, data, m.maxSeq+1, v.h.K, v.h.N)
	if err != nil {
		return Version{}, fmt.Errorf("write %s: %w", f, err)
	}
	return ver, nil
}

// writeInPlace rewrites the touched segments of an MDMF version. ok is
// false when it cannot (a share unreachable, trees inconsistent) and the
// caller should republish the whole file.
func (f *File) writeInPlace(ctx context.Context, m *servermap, v *version, p []byte, off uint64) (Version, bool, error) {
	h := *v.h
	holder := map[int]mapShare{}
	for _, s := range v.shares {
		if _, ok := holder[s.shnum]; !ok {
			holder[s.shnum] = s
		}
	}
	if len(holder) != h.N {
		return Version{}, false, nil
	}
	// Every share's block hash tree, checked against the signed root.
	trees := make([]hashtree.Tree, h.N)
	roots := make([]hashtree.Hash, h.N)
	for sh := 0; sh < h.N; sh++ {
		s, ok := holder[sh]
		if !ok {
			return Version{}, false, nil
		}
		cctx, cancel := f.call(ctx)
		b, err := f.servers[s.srv].ReadMutableShare(cctx, f.si, sh, h.offBlockTree, h.blockTreeLength)
		cancel()
		if err != nil || uint64(len(b)) != h.blockTreeLength {
			return Version{}, false, nil
		}
		trees[sh] = toHashes(b)
		roots[sh] = trees[sh][0]
	}
	if hashtree.New(roots).Root() != h.Root {
		return Version{}, false, nil
	}
	first, last := int(off/h.SegSize), int((off+uint64(len(p))-1)/h.SegSize)
	segs, err := f.fetchSegments(ctx, v, first, last)
	if err != nil {
		return Version{}, false, err
	}
	code, err := fec.New(h.K, h.N)
	if err != nil {
		return Version{}, false, err
	}
	leaves := make([][]hashtree.Hash, h.N)
	for sh := range leaves {
		nodes := len(trees[sh])
		leaves[sh] = make([]hashtree.Hash, h.numSegs)
		for i := range leaves[sh] {
			leaves[sh][i] = trees[sh][hashtree.LeafIndex(nodes, i)]
		}
	}
	writes := make(map[int][]storage.WriteVector, h.N)
	for i := first; i <= last; i++ {
		seg := segs[i-first]
		base := uint64(i) * h.SegSize
		lo := max(off, base)
		hi := min(off+uint64(len(p)), base+uint64(len(seg)))
		copy(seg[lo-base:hi-base], p[lo-off:hi-off])
		var salt [saltLen]byte
		if _, err := rand.Read(salt[:]); err != nil {
			return Version{}, false, err
		}
		blocks, err := encodeSegment(code, f.readKey, salt, seg, true)
		if err != nil {
			return Version{}, false, err
		}
		o, _ := h.blockRange(i)
		for sh, b := range blocks {
			leaves[sh][i] = taghash.BlockHash(b)
			writes[sh] = append(writes[sh], storage.WriteVector{Offset: o, Data: b})
		}
	}
	newRoots := make([]hashtree.Hash, h.N)
	newTrees := make([]hashtree.Tree, h.N)
	for sh := range leaves {
		newTrees[sh] = hashtree.New(leaves[sh])
		newRoots[sh] = newTrees[sh].Root()
	}
	st := hashtree.New(newRoots)
	h.Seqnum, h.Root = m.maxSeq+1, st.Root()
	d := sha256.Sum256(h.signed())
	sig, err := rsa.SignPSS(rand.Reader, f.keys.Private, crypto.SHA256, d[:], pssOptions)
	if err != nil {
		return Version{}, false, fmt.Errorf("sign: %w", err)
	}
	if uint64(len(sig)) != h.offVerKey-h.offSig {
		return Version{}, false, nil
	}
	lengths := make(map[int]uint64, h.N)
	hdr := h.headerBytes()
	for sh := 0; sh < h.N; sh++ {
		chain := map[int]hashtree.Hash{}
		for _, i := range hashtree.Needed(len(st), sh, false) {
			chain[i] = st[i]
		}
		cb := packChain(chain)
		if uint64(len(cb)) != h.offSig-h.offChain {
			return Version{}, false, nil
		}
		writes[sh] = append(writes[sh],
			storage.WriteVector{Offset: h.offBlockTree, Data: treeBytes(newTrees[sh])},
			storage.WriteVector{Offset: h.offChain, Data: cb},
			storage.WriteVector{Offset: h.offSig, Data: sig},
			storage.WriteVector{Offset: 0, Data: hdr})
		lengths[sh] = h.offEOF
	}
	ver, err := f.place(ctx, m, v.shares, h, writes, lengths, false)
	return ver, err == nil, err
}
