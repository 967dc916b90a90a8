// Package mem is an in-memory storage.Server for tests of the grid layer.
// It keeps Tahoe's semantics (incomplete uploads invisible, conflicting
// rewrites refused, read-test-write atomic) and adds hooks to break things:
// corrupt or delete a share, take the server offline, make it read-only.
package mem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
)

// Server is an in-memory storage server.
type Server struct {
	info storage.ServerInfo

	mu        sync.Mutex // guards every field below
	readOnly  bool
	offline   bool
	capacity  uint64 // 0 = unlimited
	used      uint64
	immutable map[storage.SI]map[int][]byte
	incoming  map[storage.SI]map[int]*upload
	mutable   map[storage.SI]*slot
	corrupt   []string
	reads     int
	readBytes int
	now       func() time.Time
	// leases maps each share to its leases: renew secret → expiry.
	leases map[shareKey]map[storage.Secret]time.Time
}

type shareKey struct {
	si    storage.SI
	shnum int
}

type upload struct {
	secret storage.Secret
	data   []byte
	have   storage.Ranges
	left   uint64
}

// write stores p at off after checking that any bytes already written
// there are the same, and returns how many bytes are newly covered.
func (u *upload) write(off uint64, p []byte) (uint64, error) {
	end := off + uint64(len(p))
	err := u.have.Overlaps(off, end, func(lo, hi uint64) error {
		if !bytes.Equal(u.data[lo:hi], p[lo-off:hi-off]) {
			return fmt.Errorf("bytes %d-%d: %w", lo, hi, storage.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	copy(u.data[off:], p)
	return u.have.Add(off, end), nil
}

type slot struct {
	writeEnabler storage.Secret
	shares       map[int][]byte
}

// New returns an empty server whose ID and seeds derive from name.
func New(name string) *Server {
	info := storage.ServerInfo{ID: "mem-" + name, Nickname: name, PermutationSeed: []byte(name)}
	copy(info.LeaseSeed[:], []byte(fmt.Sprintf("%-20s", name)))
	return &Server{
		info:      info,
		immutable: map[storage.SI]map[int][]byte{},
		incoming:  map[storage.SI]map[int]*upload{},
		mutable:   map[storage.SI]*slot{},
		now:       time.Now,
		leases:    map[shareKey]map[storage.Secret]time.Time{},
	}
}

// SetClock sets the clock lease expiries are computed from.
func (s *Server) SetClock(now func() time.Time) { s.mu.Lock(); s.now = now; s.mu.Unlock() }

// Leases returns the expiry of each lease on a share (one per distinct
// renew secret), earliest first; nil if the share has none.
func (s *Server) Leases(si storage.SI, shnum int) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Time
	for _, exp := range s.leases[shareKey{si, shnum}] {
		out = append(out, exp)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// lease adds or renews (by renew secret) a lease on a share, as Tahoe's
// server does on allocation, on every mutable write and on add_lease.
// s.mu must be held.
func (s *Server) lease(si storage.SI, shnum int, ls storage.LeaseSecrets) {
	k := shareKey{si, shnum}
	if s.leases[k] == nil {
		s.leases[k] = map[storage.Secret]time.Time{}
	}
	s.leases[k][ls.Renew] = s.now().Add(storage.LeaseDurationSeconds * time.Second)
}

// NewGrid returns n servers named s0…s(n-1) as storage.Servers.
func NewGrid(n int) ([]*Server, []storage.Server) {
	var ms []*Server
	var ss []storage.Server
	for i := 0; i < n; i++ {
		m := New(fmt.Sprintf("s%d", i))
		ms = append(ms, m)
		ss = append(ss, m)
	}
	return ms, ss
}

// SetReadOnly makes the server refuse new shares.
func (s *Server) SetReadOnly(ro bool) { s.mu.Lock(); s.readOnly = ro; s.mu.Unlock() }

// errOffline is the cause SetOffline's errors carry.
var errOffline = errors.New("offline (test fault)")

// SetOffline makes every call fail as if the server were unreachable: with
// a *storage.UnavailableError, as a network client's errors would be.
func (s *Server) SetOffline(off bool) { s.mu.Lock(); s.offline = off; s.mu.Unlock() }

// SetCapacity limits the bytes of share data the server accepts (0 = no limit).
func (s *Server) SetCapacity(n uint64) { s.mu.Lock(); s.capacity = n; s.mu.Unlock() }

// Corrupt flips one byte of a stored immutable share. It reports whether the share existed.
func (s *Server) Corrupt(si storage.SI, shnum int, offset int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.immutable[si][shnum]
	if !ok || offset >= len(d) {
		return false
	}
	d[offset] ^= 0x5a
	return true
}

// CorruptMutable flips one byte of a mutable share.
func (s *Server) CorruptMutable(si storage.SI, shnum int, offset int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.mutable[si]
	if sl == nil || offset >= len(sl.shares[shnum]) {
		return false
	}
	sl.shares[shnum][offset] ^= 0x5a
	return true
}

// Delete removes an immutable share.
func (s *Server) Delete(si storage.SI, shnum int) {
	s.mu.Lock()
	delete(s.immutable[si], shnum)
	delete(s.leases, shareKey{si, shnum})
	s.mu.Unlock()
}

// DeleteMutable removes a mutable share.
func (s *Server) DeleteMutable(si storage.SI, shnum int) {
	s.mu.Lock()
	if sl := s.mutable[si]; sl != nil {
		delete(sl.shares, shnum)
		if len(sl.shares) == 0 {
			delete(s.mutable, si)
		}
	}
	delete(s.leases, shareKey{si, shnum})
	s.mu.Unlock()
}

// Wipe removes every share, as if the server's disk had been replaced.
func (s *Server) Wipe() {
	s.mu.Lock()
	s.immutable = map[storage.SI]map[int][]byte{}
	s.incoming = map[storage.SI]map[int]*upload{}
	s.mutable = map[storage.SI]*slot{}
	s.leases = map[shareKey]map[storage.Secret]time.Time{}
	s.used = 0
	s.mu.Unlock()
}

// Share returns a copy of a stored immutable share.
func (s *Server) Share(si storage.SI, shnum int) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.immutable[si][shnum]
	return bytes.Clone(d), ok
}

// Corruptions lists the corruption advisories received.
func (s *Server) Corruptions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.corrupt)
}

// Reads counts read calls, so tests can check how much a reader fetched.
func (s *Server) Reads() int { s.mu.Lock(); defer s.mu.Unlock(); return s.reads }

// BytesRead counts share bytes returned by reads.
func (s *Server) BytesRead() int { s.mu.Lock(); defer s.mu.Unlock(); return s.readBytes }

// Used is the number of share bytes stored.
func (s *Server) Used() uint64 { s.mu.Lock(); defer s.mu.Unlock(); return s.used }

func (s *Server) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.offline {
		return storage.Unavailable(s.info, errOffline)
	}
	return nil
}

// Info implements storage.Server.
func (s *Server) Info() storage.ServerInfo { return s.info }

// Version implements storage.Server.
func (s *Server) Version(ctx context.Context) (storage.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return storage.Version{}, err
	}
	avail := uint64(1) << 62
	if s.capacity > 0 {
		avail = s.capacity - min(s.capacity, s.used)
	}
	if s.readOnly {
		avail = 0
	}
	return storage.Version{MaxImmutableShareSize: avail, MaxMutableShareSize: storage.MaxMutableShareSize,
		AvailableSpace: avail, Application: "lafssync-mem"}, nil
}

