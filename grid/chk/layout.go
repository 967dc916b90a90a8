package chk

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/lafssync/lafssync/grid/hashtree"
)

// Tahoe's defaults (docs/formats.md "CHK").
const (
	DefaultK     = 3
	DefaultHappy = 7
	DefaultN     = 10
	// DefaultMaxSegmentSize is Tahoe's DEFAULT_IMMUTABLE_MAX_SEGMENT_SIZE
	// since 1.19 (src/allmydata/interfaces.py, used by client.py's
	// DEFAULT_ENCODING_PARAMETERS): 1 MiB. It enters the convergent key, so
	// the same file and convergence secret give Tahoe's cap only with the
	// same value. Older Tahoe used 128 KiB; files of any segment size read
	// (the UEB says which).
	DefaultMaxSegmentSize = 1 << 20
	// LITThreshold: files of this many bytes or fewer become URI:LIT caps.
	LITThreshold = 55
)

const hashSize = 32

// Layout is every size and offset of a CHK file's shares, derived from the
// file size and the encoding parameters alone.
type Layout struct {
	Size          int64 // plaintext bytes
	K, N          int
	SegmentSize   int64 // effective: min(max, size) rounded up to a multiple of K
	NumSegments   int
	TailSize      int64 // unpadded bytes in the last segment
	PaddedTail    int64 // TailSize rounded up to a multiple of K
	BlockSize     int64 // SegmentSize / K
	TailBlockSize int64 // PaddedTail / K
	ShareSize     int64 // bytes of block data per share

	Version         int // share layout: 1 (uint32 offsets) or 2 (uint64)
	HeaderSize      int64
	SegHashSize     int64 // one full segment tree: (2P-1)·32
	NumShareHashes  int
	OffData         int64
	OffPlaintext    int64
	OffCrypttext    int64
	OffBlockHashes  int64
	OffShareHashes  int64
	OffUEB          int64
	UEBLengthPrefix int64 // 4 (v1) or 8 (v2)
}

func nextMultiple(x, k int64) int64 { return (x + k - 1) / k * k }

// NewLayout computes the layout of a size-byte file encoded k-of-n with the
// given maximum segment size. size must be at least 1 (CHK files are
// never empty; small files are LIT).
func NewLayout(size int64, k, n int, maxSegment int64) (Layout, error) {
	var l Layout
	if k < 1 || k > n || n > 256 {
		return l, fmt.Errorf("chk: need 1 <= k <= n <= 256, got k=%d n=%d", k, n)
	}
	if size < 1 {
		return l, fmt.Errorf("chk: file size %d: a CHK file has at least one byte", size)
	}
	if maxSegment < 1 {
		return l, fmt.Errorf("chk: maximum segment size %d must be positive", maxSegment)
	}
	l.Size, l.K, l.N = size, k, n
	l.SegmentSize = nextMultiple(min(maxSegment, size), int64(k))
	l.NumSegments = int((size + l.SegmentSize - 1) / l.SegmentSize)
	l.TailSize = size % l.SegmentSize
	if l.TailSize == 0 {
		l.TailSize = l.SegmentSize
	}
	l.PaddedTail = nextMultiple(l.TailSize, int64(k))
	l.BlockSize = l.SegmentSize / int64(k)
	l.TailBlockSize = l.PaddedTail / int64(k)
	l.ShareSize = int64(l.NumSegments-1)*l.BlockSize + l.TailBlockSize
	l.SegHashSize = int64(hashtree.NodeCount(l.NumSegments)) * hashSize
	l.NumShareHashes = len(hashtree.Needed(hashtree.NodeCount(n), 0, true))
	l.setOffsets(1)
	if l.BlockSize > math.MaxUint32 || l.ShareSize > math.MaxUint32 || l.OffUEB > math.MaxUint32 {
		l.setOffsets(2)
	}
	return l, nil
}

func (l *Layout) setOffsets(version int) {
	l.Version = version
	l.HeaderSize, l.UEBLengthPrefix = 0x24, 4
	if version == 2 {
		l.HeaderSize, l.UEBLengthPrefix = 0x44, 8
	}
	l.OffData = l.HeaderSize
	l.OffPlaintext = l.OffData + l.ShareSize
	l.OffCrypttext = l.OffPlaintext + l.SegHashSize
	l.OffBlockHashes = l.OffCrypttext + l.SegHashSize
	l.OffShareHashes = l.OffBlockHashes + l.SegHashSize
	l.OffUEB = l.OffShareHashes + int64(l.NumShareHashes)*(2+hashSize)
}

