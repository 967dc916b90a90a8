package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/lafssync/lafssync/grid/storage"
)

// MaxMutableShareSize is the largest mutable share (data bytes) the store
// accepts and advertises: 64 GiB, an MDMF file of 64 GiB times k (192 GiB
// at 3-of-10), more than a client can publish (it holds the file in
// memory). Writes are also bounded by free space minus reserved_space.
const MaxMutableShareSize = 64 << 30

// maxRead bounds what one read returns (readers loop; a read of a full
// maxRead means "maybe more"), and maxRTWReads what one read-test-write
// may return in all.
const (
	maxRead     = 64 << 20
	maxRTWReads = 64 << 20
)

// lockSlot takes the slot's lock. If a failed change to the slot could not
// be undone, it tries again first, and refuses the slot while it fails.
func (s *Store) lockSlot(si storage.SI) (unlock func(), err error) {
	s.mu.Lock()
	l, ok := s.slots[si]
	if !ok {
		l = &sync.Mutex{}
		s.slots[si] = l
	}
	s.mu.Unlock()
	l.Lock()
	s.mu.Lock()
	jp := s.undo[si]
	s.mu.Unlock()
	if jp != "" {
		if err := s.rollback(jp); err != nil {
			l.Unlock()
			return nil, fmt.Errorf("slot %s: an earlier failed change cannot be undone (%v); the slot is unavailable until the disk is repaired and the node restarted", si, err)
		}
		s.mu.Lock()
		delete(s.undo, si)
		s.mu.Unlock()
	}
	return l.Unlock, nil
}

// slotShare is a mutable share of a slot as the store sees it.
type slotShare struct {
	path string
	rel  string
	h    *mutHead
}