// AllocateBuckets implements storage.Server.
func (s *Server) AllocateBuckets(ctx context.Context, si storage.SI, ls storage.LeaseSecrets, secret storage.Secret, shares []int, size uint64) (storage.Allocation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var a storage.Allocation
	if err := s.check(ctx); err != nil {
		return a, err
	}
	for sh := range s.immutable[si] {
		a.AlreadyHave = append(a.AlreadyHave, sh)
		s.lease(si, sh, ls)
	}
	slices.Sort(a.AlreadyHave)
	if s.readOnly {
		return a, nil
	}
	for _, sh := range shares {
		if _, ok := s.immutable[si][sh]; ok {
			continue
		}
		if up, ok := s.incoming[si][sh]; ok {
			if up.secret == secret {
				a.Allocated = append(a.Allocated, sh)
			}
			continue
		}
		if s.capacity > 0 && s.used+size > s.capacity {
			continue
		}
		if s.incoming[si] == nil {
			s.incoming[si] = map[int]*upload{}
		}
		s.incoming[si][sh] = &upload{secret: secret, data: make([]byte, size), left: size}
		s.used += size
		s.lease(si, sh, ls)
		a.Allocated = append(a.Allocated, sh)
	}
	return a, nil
}

// WriteShare implements storage.Server.
func (s *Server) WriteShare(ctx context.Context, si storage.SI, shnum int, secret storage.Secret, offset uint64, data []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return false, err
	}
	up, ok := s.incoming[si][shnum]
	if !ok {
		if _, done := s.immutable[si][shnum]; done {
			return false, fmt.Errorf("share %s/%d: %w", si, shnum, storage.ErrComplete)
		}
		return false, fmt.Errorf("share %s/%d: no upload in progress: %w", si, shnum, storage.ErrNotFound)
	}
	if up.secret != secret {
		return false, fmt.Errorf("share %s/%d: upload secret: %w", si, shnum, storage.ErrUnauthorized)
	}
	if offset+uint64(len(data)) > uint64(len(up.data)) || offset+uint64(len(data)) < offset {
		return false, fmt.Errorf("share %s/%d: write %d+%d > %d: %w", si, shnum, offset, len(data), len(up.data), storage.ErrOutOfRange)
	}
	added, err := up.write(offset, data)
	if err != nil {
		return false, fmt.Errorf("share %s/%d: %w", si, shnum, err)
	}
	up.left -= added
	if up.left > 0 {
		return false, nil
	}
	delete(s.incoming[si], shnum)
	if s.immutable[si] == nil {
		s.immutable[si] = map[int][]byte{}
	}
	s.immutable[si][shnum] = up.data
	return true, nil
}

