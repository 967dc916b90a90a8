package chk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/lafssync/lafssync/grid/fec"
	"github.com/lafssync/lafssync/grid/hashtree"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
)

// ShareSource reads byte ranges of one share; reads past the end are short.
type ShareSource interface {
	ReadAt(ctx context.Context, off, length int64) ([]byte, error)
}

// Errors about shares are the grid's one vocabulary (package storage): a
// share that fails verification is a *storage.CorruptShareError (Kind
// Immutable, Server empty: the decoder does not know where the bytes came
// from), and too few good shares is storage.ErrNotEnoughShares.

// maxTreeRegion bounds how many bytes of one hash tree a reader holds
// (2P-1 hashes for P ≥ segments): 64 MiB covers files of 1 TiB at the
// default 1 MiB segments (128 GiB at the older 128 KiB).
const maxTreeRegion = 64 << 20

// Decoder verifies shares of one file and turns blocks back into plaintext.
// It is safe for concurrent use.
type Decoder struct {
	ref Ref

	mu        sync.Mutex // guards the fields below
	ueb       *UEB
	layout    Layout
	shareTree *hashtree.Partial
	crypt     hashtree.Tree // verified crypttext tree, nil until loaded
}

// NewDecoder prepares to read the file a CHK ref names.
func NewDecoder(ref Ref) (*Decoder, error) {
	if ref.K < 1 || ref.K > ref.N || ref.N > 256 || ref.Size < 1 {
		return nil, fmt.Errorf("chk: bad cap parameters k=%d n=%d size=%d", ref.K, ref.N, ref.Size)
	}
	return &Decoder{ref: ref}, nil
}

// Ref is the cap being decoded.
func (d *Decoder) Ref() Ref { return d.ref }

// Layout is known once one share's UEB has been validated.
func (d *Decoder) Layout() (Layout, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.layout, d.ueb != nil
}

// UEB returns the validated UEB, if any share has supplied it.
func (d *Decoder) UEB() *UEB {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ueb
}

// Share is one share whose header, UEB and hash chains have been verified.
type Share struct {
	Num   int
	src   ShareSource
	off   Offsets
	d     *Decoder
	block hashtree.Tree // verified block hash tree
}

func corrupt(sh int, format string, args ...any) error {
	return &storage.CorruptShareError{Kind: storage.Immutable, Share: sh, Reason: fmt.Sprintf(format, args...)}
}

func readExactly(ctx context.Context, src ShareSource, sh int, off, n int64, what string) ([]byte, error) {
	b, err := src.ReadAt(ctx, off, n)
	if err != nil {
		return nil, fmt.Errorf("share %d: read %s: %w", sh, what, err)
	}
	if int64(len(b)) != n {
		return nil, corrupt(sh, "%s truncated: got %d of %d bytes at offset %d", what, len(b), n, off)
	}
	return b, nil
}

