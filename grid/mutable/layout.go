package mutable

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/lafssync/lafssync/grid/hashtree"
	"github.com/lafssync/lafssync/grid/storage"
)

// Share layouts (docs/formats.md "Mutable files"; reference
// formats-mutable.md §2 and §3). Each field was checked against Tahoe's
// src/allmydata/mutable/layout.py:
//
//   - SDMF header ">BQ32s16sBBQQLLLLQQ" (107 bytes), signed prefix the first
//     75 bytes, checkstring the first 57: layout.py HEADER, SIGNED_PREFIX,
//     PREFIX, pack_prefix, pack_offsets, unpack_share,
//     SDMFSlotWriteProxy.get_signable / set_checkstring.
//   - SDMF field order after the header: verification key, signature, share
//     hash chain (">H32s" entries), block hash tree, share data, encrypted
//     private key: pack_share / pack_offsets.
//   - MDMF header ">BQ32sBBQQQQQQQQQQ" (123 bytes), signable first 59,
//     checkstring first 41: MDMFHEADER, MDMFSIGNABLEHEADER, MDMFCHECKSTRING,
//     MDMFSlotWriteProxy.get_signable / get_checkstring.
//   - MDMF order encprivkey (at 123), share hash chain, signature,
//     verification key, slack, share data at 123+1220+260+292+272 = 2167
//     (salt‖block per segment), block hash tree, EOF:
//     MDMFSlotWriteProxy.__init__, put_block, finish_publishing.
//   - Block hash leaves: SDMF hashes the block, MDMF salt‖block
//     (publish.py _push_segment); share hash chain = needed_hashes(shnum)
//     of the tree over block-tree roots (publish.py push_sharehashes).
//   - Segment size: SDMF next_multiple(datalen, k), one segment or none;
//     MDMF next_multiple(128 KiB, k) (publish.py setup_encoding_parameters,
//     DEFAULT_MUTABLE_MAX_SEGMENT_SIZE).

// Format versions as stored in byte 0 of a share.
const (
	versionSDMF = 0
	versionMDMF = 1
)

const (
	sdmfHeaderLen    = 107
	sdmfSignedLen    = 75
	sdmfCheckLen     = 57
	mdmfHeaderLen    = 123
	mdmfSignedLen    = 59
	mdmfCheckLen     = 41
	mdmfShareDataOff = mdmfHeaderLen + 1220 + 260 + 292 + 34*8 // 2167
	saltLen          = 16
	hashLen          = 32
	chainEntryLen    = 2 + hashLen

	// MaxSegmentSize is MDMF's segment size before rounding up to a
	// multiple of k (Tahoe's DEFAULT_MUTABLE_MAX_SEGMENT_SIZE).
	MaxSegmentSize = 128 * 1024
	// maxShareSize bounds offsets read from untrusted headers (Tahoe's
	// MAX_MUTABLE_SHARE_SIZE).
	maxShareSize = 69105 * 1000 * 1000 * 1000 * 1000
)

// corruptReason is what the share parsers and checks return for a share
// that is malformed, truncated or fails a hash or signature check: it
// matches storage.ErrCorruptShare, and callers that know the share's
// number and server wrap its text into a *storage.CorruptShareError.
type corruptReason string

func (e corruptReason) Error() string { return string(e) }
func (e corruptReason) Unwrap() error { return storage.ErrCorruptShare }

func corrupt(format string, a ...any) error {
	return corruptReason(fmt.Sprintf(format, a...))
}

// corruptShare names a rejected share of the file: a
// *storage.CorruptShareError when err says the share is corrupt, else err
// (a server that failed to answer, say) with the share and server added.
func corruptShare(srv storage.Server, shnum int, err error) error {
	if errors.Is(err, storage.ErrCorruptShare) {
		return &storage.CorruptShareError{Kind: storage.Mutable, Server: srv.Info().Nickname, Share: shnum, Reason: err.Error()}
	}
	return fmt.Errorf("share %d on %s: %w", shnum, srv.Info().Nickname, err)
}