// readSlot reads the headers of every share of si; immutable shares are
// reported in imm.
func (s *Store) readSlot(si storage.SI) (mut map[int]*slotShare, imm map[int]bool, err error) {
	shares, err := listShares(bucketDir(s.sharesRoot(), si))
	if err != nil {
		return nil, nil, err
	}
	mut, imm = map[int]*slotShare{}, map[int]bool{}
	for _, sh := range shares {
		h, err := s.readMutShare(si, sh)
		if errors.Is(err, errNotMutable) {
			imm[sh] = true
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		p := s.sharePath(si, sh)
		rel, _ := filepath.Rel(s.dir, p)
		mut[sh] = &slotShare{path: p, rel: rel, h: h}
	}
	return mut, imm, nil
}

var errNotMutable = errors.New("not a mutable share")

func (s *Store) readMutShare(si storage.SI, sh int) (*mutHead, error) {
	f, err := openFile(s.sharePath(si, sh), os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	head := make([]byte, 32)
	n, _ := io.ReadFull(f, head)
	if !isMutable(head[:n]) {
		return nil, errNotMutable
	}
	h, err := readMutHead(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("mutable share %s/%d: %w", si, sh, err)
	}
	return h, nil
}

// ListMutableShares implements storage.Server.
func (s *Store) ListMutableShares(ctx context.Context, si storage.SI) ([]int, error) {
	all, err := listShares(bucketDir(s.sharesRoot(), si))
	if err != nil {
		return nil, err
	}
	out := []int{}
	for _, sh := range all {
		if head, _, err := readHead(s.sharePath(si, sh)); err == nil && isMutable(head) {
			out = append(out, sh)
		}
	}
	return out, nil
}

// readLen is how many bytes a read of length at off returns from data of
// dataLen bytes.
func readLen(dataLen, off, length uint64) uint64 {
	if off >= dataLen {
		return 0
	}
	return min(length, dataLen-off)
}

// readData reads n share-data bytes at off of the container at path.
func readData(path string, off, n uint64) ([]byte, error) {
	buf := make([]byte, n)
	if n == 0 {
		return buf, nil
	}
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.ReadAt(buf, int64(mutDataOffset+off)); err != nil {
		return nil, err
	}
	return buf, nil
}

// ReadMutableShare implements storage.Server. A read returns at most 64 MiB.
func (s *Store) ReadMutableShare(ctx context.Context, si storage.SI, sh int, off, length uint64) ([]byte, error) {
	h, err := s.readMutShare(si, sh)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotMutable) {
		return nil, fmt.Errorf("mutable share %s/%d: %w", si, sh, storage.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	b, err := readData(s.sharePath(si, sh), off, readLen(h.dataLen, off, min(length, maxRead)))
	if err != nil {
		return nil, fmt.Errorf("mutable share %s/%d: read: %w", si, sh, err)
	}
	return b, nil
}

// ReadTestWrite implements storage.Server. The slot is locked for the
// whole call. Shares are changed in place under an undo journal
// (journal.go): when the call fails, or the process dies before it
// returns, every share of the slot is as it was before the call.
// A write needs as much free space above reserved_space as it may take
// (growth, the bytes it writes, their copy in the journal).
func (s *Store) ReadTestWrite(ctx context.Context, si storage.SI, we storage.Secret, ls storage.LeaseSecrets, tw map[int]storage.TestWrite, reads []storage.ReadVector) (storage.RTWResult, error) {
	res := storage.RTWResult{Reads: map[int][][]byte{}}
	unlock, err := s.lockSlot(si)
	if err != nil {
		return res, err
	}
	defer unlock()
	slot, imm, err := s.readSlot(si)
	if err != nil {
		return res, err
	}
	for _, m := range slot {
		if m.h.we != we {
			return res, fmt.Errorf("mutable slot %s: write enabler: %w", si, storage.ErrUnauthorized)
		}
	}
	budget := uint64(maxRTWReads)
	for sh, m := range slot {
		for _, rv := range reads {
			n := readLen(m.h.dataLen, rv.Offset, rv.Size)
			if n > budget {
				return res, fmt.Errorf("mutable slot %s: read vectors ask for more than %d bytes: %w", si, maxRTWReads, storage.ErrTooLarge)
			}
			budget -= n
			b, err := readData(m.path, rv.Offset, n)
			if err != nil {
				return res, fmt.Errorf("mutable share %s/%d: read: %w", si, sh, err)
			}
			res.Reads[sh] = append(res.Reads[sh], b)
		}
	}
	for sh, t := range tw {
		var dataLen uint64
		m := slot[sh]
		if m != nil {
			dataLen = m.h.dataLen
		}
		for _, tv := range t.Tests {
			n := readLen(dataLen, tv.Offset, tv.Size)
			if n != uint64(len(tv.Specimen)) {
				return res, nil
			}
			if n == 0 {
				continue
			}
			b, err := readData(m.path, tv.Offset, n)
			if err != nil {
				return res, fmt.Errorf("mutable share %s/%d: read: %w", si, sh, err)
			}
			if !bytes.Equal(b, tv.Specimen) {
				return res, nil
			}
		}
	}
	writes := false
	for sh, t := range tw {
		if sh < 0 || sh > 255 {
			return res, fmt.Errorf("share number %d out of range: %w", sh, storage.ErrOutOfRange)
		}
		if len(t.Writes) > 0 || t.NewLength != nil {
			writes = true
		}
	}
	if !writes {
		res.OK = true
		return res, nil
	}
	if ro, _ := s.Limits(); ro {
		return res, fmt.Errorf("mutable slot %s: %w", si, storage.ErrReadOnly)
	}
	l := newLease(ls, s.leaseExpiry())
	var edits []*edit
	for _, sh := range slices.Sorted(maps.Keys(tw)) {
		e, err := s.planWrite(si, sh, slot[sh], imm[sh], we, l, tw[sh])
		if err != nil {
			return res, err
		}
		if e != nil {
			edits = append(edits, e)
		}
	}
	if err := s.applyEdits(si, edits); err != nil {
		return res, fmt.Errorf("write mutable slot %s: %w", si, err)
	}
	res.OK = true
	return res, nil
}

// planWrite turns one share's writes into an edit (nil: nothing to do).
func (s *Store) planWrite(si storage.SI, sh int, cur *slotShare, immutable bool, we storage.Secret, l lease, t storage.TestWrite) (*edit, error) {
	p := s.sharePath(si, sh)
	rel, _ := filepath.Rel(s.dir, p)
	if immutable {
		return nil, fmt.Errorf("share %s/%d is an immutable share, not part of a mutable slot: %w", si, sh, storage.ErrConflict)
	}
	e := &edit{rel: rel}
	var h *mutHead
	if cur != nil {
		h = cur.h
		e.existed, e.origSize = true, h.size
	} else {
		if len(t.Writes) == 0 {
			return nil, nil // nothing to create
		}
		h = &mutHead{v2: true, we: we, weNode: s.opts.Info.LeaseSeed}
	}
	if t.NewLength != nil && *t.NewLength == 0 {
		if !e.existed {
			return nil, nil
		}
		e.del = true
		return e, nil
	}
	oldLen, newLen := h.dataLen, h.dataLen
	for _, w := range t.Writes {
		end := w.Offset + uint64(len(w.Data))
		if end > MaxMutableShareSize || end < w.Offset {
			return nil, fmt.Errorf("mutable share %s/%d: write of %d bytes at %d is past the %d-byte maximum: %w", si, sh, len(w.Data), w.Offset, uint64(MaxMutableShareSize), storage.ErrTooLarge)
		}
		newLen = max(newLen, end)
	}
	if t.NewLength != nil {
		if *t.NewLength > MaxMutableShareSize {
			return nil, fmt.Errorf("mutable share %s/%d: new length %d is past the %d-byte maximum: %w", si, sh, *t.NewLength, uint64(MaxMutableShareSize), storage.ErrTooLarge)
		}
		newLen = *t.NewLength
	}
	if err := h.addLease(l); err != nil {
		return nil, fmt.Errorf("mutable share %s/%d: %w", si, sh, err)
	}
	// Bytes that become data must read as zeros: the old extra leases
	// (and anything Tahoe left between the data and them) are zeroed;
	// past the old end of the file the extension is sparse.
	if e.existed && newLen > oldLen {
		if lo, hi := int64(mutDataOffset+oldLen), min(int64(mutDataOffset+newLen), e.origSize); lo < hi {
			e.extents = append(e.extents, extent{off: lo, zeros: hi - lo})
		}
	}
	for _, w := range t.Writes {
		lo, hi := w.Offset, min(w.Offset+uint64(len(w.Data)), newLen)
		if lo < hi {
			e.extents = append(e.extents, extent{off: int64(mutDataOffset + lo), b: w.Data[:hi-lo]})
		}
	}
	h.dataLen = newLen
	e.extents = append(e.extents, extent{off: int64(mutDataOffset + newLen), b: h.extraBytes()}, extent{off: 0, b: h.headerBytes()})
	e.newSize = h.containerSize(newLen)
	return e, nil
}