// SegmentLen is the plaintext length of segment i (the tail is shorter).
func (l Layout) SegmentLen(i int) int64 {
	if i == l.NumSegments-1 {
		return l.TailSize
	}
	return l.SegmentSize
}

// BlockLen is the length of each share's block for segment i.
func (l Layout) BlockLen(i int) int64 {
	if i == l.NumSegments-1 {
		return l.TailBlockSize
	}
	return l.BlockSize
}

// BlockOffset is where segment i's block starts in every share.
func (l Layout) BlockOffset(i int) int64 { return l.OffData + int64(i)*l.BlockSize }

// ShareLen is the total length of a share whose UEB is uebLen bytes.
func (l Layout) ShareLen(uebLen int) int64 { return l.OffUEB + l.UEBLengthPrefix + int64(uebLen) }

// Header is the share header (offsets table) in Tahoe's byte layout.
func (l Layout) Header() []byte {
	if l.Version == 1 {
		h := make([]byte, 0x24)
		for i, v := range []int64{1, l.BlockSize, l.ShareSize, l.OffData, l.OffPlaintext, l.OffCrypttext, l.OffBlockHashes, l.OffShareHashes, l.OffUEB} {
			binary.BigEndian.PutUint32(h[4*i:], uint32(v))
		}
		return h
	}
	h := make([]byte, 0x44)
	binary.BigEndian.PutUint32(h, 2)
	for i, v := range []int64{l.BlockSize, l.ShareSize, l.OffData, l.OffPlaintext, l.OffCrypttext, l.OffBlockHashes, l.OffShareHashes, l.OffUEB} {
		binary.BigEndian.PutUint64(h[4+8*i:], uint64(v))
	}
	return h
}

// Offsets is a parsed share header.
type Offsets struct {
	Version     int
	BlockSize   uint64
	DataSize    uint64
	Data        uint64
	Plaintext   uint64
	Crypttext   uint64
	BlockHashes uint64
	ShareHashes uint64
	UEB         uint64
}

// HeaderReadSize is enough bytes to parse any share header.
const HeaderReadSize = 0x44

// ParseHeader parses a share's offsets table and checks that it is sane:
// known version, offsets in order, regions whole numbers of hashes.
func ParseHeader(b []byte) (Offsets, error) {
	var o Offsets
	if len(b) < 4 {
		return o, fmt.Errorf("share header: %d bytes, too short for a version number", len(b))
	}
	o.Version = int(binary.BigEndian.Uint32(b))
	var f []uint64
	switch o.Version {
	case 1:
		if len(b) < 0x24 {
			return o, fmt.Errorf("share header v1: %d bytes, need 36", len(b))
		}
		for i := 1; i < 9; i++ {
			f = append(f, uint64(binary.BigEndian.Uint32(b[4*i:])))
		}
	case 2:
		if len(b) < 0x44 {
			return o, fmt.Errorf("share header v2: %d bytes, need 68", len(b))
		}
		for i := 0; i < 8; i++ {
			f = append(f, binary.BigEndian.Uint64(b[4+8*i:]))
		}
	default:
		return o, fmt.Errorf("share header: unknown share version %d", o.Version)
	}
	o.BlockSize, o.DataSize, o.Data, o.Plaintext, o.Crypttext, o.BlockHashes, o.ShareHashes, o.UEB =
		f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]
	want := uint64(0x24)
	if o.Version == 2 {
		want = 0x44
	}
	if o.Data != want {
		return o, fmt.Errorf("share header: data offset %d, want %d", o.Data, want)
	}
	seq := []uint64{o.Data, o.Plaintext, o.Crypttext, o.BlockHashes, o.ShareHashes, o.UEB}
	for i := 1; i < len(seq); i++ {
		if seq[i] < seq[i-1] {
			return o, fmt.Errorf("share header: offsets out of order (%v)", seq)
		}
	}
	if o.UEB > 1<<50 {
		return o, fmt.Errorf("share header: offset %d is implausibly large", o.UEB)
	}
	if (o.BlockHashes-o.Crypttext)%hashSize != 0 || (o.ShareHashes-o.BlockHashes)%hashSize != 0 {
		return o, fmt.Errorf("share header: hash tree regions are not whole hashes")
	}
	if (o.UEB-o.ShareHashes)%(2+hashSize) != 0 {
		return o, fmt.Errorf("share header: share hash region is not whole (index, hash) entries")
	}
	return o, nil
}

// UEBPrefixLen is the length of the UEB length field for this version.
func (o Offsets) UEBPrefixLen() uint64 {
	if o.Version == 2 {
		return 8
	}
	return 4
}
