package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lafssync/lafssync/grid/storage"
)

// AddLease implements storage.Server: renew the lease whose renew secret
// matches on every share of si, or add one.
func (s *Store) AddLease(ctx context.Context, si storage.SI, ls storage.LeaseSecrets) error {
	shares, err := listShares(bucketDir(s.sharesRoot(), si))
	if err != nil {
		return err
	}
	if len(shares) == 0 {
		return fmt.Errorf("lease on %s: %w", si, storage.ErrNotFound)
	}
	l := newLease(ls, s.leaseExpiry())
	lock := s.slotLock(si)
	lock.Lock()
	defer lock.Unlock()
	for _, sh := range shares {
		path := s.sharePath(si, sh)
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("lease on %s/%d: %w", si, sh, err)
		}
		if isMutable(b) {
			m, err := parseMutable(b)
			if err != nil {
				return fmt.Errorf("lease on %s/%d: %w", si, sh, err)
			}
			renewLease(&m.Leases, l)
			if err := writeAtomic(path, m.marshal()); err != nil {
				return fmt.Errorf("lease on %s/%d: %w", si, sh, diskErr(err))
			}
			continue
		}
		if err := s.leaseImmutable(path, b, l); err != nil {
			return fmt.Errorf("lease on %s/%d: %w", si, sh, err)
		}
	}
	return nil
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

func (s *Store) leaseImmutable(path string, b []byte, l lease) error {
	h, dataLen, ls, err := immLeases(b)
	if err != nil {
		return err
	}
	if h.Version == 1 {
		return fmt.Errorf("v1 container: leases with cleartext secrets are not renewed")
	}
	renewLease(&ls, l)
	out := append([]byte{}, b[:immHeaderSize+dataLen]...)
	binary.BigEndian.PutUint32(out[8:], uint32(len(ls)))
	for _, x := range ls {
		out = append(out, x.marshalImm()...)
	}
	return writeAtomic(path, out)
}

// ExpireLeases deletes every share none of whose leases is still valid,
// the garbage collection Tahoe's lease crawler does. It returns how many
// shares it removed.
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
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var ls []lease
		if isMutable(b) {
			m, err := parseMutable(b)
			if err != nil {
				s.log.Warn("unreadable mutable share; left alone", "path", path, "err", err)
				return nil
			}
			ls = m.Leases
		} else if _, _, ls, err = immLeases(b); err != nil {
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