// AbortShare implements storage.Server.
func (s *Server) AbortShare(ctx context.Context, si storage.SI, shnum int, secret storage.Secret) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	up, ok := s.incoming[si][shnum]
	if !ok {
		if _, done := s.immutable[si][shnum]; done {
			return fmt.Errorf("share %s/%d: %w", si, shnum, storage.ErrComplete)
		}
		return fmt.Errorf("share %s/%d: %w", si, shnum, storage.ErrNotFound)
	}
	if up.secret != secret {
		return fmt.Errorf("share %s/%d: %w", si, shnum, storage.ErrUnauthorized)
	}
	s.used -= uint64(len(up.data))
	delete(s.incoming[si], shnum)
	delete(s.leases, shareKey{si, shnum})
	return nil
}

// ListShares implements storage.Server.
func (s *Server) ListShares(ctx context.Context, si storage.SI) ([]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := []int{}
	for sh := range s.immutable[si] {
		out = append(out, sh)
	}
	slices.Sort(out)
	return out, nil
}

func readRange(d []byte, offset, length uint64) []byte {
	if offset >= uint64(len(d)) {
		return []byte{}
	}
	end := min(uint64(len(d)), offset+length)
	return bytes.Clone(d[offset:end])
}

// ReadShare implements storage.Server.
func (s *Server) ReadShare(ctx context.Context, si storage.SI, shnum int, offset, length uint64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.reads++
	d, ok := s.immutable[si][shnum]
	if !ok {
		return nil, fmt.Errorf("share %s/%d: %w", si, shnum, storage.ErrNotFound)
	}
	out := readRange(d, offset, length)
	s.readBytes += len(out)
	return out, nil
}

// AddLease implements storage.Server: it renews the lease with the same
// renew secret on every share of si, or adds one.
func (s *Server) AddLease(ctx context.Context, si storage.SI, ls storage.LeaseSecrets) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if len(s.immutable[si]) == 0 && s.mutable[si] == nil {
		return fmt.Errorf("lease on %s: %w", si, storage.ErrNotFound)
	}
	for sh := range s.immutable[si] {
		s.lease(si, sh, ls)
	}
	if sl := s.mutable[si]; sl != nil {
		for sh := range sl.shares {
			s.lease(si, sh, ls)
		}
	}
	return nil
}