// header is the parsed fixed part of a share plus its offsets table.
type header struct {
	Version         byte
	Seqnum          uint64
	Root            hashtree.Hash
	Salt            [saltLen]byte // SDMF only
	K, N            int
	SegSize         uint64
	DataLen         uint64
	offPrivKey      uint64
	offChain        uint64
	offSig          uint64
	offVerKey       uint64
	offVerKeyEnd    uint64
	offData         uint64
	offBlockTree    uint64
	offEOF          uint64
	headerLen       uint64
	numSegs         int
	blockSize       uint64 // non-tail block
	tailBlockSize   uint64
	blockTreeLength uint64
}

func nextMultiple(n, k uint64) uint64 { return (n + k - 1) / k * k }

// geometry fills the derived sizes from k, N, segsize and datalen and
// checks they are consistent with the format.
func (h *header) geometry() error {
	if h.K < 1 || h.N < h.K {
		return corrupt("bad encoding parameters k=%d N=%d", h.K, h.N)
	}
	k := uint64(h.K)
	if h.DataLen > maxShareSize || h.SegSize > maxShareSize {
		return corrupt("data length %d or segment size %d too large", h.DataLen, h.SegSize)
	}
	if h.SegSize%k != 0 {
		return corrupt("segment size %d not a multiple of k=%d", h.SegSize, k)
	}
	switch {
	case h.SegSize == 0 && h.DataLen != 0:
		return corrupt("segment size 0 with %d bytes of data", h.DataLen)
	case h.SegSize == 0:
		h.numSegs = 0
	default:
		h.numSegs = int((h.DataLen + h.SegSize - 1) / h.SegSize)
	}
	if h.Version == versionSDMF && h.numSegs > 1 {
		return corrupt("SDMF share with %d segments", h.numSegs)
	}
	if h.numSegs > 1<<24 {
		return corrupt("too many segments (%d)", h.numSegs)
	}
	h.blockSize = h.SegSize / k
	h.tailBlockSize = h.blockSize
	if h.numSegs > 0 {
		tail := h.DataLen - uint64(h.numSegs-1)*h.SegSize
		h.tailBlockSize = nextMultiple(tail, k) / k
	} else {
		h.tailBlockSize = 0
	}
	h.blockTreeLength = uint64(hashtree.NodeCount(h.numSegs)) * hashLen
	return nil
}

// dataLength is the byte length of the share-data region.
func (h *header) dataLength() uint64 {
	if h.numSegs == 0 {
		return 0
	}
	per := h.blockSize
	if h.Version == versionMDMF {
		per += saltLen
		return per*uint64(h.numSegs-1) + saltLen + h.tailBlockSize
	}
	return h.tailBlockSize
}

// blockRange is where segment i's stored bytes lie (MDMF: salt‖block).
func (h *header) blockRange(i int) (off, n uint64) {
	size := h.blockSize
	if i == h.numSegs-1 {
		size = h.tailBlockSize
	}
	if h.Version == versionMDMF {
		return h.offData + uint64(i)*(h.blockSize+saltLen), saltLen + size
	}
	return h.offData, size
}

// segLen is the plaintext length of segment i.
func (h *header) segLen(i int) uint64 {
	if i == h.numSegs-1 {
		return h.DataLen - uint64(i)*h.SegSize
	}
	return h.SegSize
}

