package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
)

func (s *Store) slotLock(si storage.SI) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.slots[si]
	if !ok {
		l = &sync.Mutex{}
		s.slots[si] = l
	}
	return l
}

// readSlot loads every mutable share of si.
func (s *Store) readSlot(si storage.SI) (map[int]*mutable, error) {
	shares, err := listShares(bucketDir(s.sharesRoot(), si))
	if err != nil {
		return nil, err
	}
	out := map[int]*mutable{}
	for _, sh := range shares {
		b, err := os.ReadFile(s.sharePath(si, sh))
		if err != nil {
			return nil, fmt.Errorf("mutable share %s/%d: %w", si, sh, err)
		}
		if !isMutable(b) {
			continue
		}
		m, err := parseMutable(b)
		if err != nil {
			return nil, fmt.Errorf("mutable share %s/%d: %w", si, sh, err)
		}
		out[sh] = m
	}
	return out, nil
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

// ReadMutableShare implements storage.Server.
func (s *Store) ReadMutableShare(ctx context.Context, si storage.SI, sh int, off, length uint64) ([]byte, error) {
	b, err := os.ReadFile(s.sharePath(si, sh))
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !isMutable(b)) {
		return nil, fmt.Errorf("mutable share %s/%d: %w", si, sh, storage.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	m, err := parseMutable(b)
	if err != nil {
		return nil, fmt.Errorf("mutable share %s/%d: %w", si, sh, err)
	}
	return sliceRange(m.Data, off, length), nil
}

func sliceRange(d []byte, off, length uint64) []byte {
	if off >= uint64(len(d)) {
		return []byte{}
	}
	return bytes.Clone(d[off:min(uint64(len(d)), off+length)])
}

// ReadTestWrite implements storage.Server. The slot is locked for the
// whole call; each changed share is written to a temporary file and
// renamed into place, so a crash leaves the old or the new container.
func (s *Store) ReadTestWrite(ctx context.Context, si storage.SI, we storage.Secret, ls storage.LeaseSecrets, tw map[int]storage.TestWrite, reads []storage.ReadVector) (storage.RTWResult, error) {
	res := storage.RTWResult{Reads: map[int][][]byte{}}
	lock := s.slotLock(si)
	lock.Lock()
	defer lock.Unlock()
	slot, err := s.readSlot(si)
	if err != nil {
		return res, err
	}
	for _, m := range slot {
		if m.WriteEnabler != we {
			return res, fmt.Errorf("mutable slot %s: write enabler: %w", si, storage.ErrUnauthorized)
		}
	}
	for sh, m := range slot {
		for _, rv := range reads {
			res.Reads[sh] = append(res.Reads[sh], sliceRange(m.Data, rv.Offset, rv.Size))
		}
	}
	for sh, t := range tw {
		var data []byte
		if m := slot[sh]; m != nil {
			data = m.Data
		}
		for _, tv := range t.Tests {
			if !bytes.Equal(sliceRange(data, tv.Offset, tv.Size), tv.Specimen) {
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
	if s.opts.ReadOnly {
		return res, fmt.Errorf("mutable slot %s: %w", si, storage.ErrReadOnly)
	}
	exp := s.leaseExpiry()
	for sh, t := range tw {
		m := slot[sh]
		if m == nil {
			if len(t.Writes) == 0 {
				continue // nothing to create
			}
			m = &mutable{V2: true, WriteEnabler: we}
			copy(m.WENodeID[:], s.opts.Info.LeaseSeed[:])
		}
		data := bytes.Clone(m.Data)
		for _, w := range t.Writes {
			end := w.Offset + uint64(len(w.Data))
			if end > storage.MaxMutableShareSize || end < w.Offset {
				return res, fmt.Errorf("mutable share %s/%d: write past the maximum size: %w", si, sh, storage.ErrTooLarge)
			}
			if end > uint64(len(data)) {
				data = append(data, make([]byte, end-uint64(len(data)))...)
			}
			copy(data[w.Offset:], w.Data)
		}
		path := s.sharePath(si, sh)
		if t.NewLength != nil {
			n := *t.NewLength
			if n == 0 {
				if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return res, fmt.Errorf("delete mutable share %s/%d: %w", si, sh, err)
				}
				continue
			}
			if n < uint64(len(data)) {
				data = data[:n]
			} else {
				data = append(data, make([]byte, n-uint64(len(data)))...)
			}
		}
		m.Data = data
		renewLease(&m.Leases, newLease(ls, exp))
		if err := writeAtomic(path, m.marshal()); err != nil {
			return res, fmt.Errorf("write mutable share %s/%d: %w", si, sh, diskErr(err))
		}
	}
	res.OK = true
	return res, nil
}

// renewLease renews the lease whose renew secret matches, else adds it.
func renewLease(ls *[]lease, l lease) {
	for i := range *ls {
		if (*ls)[i].Renew == l.Renew {
			(*ls)[i].Expiration = l.Expiration
			return
		}
	}
	*ls = append(*ls, l)
}

func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}
