package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lafssync/lafssync/grid/storage"
)

// AddLease implements storage.Server: renew the lease whose renew secret
// matches on every share of si, or add one. Leases are changed in place
// under the undo journal, for all shares of si or none.
func (s *Store) AddLease(ctx context.Context, si storage.SI, ls storage.LeaseSecrets) error {
	shares, err := listShares(bucketDir(s.sharesRoot(), si))
	if err != nil {
		return err
	}
	if len(shares) == 0 {
		return fmt.Errorf("lease on %s: %w", si, storage.ErrNotFound)
	}
	l := newLease(ls, s.leaseExpiry())
	unlock, err := s.lockSlot(si)
	if err != nil {
		return err
	}
	defer unlock()
	var edits []*edit
	for _, sh := range shares {
		e, err := s.planLease(si, sh, l)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("lease on %s/%d: %w", si, sh, err)
		}
		edits = append(edits, e)
	}
	if len(edits) == 0 {
		return fmt.Errorf("lease on %s: %w", si, storage.ErrNotFound)
	}
	if err := s.applyEdits(si, edits); err != nil {
		return fmt.Errorf("lease on %s: %w", si, err)
	}
	return nil
}

func (s *Store) planLease(si storage.SI, sh int, l lease) (*edit, error) {
	p := s.sharePath(si, sh)
	rel, _ := filepath.Rel(s.dir, p)
	h, err := s.readMutShare(si, sh)
	if err == nil {
		if err := h.addLease(l); err != nil {
			return nil, err
		}
		e := &edit{rel: rel, existed: true, origSize: h.size, newSize: h.containerSize(h.dataLen)}
		e.extents = []extent{{off: int64(mutDataOffset + h.dataLen), b: h.extraBytes()}, {off: 0, b: h.headerBytes()}}
		return e, nil
	}
	if !errors.Is(err, errNotMutable) {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ih, dataLen, ls, size, err := readImmLeases(f)
	if err != nil {
		return nil, err
	}
	if ih.Version == 1 {
		return nil, fmt.Errorf("v1 container: leases with cleartext secrets are not renewed")
	}
	leaseOff := immHeaderSize + dataLen
	e := &edit{rel: rel, existed: true, origSize: size, newSize: size}
	for i, x := range ls {
		if x.Renew == l.Renew {
			exp := binary.BigEndian.AppendUint32(nil, l.Expiration)
			e.extents = []extent{{off: leaseOff + int64(i)*immLeaseSize + 68, b: exp}}
			return e, nil
		}
	}
	if len(ls) >= maxLeases {
		return nil, fmt.Errorf("%d leases already, the most one share may have: %w", maxLeases, storage.ErrNoSpace)
	}
	e.newSize = size + immLeaseSize
	count := binary.BigEndian.AppendUint32(nil, uint32(len(ls)+1))
	e.extents = []extent{{off: size, b: l.marshalImm()}, {off: 8, b: count}}
	return e, nil
}

// readImmLeases reads the header and leases of an immutable container
// (not its data).
func readImmLeases(f *os.File) (immHeader, int64, []lease, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return immHeader{}, 0, nil, 0, err
	}
	head := make([]byte, immHeaderSize)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return immHeader{}, 0, nil, 0, err
	}
	h, dataLen, err := parseImm(head[:n], st.Size())
	if err != nil {
		return h, 0, nil, 0, err
	}
	if h.NumLeases > maxParsedLeases {
		return h, 0, nil, 0, fmt.Errorf("immutable container: %d leases, more than the %d read", h.NumLeases, maxParsedLeases)
	}
	b := make([]byte, int64(h.NumLeases)*immLeaseSize)
	if _, err := f.ReadAt(b, immHeaderSize+dataLen); err != nil {
		return h, 0, nil, 0, err
	}
	var ls []lease
	for off := 0; off+immLeaseSize <= len(b); off += immLeaseSize {
		ls = append(ls, parseImmLease(b[off:]))
	}
	return h, dataLen, ls, st.Size(), nil
}

func immLeases(b []byte) (immHeader, int64, []lease, error) {
	h, dataLen, err := parseImm(b, int64(len(b)))
	if err != nil {
		return h, 0, nil, err
	}
	var ls []lease
	for off := immHeaderSize + dataLen; off+immLeaseSize <= int64(len(b)); off += immLeaseSize {
		ls = append(ls, parseImmLease(b[off:]))
	}
	return h, dataLen, ls, nil
}

// shareLeases reads the leases of the share at path, of either kind.
func shareLeases(path string) ([]lease, error) {
	f, err := os.Open(path)
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
	if isMutable(head[:n]) {
		h, err := readMutHead(f, st.Size())
		if err != nil {
			return nil, err
		}
		return h.leases(), nil
	}
	_, _, ls, _, err := readImmLeases(f)
	return ls, err
}

// ExpireLeases deletes every share none of whose leases is still valid,
// the garbage collection Tahoe's lease crawler does. It returns how many
// shares it removed. Only headers and leases are read.
func (s *Store) ExpireLeases(ctx context.Context) (int, error) {
	now := uint32(s.opts.Now().Unix())
	removed := 0
	err := filepath.WalkDir(s.sharesRoot(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if path == s.incomingRoot() {
				return filepath.SkipDir
			}
			return nil
		}
		si, err := storage.ParseSI(filepath.Base(filepath.Dir(path)))
		if err != nil {
			return nil // not a share
		}
		unlock, err := s.lockSlot(si)
		if err != nil {
			s.log.Warn("slot unavailable; leases not checked", "si", si.String(), "err", err)
			return nil
		}
		defer unlock()
		ls, err := shareLeases(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			s.log.Warn("unreadable share; left alone", "path", path, "err", err)
			return nil
		}
		for _, l := range ls {
			if l.Expiration > now {
				return nil
			}
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed++
		os.Remove(filepath.Dir(path))
		os.Remove(filepath.Dir(filepath.Dir(path)))
		return nil
	})
	return removed, err
}