// OpenShare reads and verifies share shnum's header, UEB (against the cap),
// share hash chain (against the UEB) and block hash tree. Errors other
// than *storage.CorruptShareError come from the source (network, missing share).
func (d *Decoder) OpenShare(ctx context.Context, shnum int, src ShareSource) (*Share, error) {
	if shnum < 0 || shnum >= d.ref.N {
		return nil, corrupt(shnum, "share number out of range 0..%d", d.ref.N-1)
	}
	hb, err := src.ReadAt(ctx, 0, HeaderReadSize)
	if err != nil {
		return nil, fmt.Errorf("share %d: read header: %w", shnum, err)
	}
	off, err := ParseHeader(hb)
	if err != nil {
		return nil, corrupt(shnum, "%v", err)
	}
	s := &Share{Num: shnum, src: src, off: off, d: d}
	if err := d.ensureUEB(ctx, s); err != nil {
		return nil, err
	}
	l, _ := d.Layout()
	if off.Plaintext-off.Data < uint64(l.ShareSize) {
		return nil, corrupt(shnum, "data region of %d bytes, file needs %d", off.Plaintext-off.Data, l.ShareSize)
	}
	if got := int64(off.BlockHashes - off.Crypttext); got != l.SegHashSize {
		return nil, corrupt(shnum, "crypttext tree region of %d bytes, want %d", got, l.SegHashSize)
	}
	if got := int64(off.ShareHashes - off.BlockHashes); got != l.SegHashSize {
		return nil, corrupt(shnum, "block tree region of %d bytes, want %d", got, l.SegHashSize)
	}
	if err := d.verifyShareHashes(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

func (d *Decoder) ensureUEB(ctx context.Context, s *Share) error {
	lb, err := readExactly(ctx, s.src, s.Num, int64(s.off.UEB), int64(s.off.UEBPrefixLen()), "UEB length")
	if err != nil {
		return err
	}
	var n uint64
	if len(lb) == 4 {
		n = uint64(binary.BigEndian.Uint32(lb))
	} else {
		n = binary.BigEndian.Uint64(lb)
	}
	if n > 64<<10 {
		return corrupt(s.Num, "UEB length %d is implausible", n)
	}
	raw, err := readExactly(ctx, s.src, s.Num, int64(s.off.UEB+s.off.UEBPrefixLen()), int64(n), "UEB")
	if err != nil {
		return err
	}
	if taghash.UEBHash(raw) != d.ref.UEBHash {
		return corrupt(s.Num, "UEB hash does not match the cap")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ueb != nil {
		return nil
	}
	u, err := ParseUEB(raw)
	if err != nil {
		// The hash matched the cap, so every share will say the same:
		// the file was written by a broken encoder.
		return fmt.Errorf("UEB committed to by the cap is malformed: %w", err)
	}
	if u.Size != d.ref.Size {
		return fmt.Errorf("UEB says the file is %d bytes, the cap says %d", u.Size, d.ref.Size)
	}
	if u.SegmentSize < 1 || u.SegmentSize%int64(d.ref.K) != 0 {
		return fmt.Errorf("UEB segment size %d is not a positive multiple of k=%d", u.SegmentSize, d.ref.K)
	}
	l, err := NewLayout(d.ref.Size, d.ref.K, d.ref.N, u.SegmentSize)
	if err != nil {
		return err
	}
	if l.SegmentSize != u.SegmentSize || l.NumSegments != u.NumSegments {
		return fmt.Errorf("UEB segment size %d / %d segments do not fit a %d-byte file", u.SegmentSize, u.NumSegments, d.ref.Size)
	}
	if l.SegHashSize > maxTreeRegion {
		return fmt.Errorf("file has %d segments: too many for this reader", l.NumSegments)
	}
	d.ueb, d.layout = u, l
	d.shareTree = hashtree.NewPartial(d.ref.N, u.ShareRootHash)
	return nil
}

func (d *Decoder) verifyShareHashes(ctx context.Context, s *Share) error {
	region, err := readExactly(ctx, s.src, s.Num, int64(s.off.ShareHashes), int64(s.off.UEB-s.off.ShareHashes), "share hash chain")
	if err != nil {
		return err
	}
	cand := map[int]Hash{}
	for len(region) >= 34 {
		idx := int(binary.BigEndian.Uint16(region))
		var h Hash
		copy(h[:], region[2:34])
		cand[idx] = h
		region = region[34:]
	}
	d.mu.Lock()
	leafIdx := hashtree.LeafIndex(d.shareTree.Nodes(), s.Num)
	if _, ok := cand[leafIdx]; !ok {
		d.mu.Unlock()
		return corrupt(s.Num, "share hash chain lacks its own leaf")
	}
	err = d.shareTree.Add(cand)
	leaf, _ := d.shareTree.Leaf(s.Num)
	nodes := d.layout.NumSegments
	d.mu.Unlock()
	if err != nil {
		return corrupt(s.Num, "share hash chain: %v", err)
	}
	// The block tree is small (32 bytes per segment, ×2): fetch it whole
	// and check it against the leaf we now trust.
	rb, err := readExactly(ctx, s.src, s.Num, int64(s.off.BlockHashes), int64(s.off.ShareHashes-s.off.BlockHashes), "block hash tree")
	if err != nil {
		return err
	}
	t := make(hashtree.Tree, len(rb)/32)
	for i := range t {
		copy(t[i][:], rb[32*i:])
	}
	if !treeConsistent(t, nodes, leaf) {
		return corrupt(s.Num, "block hash tree does not match the share hash tree")
	}
	s.block = t
	return nil
}

// treeConsistent checks a whole flat tree: every interior node is the hash
// of its children, padding leaves are the empty-leaf hashes, and the root
// is the trusted one.
func treeConsistent(t hashtree.Tree, leaves int, root Hash) bool {
	if len(t) != hashtree.NodeCount(leaves) || t[0] != root {
		return false
	}
	first := len(t) / 2
	for i := first + leaves; i < len(t); i++ {
		if t[i] != hashtree.EmptyLeaf(i-first) {
			return false
		}
	}
	for i := first - 1; i >= 0; i-- {
		if t[i] != hashtree.PairHash(t[2*i+1], t[2*i+2]) {
			return false
		}
	}
	return true
}

// LoadCrypttextTree reads the crypttext hash tree from share s and checks
// it against the UEB. Call it until one share supplies a good tree.
func (d *Decoder) LoadCrypttextTree(ctx context.Context, s *Share) error {
	d.mu.Lock()
	done := d.crypt != nil
	d.mu.Unlock()
	if done {
		return nil
	}
	rb, err := readExactly(ctx, s.src, s.Num, int64(s.off.Crypttext), int64(s.off.BlockHashes-s.off.Crypttext), "crypttext hash tree")
	if err != nil {
		return err
	}
	t := make(hashtree.Tree, len(rb)/32)
	for i := range t {
		copy(t[i][:], rb[32*i:])
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !treeConsistent(t, d.layout.NumSegments, d.ueb.CrypttextRootHash) {
		return corrupt(s.Num, "crypttext hash tree does not match the UEB")
	}
	d.crypt = t
	return nil
}

// HasCrypttextTree reports whether a verified crypttext tree is loaded.
func (d *Decoder) HasCrypttextTree() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.crypt != nil
}

// ReadBlock fetches and verifies this share's block of segment seg.
func (s *Share) ReadBlock(ctx context.Context, seg int) ([]byte, error) {
	l, _ := s.d.Layout()
	if seg < 0 || seg >= l.NumSegments {
		return nil, fmt.Errorf("segment %d out of range 0..%d", seg, l.NumSegments-1)
	}
	b, err := readExactly(ctx, s.src, s.Num, int64(s.off.Data)+int64(seg)*l.BlockSize, l.BlockLen(seg), fmt.Sprintf("block %d", seg))
	if err != nil {
		return nil, err
	}
	if taghash.BlockHash(b) != s.block[hashtree.LeafIndex(len(s.block), seg)] {
		return nil, corrupt(s.Num, "block %d does not match its hash", seg)
	}
	return b, nil
}

// ReadBlocks fetches and verifies this share's blocks of segments
// first…first+count-1 with one read (a share's blocks are contiguous).
func (s *Share) ReadBlocks(ctx context.Context, first, count int) ([][]byte, error) {
	l, _ := s.d.Layout()
	if first < 0 || count < 1 || first+count > l.NumSegments {
		return nil, fmt.Errorf("segments %d+%d out of range 0..%d", first, count, l.NumSegments-1)
	}
	total := int64(0)
	for i := first; i < first+count; i++ {
		total += l.BlockLen(i)
	}
	b, err := readExactly(ctx, s.src, s.Num, int64(s.off.Data)+int64(first)*l.BlockSize, total, fmt.Sprintf("blocks %d-%d", first, first+count-1))
	if err != nil {
		return nil, err
	}
	out := make([][]byte, count)
	for i := range out {
		seg := first + i
		blk := b[:l.BlockLen(seg)]
		b = b[len(blk):]
		if taghash.BlockHash(blk) != s.block[hashtree.LeafIndex(len(s.block), seg)] {
			return nil, corrupt(s.Num, "block %d does not match its hash", seg)
		}
		out[i] = blk
	}
	return out, nil
}

// DecodeSegment erasure-decodes segment seg from at least k verified
// blocks (share number → block), checks the ciphertext against the
// crypttext hash tree and returns the plaintext.
func (d *Decoder) DecodeSegment(seg int, blocks map[int][]byte) ([]byte, error) {
	d.mu.Lock()
	l, crypt := d.layout, d.crypt
	d.mu.Unlock()
	if crypt == nil {
		return nil, errors.New("chk: crypttext hash tree not loaded")
	}
	if len(blocks) < l.K {
		return nil, fmt.Errorf("%w: segment %d has %d of %d blocks", storage.ErrNotEnoughShares, seg, len(blocks), l.K)
	}
	code, err := fec.New(l.K, l.N)
	if err != nil {
		return nil, err
	}
	shares := make([][]byte, l.N)
	for sh, b := range blocks {
		if sh < 0 || sh >= l.N {
			return nil, fmt.Errorf("chk: share number %d out of range", sh)
		}
		shares[sh] = b
	}
	if err := code.Decode(shares); err != nil {
		return nil, fmt.Errorf("segment %d: %w", seg, err)
	}
	segLen := l.SegmentLen(seg)
	ct := make([]byte, 0, l.BlockLen(seg)*int64(l.K))
	for i := 0; i < l.K; i++ {
		ct = append(ct, shares[i]...)
	}
	ct = ct[:segLen]
	if taghash.CrypttextSegmentHash(ct) != crypt[hashtree.LeafIndex(len(crypt), seg)] {
		return nil, fmt.Errorf("segment %d: decoded ciphertext does not match the crypttext hash tree", seg)
	}
	NewCTR(d.ref.Key, int64(seg)*l.SegmentSize).XORKeyStream(ct, ct)
	return ct, nil
}
