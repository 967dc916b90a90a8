package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/crypto/blake2b"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
)

const (
	immHeaderSize   = 12
	immLeaseSize    = 72
	mutHeaderSize   = 100
	mutLeaseSize    = 92
	mutInlineLeases = 4
	mutDataOffset   = mutHeaderSize + mutInlineLeases*mutLeaseSize // 468
)

var (
	mutMagicV1 = append([]byte("Tahoe mutable container v1\n"), 0x75, 0x09, 0x44, 0x03, 0x8e)
	mutMagicV2 = func() []byte {
		text := []byte("Tahoe mutable container v2\n")
		h := taghash.Tagged(taghash.TagMutableContainerHdr, text)
		return append(text, h[:5]...)
	}()
)

// lease is one lease record; secrets are stored hashed (v2 containers).
type lease struct {
	Owner      uint32
	Renew      [32]byte
	Cancel     [32]byte
	Expiration uint32
	NodeID     [20]byte // mutable leases only
}

func hashSecret(s storage.Secret) [32]byte { return blake2b.Sum256(s[:]) }

func newLease(ls storage.LeaseSecrets, exp uint32) lease {
	return lease{Renew: hashSecret(ls.Renew), Cancel: hashSecret(ls.Cancel), Expiration: exp}
}

func (l lease) empty() bool { return l == lease{} }

func (l lease) marshalImm() []byte {
	b := make([]byte, immLeaseSize)
	binary.BigEndian.PutUint32(b, l.Owner)
	copy(b[4:], l.Renew[:])
	copy(b[36:], l.Cancel[:])
	binary.BigEndian.PutUint32(b[68:], l.Expiration)
	return b
}

func parseImmLease(b []byte) lease {
	var l lease
	l.Owner = binary.BigEndian.Uint32(b)
	copy(l.Renew[:], b[4:36])
	copy(l.Cancel[:], b[36:68])
	l.Expiration = binary.BigEndian.Uint32(b[68:])
	return l
}

func (l lease) marshalMut() []byte {
	b := make([]byte, mutLeaseSize)
	binary.BigEndian.PutUint32(b, l.Owner)
	binary.BigEndian.PutUint32(b[4:], l.Expiration)
	copy(b[8:], l.Renew[:])
	copy(b[40:], l.Cancel[:])
	copy(b[72:], l.NodeID[:])
	return b
}

func parseMutLease(b []byte) lease {
	var l lease
	l.Owner = binary.BigEndian.Uint32(b)
	l.Expiration = binary.BigEndian.Uint32(b[4:])
	copy(l.Renew[:], b[8:40])
	copy(l.Cancel[:], b[40:72])
	copy(l.NodeID[:], b[72:92])
	return l
}

// immHeader is the head of an immutable container.
type immHeader struct {
	Version   uint32
	NumLeases uint32
}

// parseImm checks an immutable container of fileSize bytes whose first
// bytes are head, and returns the header, the share data length and the
// offset of the lease area.
func parseImm(head []byte, fileSize int64) (immHeader, int64, error) {
	var h immHeader
	if len(head) < immHeaderSize {
		return h, 0, fmt.Errorf("immutable container: %d bytes, too short for a header", len(head))
	}
	h.Version = binary.BigEndian.Uint32(head)
	if h.Version != 1 && h.Version != 2 {
		return h, 0, fmt.Errorf("immutable container: unknown version %d", h.Version)
	}
	h.NumLeases = binary.BigEndian.Uint32(head[8:])
	leases := int64(h.NumLeases) * immLeaseSize
	data := fileSize - immHeaderSize - leases
	if h.NumLeases > 1<<20 || data < 0 {
		return h, 0, fmt.Errorf("immutable container: %d leases do not fit in %d bytes", h.NumLeases, fileSize)
	}
	return h, data, nil
}

func immHeaderBytes(version uint32, dataLen uint64, numLeases int) []byte {
	b := make([]byte, immHeaderSize)
	binary.BigEndian.PutUint32(b, version)
	binary.BigEndian.PutUint32(b[4:], uint32(min(dataLen, 1<<32-1)))
	binary.BigEndian.PutUint32(b[8:], uint32(numLeases))
	return b
}

// mutable is a parsed mutable container.
type mutable struct {
	V2           bool
	WENodeID     [20]byte
	WriteEnabler [32]byte
	Data         []byte
	Leases       []lease // inline slots (empty ones dropped) then extra leases
}

func isMutable(head []byte) bool {
	return len(head) >= 32 && (bytes.Equal(head[:32], mutMagicV1) || bytes.Equal(head[:32], mutMagicV2))
}