// AdviseCorrupt implements storage.Server.
func (s *Server) AdviseCorrupt(ctx context.Context, kind storage.Kind, si storage.SI, shnum int, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	s.corrupt = append(s.corrupt, fmt.Sprintf("%s %s/%d: %s", kind, si, shnum, reason))
	return nil
}

// ListMutableShares implements storage.Server.
func (s *Server) ListMutableShares(ctx context.Context, si storage.SI) ([]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := []int{}
	if sl := s.mutable[si]; sl != nil {
		for sh := range sl.shares {
			out = append(out, sh)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ReadMutableShare implements storage.Server.
func (s *Server) ReadMutableShare(ctx context.Context, si storage.SI, shnum int, offset, length uint64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.reads++
	sl := s.mutable[si]
	if sl == nil {
		return nil, fmt.Errorf("mutable share %s/%d: %w", si, shnum, storage.ErrNotFound)
	}
	d, ok := sl.shares[shnum]
	if !ok {
		return nil, fmt.Errorf("mutable share %s/%d: %w", si, shnum, storage.ErrNotFound)
	}
	return readRange(d, offset, length), nil
}

// ReadTestWrite implements storage.Server.
func (s *Server) ReadTestWrite(ctx context.Context, si storage.SI, we storage.Secret, ls storage.LeaseSecrets, tw map[int]storage.TestWrite, reads []storage.ReadVector) (storage.RTWResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := storage.RTWResult{Reads: map[int][][]byte{}}
	if err := s.check(ctx); err != nil {
		return res, err
	}
	s.reads++
	sl := s.mutable[si]
	if sl != nil && sl.writeEnabler != we {
		return res, fmt.Errorf("mutable slot %s: write enabler: %w", si, storage.ErrUnauthorized)
	}
	var shares map[int][]byte
	if sl != nil {
		shares = sl.shares
	}
	for sh, d := range shares {
		for _, rv := range reads {
			res.Reads[sh] = append(res.Reads[sh], readRange(d, rv.Offset, rv.Size))
		}
	}
	for sh, t := range tw {
		d := shares[sh]
		for _, tv := range t.Tests {
			if !bytes.Equal(readRange(d, tv.Offset, tv.Size), tv.Specimen) {
				return res, nil
			}
		}
	}
	writes := false
	for _, t := range tw {
		if len(t.Writes) > 0 || t.NewLength != nil {
			writes = true
		}
	}
	if !writes {
		res.OK = true
		return res, nil
	}
	if s.readOnly {
		return res, fmt.Errorf("mutable slot %s: %w", si, storage.ErrReadOnly)
	}
	for sh, t := range tw {
		for _, w := range t.Writes {
			if end := w.Offset + uint64(len(w.Data)); end > storage.MaxMutableShareSize || end < w.Offset {
				return res, fmt.Errorf("mutable share %s/%d: write past the maximum size: %w", si, sh, storage.ErrTooLarge)
			}
		}
		if t.NewLength != nil && *t.NewLength > storage.MaxMutableShareSize {
			return res, fmt.Errorf("mutable share %s/%d: new length past the maximum size: %w", si, sh, storage.ErrTooLarge)
		}
	}
	if sl == nil {
		sl = &slot{writeEnabler: we, shares: map[int][]byte{}}
		s.mutable[si] = sl
	}
	for sh, t := range tw {
		d := sl.shares[sh]
		for _, w := range t.Writes {
			end := w.Offset + uint64(len(w.Data))
			if end > uint64(len(d)) {
				d = append(d, make([]byte, end-uint64(len(d)))...)
			}
			copy(d[w.Offset:], w.Data)
		}
		if t.NewLength != nil {
			n := *t.NewLength
			if n < uint64(len(d)) {
				d = d[:n]
			} else {
				d = append(d, make([]byte, n-uint64(len(d)))...)
			}
			if n == 0 {
				delete(sl.shares, sh)
				delete(s.leases, shareKey{si, sh})
				continue
			}
		}
		sl.shares[sh] = d
		s.lease(si, sh, ls)
	}
	res.OK = true
	return res, nil
}

var _ storage.Server = (*Server)(nil)