// parseHeader parses and checks the fixed header and offsets of a share
// from its first bytes (at least the header length).
func parseHeader(b []byte) (*header, error) {
	if len(b) < 1 {
		return nil, corrupt("empty share")
	}
	h := &header{Version: b[0]}
	be := binary.BigEndian
	switch h.Version {
	case versionSDMF:
		if len(b) < sdmfHeaderLen {
			return nil, corrupt("SDMF header truncated: %d of %d bytes", len(b), sdmfHeaderLen)
		}
		h.Seqnum = be.Uint64(b[1:])
		copy(h.Root[:], b[9:41])
		copy(h.Salt[:], b[41:57])
		h.K, h.N = int(b[57]), int(b[58])
		h.SegSize, h.DataLen = be.Uint64(b[59:]), be.Uint64(b[67:])
		h.offSig = uint64(be.Uint32(b[75:]))
		h.offChain = uint64(be.Uint32(b[79:]))
		h.offBlockTree = uint64(be.Uint32(b[83:]))
		h.offData = uint64(be.Uint32(b[87:]))
		h.offPrivKey = be.Uint64(b[91:])
		h.offEOF = be.Uint64(b[99:])
		h.offVerKey, h.offVerKeyEnd = sdmfHeaderLen, h.offSig
		h.headerLen = sdmfHeaderLen
		if err := h.geometry(); err != nil {
			return nil, err
		}
		if err := ordered("SDMF", []uint64{sdmfHeaderLen, h.offSig, h.offChain, h.offBlockTree, h.offData, h.offPrivKey, h.offEOF}); err != nil {
			return nil, err
		}
	case versionMDMF:
		if len(b) < mdmfHeaderLen {
			return nil, corrupt("MDMF header truncated: %d of %d bytes", len(b), mdmfHeaderLen)
		}
		h.Seqnum = be.Uint64(b[1:])
		copy(h.Root[:], b[9:41])
		h.K, h.N = int(b[41]), int(b[42])
		h.SegSize, h.DataLen = be.Uint64(b[43:]), be.Uint64(b[51:])
		o := b[59:]
		h.offPrivKey, h.offChain, h.offSig, h.offVerKey = be.Uint64(o), be.Uint64(o[8:]), be.Uint64(o[16:]), be.Uint64(o[24:])
		h.offVerKeyEnd, h.offData, h.offBlockTree, h.offEOF = be.Uint64(o[32:]), be.Uint64(o[40:]), be.Uint64(o[48:]), be.Uint64(o[56:])
		h.headerLen = mdmfHeaderLen
		if h.offPrivKey != mdmfHeaderLen {
			return nil, corrupt("MDMF private key offset %d, want %d", h.offPrivKey, mdmfHeaderLen)
		}
		if err := h.geometry(); err != nil {
			return nil, err
		}
		if err := ordered("MDMF", []uint64{mdmfHeaderLen, h.offChain, h.offSig, h.offVerKey, h.offVerKeyEnd, h.offData, h.offBlockTree, h.offEOF}); err != nil {
			return nil, err
		}
	default:
		return nil, corrupt("unknown share version %d", h.Version)
	}
	if h.offEOF > maxShareSize {
		return nil, corrupt("EOF offset %d too large", h.offEOF)
	}
	// Region sizes the offsets must agree with.
	var treeEnd, dataEnd uint64
	if h.Version == versionSDMF {
		treeEnd, dataEnd = h.offData, h.offPrivKey
		if (h.offBlockTree-h.offChain)%chainEntryLen != 0 {
			return nil, corrupt("share hash chain length %d not a multiple of %d", h.offBlockTree-h.offChain, chainEntryLen)
		}
	} else {
		treeEnd, dataEnd = h.offEOF, h.offBlockTree
		if (h.offSig-h.offChain)%chainEntryLen != 0 {
			return nil, corrupt("share hash chain length %d not a multiple of %d", h.offSig-h.offChain, chainEntryLen)
		}
	}
	if got := treeEnd - h.offBlockTree; got != h.blockTreeLength {
		return nil, corrupt("block hash tree is %d bytes, want %d for %d segments", got, h.blockTreeLength, h.numSegs)
	}
	if got := dataEnd - h.offData; got != h.dataLength() {
		return nil, corrupt("share data is %d bytes, want %d", got, h.dataLength())
	}
	return h, nil
}

func ordered(what string, offs []uint64) error {
	for i := 1; i < len(offs); i++ {
		if offs[i] < offs[i-1] {
			return corrupt("%s offsets out of order: %v", what, offs)
		}
	}
	return nil
}