// parseMutable parses a whole mutable container (tests and fuzzing; the
// store reads only headers, see readMutHead).
func parseMutable(b []byte) (*mutable, error) {
	h, err := readMutHead(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	m := &mutable{V2: h.v2, WENodeID: h.weNode, WriteEnabler: h.we, Data: b[mutDataOffset : mutDataOffset+h.dataLen]}
	for _, l := range h.inline {
		if !l.empty() {
			m.Leases = append(m.Leases, l)
		}
	}
	m.Leases = append(m.Leases, h.extra...)
	return m, nil
}

// mutHead is what the store keeps of a mutable container: everything but
// the share data, which stays on disk.
type mutHead struct {
	v2      bool
	weNode  [20]byte
	we      [32]byte
	dataLen uint64
	inline  [mutInlineLeases]lease // by slot; empty slots are zero
	extra   []lease
	size    int64 // of the file
}

// maxParsedLeases bounds the extra leases read from a container, so a
// hostile file cannot make us allocate much; maxLeases bounds the leases
// the store adds to one share.
const (
	maxParsedLeases = 1 << 16
	maxLeases       = 1000
)

// readMutHead parses the header and leases of a mutable container of size
// bytes. Like Tahoe, it accepts an extra-lease offset past the end of the
// data (Tahoe leaves it there when a share is truncated) and bytes after
// the leases.
func readMutHead(r io.ReaderAt, size int64) (*mutHead, error) {
	if size < mutDataOffset {
		return nil, fmt.Errorf("mutable container: %d bytes, too short for a header", size)
	}
	b := make([]byte, mutDataOffset)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("mutable container: %w", err)
	}
	h := &mutHead{size: size}
	switch {
	case bytes.Equal(b[:32], mutMagicV2):
		h.v2 = true
	case bytes.Equal(b[:32], mutMagicV1):
	default:
		return nil, fmt.Errorf("mutable container: bad magic")
	}
	copy(h.weNode[:], b[32:52])
	copy(h.we[:], b[52:84])
	h.dataLen = binary.BigEndian.Uint64(b[84:])
	extraOff := binary.BigEndian.Uint64(b[92:])
	room := uint64(size - mutDataOffset)
	if h.dataLen > room || extraOff < mutDataOffset+h.dataLen || extraOff > uint64(size) {
		return nil, fmt.Errorf("mutable container: data length %d / lease offset %d inconsistent with %d bytes", h.dataLen, extraOff, size)
	}
	for i := range h.inline {
		h.inline[i] = parseMutLease(b[mutHeaderSize+i*mutLeaseSize:])
	}
	if uint64(size)-extraOff < 4 {
		return h, nil
	}
	var nb [4]byte
	if _, err := r.ReadAt(nb[:], int64(extraOff)); err != nil {
		return nil, fmt.Errorf("mutable container: %w", err)
	}
	n := binary.BigEndian.Uint32(nb[:])
	if n > maxParsedLeases || (uint64(size)-extraOff-4)/mutLeaseSize < uint64(n) {
		return nil, fmt.Errorf("mutable container: %d extra leases do not fit", n)
	}
	lb := make([]byte, int(n)*mutLeaseSize)
	if _, err := r.ReadAt(lb, int64(extraOff)+4); err != nil {
		return nil, fmt.Errorf("mutable container: %w", err)
	}
	for i := 0; i < int(n); i++ {
		h.extra = append(h.extra, parseMutLease(lb[i*mutLeaseSize:]))
	}
	return h, nil
}

// containerSize is the size of a clean container with dataLen bytes of
// data and h's extra leases.
func (h *mutHead) containerSize(dataLen uint64) int64 {
	return mutDataOffset + int64(dataLen) + 4 + int64(len(h.extra))*mutLeaseSize
}

// headerBytes is the v2 header with the inline leases; the extra leases
// follow the data.
func (h *mutHead) headerBytes() []byte {
	b := make([]byte, mutDataOffset)
	copy(b, mutMagicV2)
	copy(b[32:], h.weNode[:])
	copy(b[52:], h.we[:])
	binary.BigEndian.PutUint64(b[84:], h.dataLen)
	binary.BigEndian.PutUint64(b[92:], mutDataOffset+h.dataLen)
	for i, l := range h.inline {
		copy(b[mutHeaderSize+i*mutLeaseSize:], l.marshalMut())
	}
	return b
}

func (h *mutHead) extraBytes() []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(h.extra)))
	for _, l := range h.extra {
		b = append(b, l.marshalMut()...)
	}
	return b
}

// addLease renews the lease whose renew secret matches, else fills an
// empty inline slot, else adds an extra lease.
func (h *mutHead) addLease(l lease) error {
	for _, p := range []*lease{&h.inline[0], &h.inline[1], &h.inline[2], &h.inline[3]} {
		if !p.empty() && p.Renew == l.Renew {
			p.Expiration = l.Expiration
			return nil
		}
	}
	for i := range h.extra {
		if h.extra[i].Renew == l.Renew {
			h.extra[i].Expiration = l.Expiration
			return nil
		}
	}
	for i := range h.inline {
		if h.inline[i].empty() {
			h.inline[i] = l
			return nil
		}
	}
	if len(h.extra)+mutInlineLeases >= maxLeases {
		return fmt.Errorf("%d leases already, the most one share may have: %w", maxLeases, storage.ErrNoSpace)
	}
	h.extra = append(h.extra, l)
	return nil
}

func (h *mutHead) leases() []lease {
	var out []lease
	for _, l := range h.inline {
		if !l.empty() {
			out = append(out, l)
		}
	}
	return append(out, h.extra...)
}

// marshal writes the container in the v2 format.
func (m *mutable) marshal() []byte {
	b := make([]byte, mutDataOffset, mutDataOffset+len(m.Data)+4)
	copy(b, mutMagicV2)
	copy(b[32:], m.WENodeID[:])
	copy(b[52:], m.WriteEnabler[:])
	binary.BigEndian.PutUint64(b[84:], uint64(len(m.Data)))
	binary.BigEndian.PutUint64(b[92:], uint64(mutDataOffset+len(m.Data)))
	for i := 0; i < mutInlineLeases && i < len(m.Leases); i++ {
		copy(b[mutHeaderSize+i*mutLeaseSize:], m.Leases[i].marshalMut())
	}
	b = append(b, m.Data...)
	extra := m.Leases[min(len(m.Leases), mutInlineLeases):]
	b = binary.BigEndian.AppendUint32(b, uint32(len(extra)))
	for _, l := range extra {
		b = append(b, l.marshalMut()...)
	}
	return b
}
