package chk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/lafssync/lafssync/grid/hashtree"
	"github.com/lafssync/lafssync/grid/taghash"
)

// Encoding from ciphertext, for an upload helper (node/helper): the client
// encrypts, the helper erasure-codes. CHK shares and the UEB are functions
// of the ciphertext and the layout alone (the key enters only through the
// encryption), so encoding a file's ciphertext gives byte for byte the
// shares Encode gives for its plaintext and key.

// passthrough is the cipher.Stream of a file that is already encrypted.
type passthrough struct{}

func (passthrough) XORKeyStream(dst, src []byte) { copy(dst, src) }

// NewCiphertextEncoder is NewEncoder for a caller that holds the
// ciphertext: EncodeSegment takes ciphertext segments, and the Result's
// Ref has a zero Key (the encoder never learns it; its UEBHash, K, N and
// Size are the file's).
func NewCiphertextEncoder(l Layout) (*Encoder, error) {
	e, err := NewEncoder([16]byte{}, l)
	if err != nil {
		return nil, err
	}
	e.ctr = passthrough{}
	return e, nil
}

// EncodeCiphertext reads exactly l.Size bytes of ciphertext from r and
// writes all n shares to w, one segment at a time, as Encode does for
// plaintext. The Result's Ref has a zero Key.
func EncodeCiphertext(r io.Reader, l Layout, w ShareWriter) (*Result, error) {
	e, err := NewCiphertextEncoder(l)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return encodeAll(e, r, "ciphertext", l, w)
}

// CiphertextHasher computes, as a file's ciphertext is written to it, the
// two UEB fields a client can check without erasure-coding: the
// whole-file crypttext hash and the root of the crypttext segment tree.
// A client that lets a helper encode checks the helper's UEB with them
// (CheckUEB).
type CiphertextHasher struct {
	l     Layout
	whole *taghash.Hasher
	seg   *taghash.Hasher // the current segment's hash
	inSeg int64           // bytes of the current segment so far
	segs  []Hash
	n     int64
}

// NewCiphertextHasher starts the hashes of a file with layout l.
func NewCiphertextHasher(l Layout) *CiphertextHasher {
	return &CiphertextHasher{l: l, whole: taghash.New(taghash.TagCrypttext), seg: taghash.New(taghash.TagCrypttextSegment),
		segs: make([]Hash, 0, l.NumSegments)}
}

// Write hashes p; it fails past the file's size.
func (h *CiphertextHasher) Write(p []byte) (int, error) {
	if h.n+int64(len(p)) > h.l.Size {
		return 0, fmt.Errorf("chk: ciphertext longer than the file's %d bytes", h.l.Size)
	}
	n := len(p)
	h.n += int64(n)
	h.whole.Write(p)
	for len(p) > 0 {
		want := h.l.SegmentLen(len(h.segs)) - h.inSeg
		take := min(int64(len(p)), want)
		h.seg.Write(p[:take])
		h.inSeg += take
		p = p[take:]
		if h.inSeg == h.l.SegmentLen(len(h.segs)) {
			h.segs = append(h.segs, h.seg.Sum())
			h.seg, h.inSeg = taghash.New(taghash.TagCrypttextSegment), 0
		}
	}
	return n, nil
}

// Sums returns the crypttext hash and crypttext root hash once the whole
// file has been written.
func (h *CiphertextHasher) Sums() (whole, root Hash, err error) {
	if h.n != h.l.Size {
		return whole, root, fmt.Errorf("chk: hashed %d bytes of ciphertext, the file has %d", h.n, h.l.Size)
	}
	return h.whole.Sum(), hashtree.New(h.segs).Root(), nil
}

// ErrUEBMismatch means a UEB someone else built (an upload helper, or the
// shares it found on the grid) is not the UEB of the ciphertext the
// client holds.
var ErrUEBMismatch = errors.New("the UEB does not describe this file")

// CheckUEB checks a packed UEB built by someone else against what the
// client knows: the layout and the crypttext hashes (CiphertextHasher).
// Only the share root hash is taken on trust: checking it would mean
// erasure-coding the file, the work the client gave away. A wrong share
// root makes every share fail verification on download, so a helper that
// lies loses the upload but cannot substitute other content.
func CheckUEB(packed []byte, l Layout, crypttextHash, crypttextRoot Hash) error {
	u, err := ParseUEB(packed)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUEBMismatch, err)
	}
	want := &UEB{CodecName: "crs",
		CodecParams:       fmt.Sprintf("%d-%d-%d", l.SegmentSize, l.K, l.N),
		TailCodecParams:   fmt.Sprintf("%d-%d-%d", l.PaddedTail, l.K, l.N),
		CrypttextHash:     crypttextHash,
		CrypttextRootHash: crypttextRoot,
		ShareRootHash:     u.ShareRootHash,
		NeededShares:      l.K, TotalShares: l.N, NumSegments: l.NumSegments, SegmentSize: l.SegmentSize, Size: l.Size,
	}
	// Packing the expected fields and comparing bytes also rejects any
	// extra key (ParseUEB keeps unknown keys in Extra).
	if !bytes.Equal(want.Pack(), packed) {
		switch {
		case u.Size != l.Size || u.SegmentSize != l.SegmentSize || u.NeededShares != l.K || u.TotalShares != l.N:
			return fmt.Errorf("%w: it says %d bytes, %d-byte segments, %d-of-%d", ErrUEBMismatch, u.Size, u.SegmentSize, u.NeededShares, u.TotalShares)
		case u.CrypttextHash != crypttextHash || u.CrypttextRootHash != crypttextRoot:
			return fmt.Errorf("%w: its ciphertext hashes differ from this file's", ErrUEBMismatch)
		}
		return fmt.Errorf("%w: its fields differ from the expected ones", ErrUEBMismatch)
	}
	return nil
}

// ReadUEBUnverified reads share shnum's packed UEB without a cap to check
// it against (an upload helper asking whether a file is already on the
// grid: the client checks what it gets with CheckUEB).
func ReadUEBUnverified(ctx context.Context, src ShareSource, shnum int) ([]byte, error) {
	hb, err := src.ReadAt(ctx, 0, HeaderReadSize)
	if err != nil {
		return nil, fmt.Errorf("share %d: read header: %w", shnum, err)
	}
	off, err := ParseHeader(hb)
	if err != nil {
		return nil, corrupt(shnum, "%v", err)
	}
	lb, err := readExactly(ctx, src, shnum, int64(off.UEB), int64(off.UEBPrefixLen()), "UEB length")
	if err != nil {
		return nil, err
	}
	var n uint64
	if len(lb) == 4 {
		n = uint64(binary.BigEndian.Uint32(lb))
	} else {
		n = binary.BigEndian.Uint64(lb)
	}
	if n > 64<<10 {
		return nil, corrupt(shnum, "UEB length %d is implausible", n)
	}
	return readExactly(ctx, src, shnum, int64(off.UEB+off.UEBPrefixLen()), int64(n), "UEB")
}