// signed is the byte string the signature covers.
func (h *header) signed() []byte {
	b := make([]byte, 0, sdmfSignedLen)
	b = append(b, h.Version)
	b = binary.BigEndian.AppendUint64(b, h.Seqnum)
	b = append(b, h.Root[:]...)
	if h.Version == versionSDMF {
		b = append(b, h.Salt[:]...)
	}
	b = append(b, byte(h.K), byte(h.N))
	b = binary.BigEndian.AppendUint64(b, h.SegSize)
	return binary.BigEndian.AppendUint64(b, h.DataLen)
}

// checkstring is what a writer's test vector compares at offset 0.
func (h *header) checkstring() []byte {
	if h.Version == versionSDMF {
		return h.signed()[:sdmfCheckLen]
	}
	return h.signed()[:mdmfCheckLen]
}

// prefixEnd is how much of a share a reader needs to check the
// signature and share hash chain.
func (h *header) prefixEnd() uint64 {
	if h.Version == versionSDMF {
		return h.offBlockTree
	}
	return h.offVerKeyEnd
}

// prefix holds the verified-on-demand fields from a share's first bytes.
type prefix struct {
	*header
	VerKey    []byte
	Signature []byte
	Chain     map[int]hashtree.Hash
	PrivKey   []byte // MDMF only (SDMF stores it at the end)
}

// parsePrefix parses a share's first bytes, which must reach prefixEnd.
func parsePrefix(b []byte) (*prefix, error) {
	h, err := parseHeader(b)
	if err != nil {
		return nil, err
	}
	if uint64(len(b)) < h.prefixEnd() {
		return nil, corrupt("share truncated: %d bytes, header needs %d", len(b), h.prefixEnd())
	}
	p := &prefix{header: h}
	var chain []byte
	if h.Version == versionSDMF {
		p.VerKey, p.Signature, chain = b[h.offVerKey:h.offSig], b[h.offSig:h.offChain], b[h.offChain:h.offBlockTree]
	} else {
		p.PrivKey, chain, p.Signature, p.VerKey = b[h.offPrivKey:h.offChain], b[h.offChain:h.offSig], b[h.offSig:h.offVerKey], b[h.offVerKey:h.offVerKeyEnd]
	}
	p.Chain = make(map[int]hashtree.Hash, len(chain)/chainEntryLen)
	for i := 0; i+chainEntryLen <= len(chain); i += chainEntryLen {
		n := int(binary.BigEndian.Uint16(chain[i:]))
		if _, dup := p.Chain[n]; dup {
			return nil, corrupt("share hash chain repeats node %d", n)
		}
		var hh hashtree.Hash
		copy(hh[:], chain[i+2:i+chainEntryLen])
		p.Chain[n] = hh
	}
	return p, nil
}

// shareParts is everything a writer puts in one share.
type shareParts struct {
	h         header
	verKey    []byte
	sig       []byte
	chain     map[int]hashtree.Hash
	blockTree hashtree.Tree
	blocks    [][]byte // per segment; MDMF: salt‖block
	privKey   []byte   // encrypted
}

func packChain(chain map[int]hashtree.Hash) []byte {
	idx := make([]int, 0, len(chain))
	for i := range chain {
		idx = append(idx, i)
	}
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && idx[j] < idx[j-1]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	b := make([]byte, 0, len(idx)*chainEntryLen)
	for _, i := range idx {
		h := chain[i]
		b = binary.BigEndian.AppendUint16(b, uint16(i))
		b = append(b, h[:]...)
	}
	return b
}

// layout computes the offsets of s.h from the variable-length pieces.
func (s *shareParts) layout() error {
	h := &s.h
	if err := h.geometry(); err != nil {
		return err
	}
	chainLen := uint64(len(s.chain) * chainEntryLen)
	dataLen := h.dataLength()
	if h.Version == versionSDMF {
		h.headerLen = sdmfHeaderLen
		h.offVerKey = sdmfHeaderLen
		h.offSig = h.offVerKey + uint64(len(s.verKey))
		h.offVerKeyEnd = h.offSig
		h.offChain = h.offSig + uint64(len(s.sig))
		h.offBlockTree = h.offChain + chainLen
		h.offData = h.offBlockTree + h.blockTreeLength
		h.offPrivKey = h.offData + dataLen
		h.offEOF = h.offPrivKey + uint64(len(s.privKey))
		if h.offData > 1<<32-1 {
			return fmt.Errorf("SDMF share too large for its 32-bit offsets")
		}
		return nil
	}
	h.headerLen = mdmfHeaderLen
	h.offPrivKey = mdmfHeaderLen
	h.offChain = h.offPrivKey + uint64(len(s.privKey))
	h.offSig = h.offChain + chainLen
	h.offVerKey = h.offSig + uint64(len(s.sig))
	h.offVerKeyEnd = h.offVerKey + uint64(len(s.verKey))
	if h.offVerKeyEnd > mdmfShareDataOff {
		return fmt.Errorf("MDMF key, signature and hash chain (%d bytes) overflow the fixed reservation", h.offVerKeyEnd)
	}
	h.offData = mdmfShareDataOff
	h.offBlockTree = h.offData + dataLen
	h.offEOF = h.offBlockTree + h.blockTreeLength
	return nil
}

// headerBytes packs the header including the offsets table.
func (h *header) headerBytes() []byte {
	be := binary.BigEndian
	b := h.signed()
	if h.Version == versionSDMF {
		b = be.AppendUint32(b, uint32(h.offSig))
		b = be.AppendUint32(b, uint32(h.offChain))
		b = be.AppendUint32(b, uint32(h.offBlockTree))
		b = be.AppendUint32(b, uint32(h.offData))
		b = be.AppendUint64(b, h.offPrivKey)
		return be.AppendUint64(b, h.offEOF)
	}
	for _, o := range []uint64{h.offPrivKey, h.offChain, h.offSig, h.offVerKey, h.offVerKeyEnd, h.offData, h.offBlockTree, h.offEOF} {
		b = be.AppendUint64(b, o)
	}
	return b
}

func treeBytes(t hashtree.Tree) []byte {
	b := make([]byte, 0, len(t)*hashLen)
	for _, x := range t {
		b = append(b, x[:]...)
	}
	return b
}

// marshal lays the share out as one byte string; layout must have run.
func (s *shareParts) marshal() []byte {
	h := &s.h
	b := make([]byte, h.offEOF)
	copy(b, h.headerBytes())
	copy(b[h.offVerKey:], s.verKey)
	copy(b[h.offSig:], s.sig)
	copy(b[h.offChain:], packChain(s.chain))
	copy(b[h.offBlockTree:], treeBytes(s.blockTree))
	copy(b[h.offPrivKey:], s.privKey)
	for i, blk := range s.blocks {
		off, _ := h.blockRange(i)
		copy(b[off:], blk)
	}
	return b
}

// parseShare parses a whole share strictly: every region where the
// offsets say, the length exactly the EOF offset. It checks structure
// only, not hashes or the signature.
func parseShare(b []byte) (*shareParts, error) {
	p, err := parsePrefix(b)
	if err != nil {
		return nil, err
	}
	h := p.header
	if uint64(len(b)) != h.offEOF {
		return nil, corrupt("share is %d bytes, EOF offset says %d", len(b), h.offEOF)
	}
	s := &shareParts{h: *h, verKey: p.VerKey, sig: p.Signature, chain: p.Chain,
		blockTree: toHashes(b[h.offBlockTree : h.offBlockTree+h.blockTreeLength])}
	if h.Version == versionSDMF {
		s.privKey = b[h.offPrivKey:h.offEOF]
	} else {
		s.privKey = p.PrivKey
	}
	for i := 0; i < h.numSegs; i++ {
		off, n := h.blockRange(i)
		s.blocks = append(s.blocks, b[off:off+n])
	}
	return s, nil
}
