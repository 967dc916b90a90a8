package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
)

// Options configure a Store.
type Options struct {
	// ReadOnly refuses new immutable shares and mutable writes.
	ReadOnly bool
	// ReservedSpace is disk space the store never allocates into.
	ReservedSpace uint64
	// Info is the identity the store reports (it belongs to the node).
	Info   storage.ServerInfo
	Logger *slog.Logger
	// Now is the clock (lease expiry, idle uploads); default time.Now.
	Now func() time.Time
	// FreeSpace reports free bytes at a path; default statfs.
	FreeSpace func(path string) (uint64, error)
	// IdleAbort drops an upload with no write for this long (default 30 min, as Tahoe).
	IdleAbort time.Duration
	// MaxUploads bounds the immutable shares being uploaded at once
	// (default DefaultMaxUploads).
	MaxUploads int
}

// DefaultMaxUploads is how many immutable shares may be allocated and not
// yet complete at once, from all clients together. An upload holds no
// open file between writes, so this bounds memory and directories, not
// file descriptors; what allocations may still write counts against free
// space.
const DefaultMaxUploads = 1000

// Store is a share store in a directory. It is safe for concurrent use.
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu          sync.Mutex // guards the fields below
	uploads     map[shareKey]*upload
	slots       map[storage.SI]*sync.Mutex
	undo        map[storage.SI]string // journals of failed changes not yet undone
	pendingEdit uint64                // space reserved by changes in progress
	free        uint64
	freeAt      time.Time
	// readOnly and reserved are Options' ReadOnly and ReservedSpace as in
	// force now (SetLimits changes them while the store serves).
	readOnly bool
	reserved uint64

	seq atomic.Uint64 // names journals

	// com makes complete immutable shares durable in groups; nil: each
	// on its own. release gives it back (Close).
	com     *committer
	release func()

	adv advisories
}

type shareKey struct {
	si storage.SI
	sh int
}

// upload is an incoming immutable share. mu serialises its writes. The
// file is opened for each write, not kept open.
type upload struct {
	mu     sync.Mutex
	secret storage.Secret
	lease  storage.LeaseSecrets
	size   uint64
	path   string
	have   storage.Ranges
	left   uint64
	last   time.Time
	done   bool
	// head: the container header is in the file (written with the
	// write at share offset 0, which it precedes), so finish need not
	// write it.
	head bool
}

// Open opens (creating if needed) the store in dir. Uploads left
// incomplete by a previous run are removed.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FreeSpace == nil {
		opts.FreeSpace = statfsFree
	}
	if opts.IdleAbort == 0 {
		opts.IdleAbort = 30 * time.Minute
	}
	if opts.MaxUploads <= 0 {
		opts.MaxUploads = DefaultMaxUploads
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{dir: dir, opts: opts, log: log, uploads: map[shareKey]*upload{}, slots: map[storage.SI]*sync.Mutex{},
		undo: map[storage.SI]string{}, readOnly: opts.ReadOnly, reserved: opts.ReservedSpace}
	if err := s.recoverJournals(); err != nil {
		return nil, fmt.Errorf("open store %s: undo changes interrupted by a crash: %w", dir, err)
	}
	if err := os.RemoveAll(s.incomingRoot()); err != nil {
		return nil, fmt.Errorf("clear unfinished uploads: %w", err)
	}
	for _, d := range []string{s.sharesRoot(), s.incomingRoot(), s.advisoryDir(), s.journalDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	if err := s.loadAdvisories(); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.com, s.release = committerFor(s.dir, s.sharesRoot(), s.incomingRoot())
	return s, nil
}

func (s *Store) sharesRoot() string   { return filepath.Join(s.dir, "shares") }
func (s *Store) incomingRoot() string { return filepath.Join(s.dir, "shares", "incoming") }

// bucketDir is Tahoe's storage_index_to_dir: <2-char prefix>/<SI>.
func bucketDir(root string, si storage.SI) string {
	t := si.String()
	return filepath.Join(root, t[:2], t)
}

func (s *Store) sharePath(si storage.SI, sh int) string {
	return filepath.Join(bucketDir(s.sharesRoot(), si), strconv.Itoa(sh))
}

// incomingPath is where share sh of si is written until complete: one
// flat directory, so an upload costs no directory of its own (a mkdir and
// an rmdir per share on the hot path).
func (s *Store) incomingPath(si storage.SI, sh int) string {
	return filepath.Join(s.incomingRoot(), si.String()+"."+strconv.Itoa(sh))
}

// mkdirLeaf makes dir, whose parent usually exists: one mkdir instead of
// MkdirAll's stat of every level. It reports whether it created dir.
func mkdirLeaf(dir string) (bool, error) {
	err := os.Mkdir(dir, 0o700)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, os.MkdirAll(dir, 0o700)
}

// Close aborts uploads in progress.
func (s *Store) Close() error {
	s.mu.Lock()
	us := s.uploads
	s.uploads = map[shareKey]*upload{}
	s.mu.Unlock()
	for k, u := range us {
		s.drop(k, u)
	}
	if s.release != nil {
		s.release()
	}
	return nil
}

// SetLimits puts read-only and the reserved space in force at once, for
// the requests that come next (a node taking tahoe.cfg's [storage]
// readonly and reserved_space while it runs). Uploads already allocated
// go on to completion; new allocations and mutable writes see the new
// limits.
func (s *Store) SetLimits(readOnly bool, reserved uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readOnly, s.reserved = readOnly, reserved
}

// Limits are read-only and the reserved space in force.
func (s *Store) Limits() (readOnly bool, reserved uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readOnly, s.reserved
}

// Info implements storage.Server.
func (s *Store) Info() storage.ServerInfo { return s.opts.Info }

// available is the space new allocations may use: free disk minus the
// reservation minus what open uploads and changes in progress may still
// write. s.mu must be held. Free space is cached
// for a second (Tahoe clients poll the version every second).
func (s *Store) available() uint64 {
	now := s.opts.Now()
	if now.Sub(s.freeAt) > time.Second || s.freeAt.IsZero() {
		if f, err := s.opts.FreeSpace(s.dir); err == nil {
			s.free, s.freeAt = f, now
		} else {
			s.log.Warn("cannot read free disk space", "err", err)
		}
	}
	avail := s.free - min(s.free, s.pendingEdit)
	for _, u := range s.uploads {
		avail -= min(avail, u.left)
	}
	return avail - min(avail, s.reserved)
}

// Version implements storage.Server.
func (s *Store) Version(ctx context.Context) (storage.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	avail := s.available()
	if s.readOnly {
		avail = 0
	}
	return storage.Version{MaxImmutableShareSize: avail, MaxMutableShareSize: MaxMutableShareSize,
		AvailableSpace: avail, Application: "lafssync/" + appVersion}, nil
}

var appVersion = "0.1"

func (s *Store) leaseExpiry() uint32 {
	return uint32(s.opts.Now().Add(storage.LeaseDurationSeconds * time.Second).Unix())
}

func listShares(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []int{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []int{}
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n >= 0 && strconv.Itoa(n) == e.Name() {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ListShares implements storage.Server: complete immutable shares.
func (s *Store) ListShares(ctx context.Context, si storage.SI) ([]int, error) {
	all, err := listShares(bucketDir(s.sharesRoot(), si))
	if err != nil {
		return nil, fmt.Errorf("list shares of %s: %w", si, err)
	}
	out := []int{}
	for _, sh := range all {
		if head, _, err := readHead(s.sharePath(si, sh)); err == nil && !isMutable(head) {
			out = append(out, sh)
		}
	}
	return out, nil
}

func readHead(path string) ([]byte, int64, error) {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	head := make([]byte, 32)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, 0, err
	}
	return head[:n], st.Size(), nil
}

// AllocateBuckets implements storage.Server.
func (s *Store) AllocateBuckets(ctx context.Context, si storage.SI, ls storage.LeaseSecrets, secret storage.Secret, shares []int, size uint64) (storage.Allocation, error) {
	var a storage.Allocation
	have, err := s.ListShares(ctx, si)
	if err != nil {
		return a, err
	}
	a.AlreadyHave = have
	a.Allocated = []int{}
	if len(have) > 0 {
		// Tahoe renews the uploader's lease on shares it already has.
		if err := s.AddLease(ctx, si, ls); err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.log.Warn("renew lease on existing shares", "si", si.String(), "err", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readOnly {
		return a, nil
	}
	busy := false
	for _, sh := range shares {
		if sh < 0 || sh > 255 {
			return a, fmt.Errorf("share number %d out of range: %w", sh, storage.ErrOutOfRange)
		}
		if slices.Contains(have, sh) {
			continue
		}
		k := shareKey{si, sh}
		if u, ok := s.uploads[k]; ok {
			if u.secret == secret && u.size == size {
				a.Allocated = append(a.Allocated, sh)
			}
			continue
		}
		if _, err := os.Stat(s.sharePath(si, sh)); err == nil {
			continue // a mutable slot's share, or written meanwhile
		}
		if size > s.available() {
			s.log.Info("refusing allocation: not enough space", "si", si.String(), "share", sh, "size", size)
			continue
		}
		if len(s.uploads) >= s.opts.MaxUploads {
			busy = true
			continue
		}
		// The file is made by the first write (finish writes the
		// header): an allocation costs no syscall and no inode, and space
		// is held by the accounting in available.
		s.uploads[k] = &upload{secret: secret, lease: ls, size: size, path: s.incomingPath(si, sh), left: size, last: s.opts.Now()}
		a.Allocated = append(a.Allocated, sh)
	}
	if busy {
		s.log.Info("refusing allocations: too many uploads in progress", "si", si.String(), "limit", s.opts.MaxUploads)
		if len(a.Allocated) == 0 {
			return a, fmt.Errorf("allocate %s: %d uploads already in progress on this server, the most it takes; try again later or another server: %w", si, s.opts.MaxUploads, storage.ErrNoSpace)
		}
	}
	return a, nil
}

func diskErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %v", storage.ErrNoSpace, err)
	}
	return err
}

func (s *Store) lookupUpload(si storage.SI, sh int, secret storage.Secret) (*upload, error) {
	s.mu.Lock()
	u, ok := s.uploads[shareKey{si, sh}]
	s.mu.Unlock()
	if !ok {
		if _, err := os.Stat(s.sharePath(si, sh)); err == nil {
			return nil, fmt.Errorf("share %s/%d: %w", si, sh, storage.ErrComplete)
		}
		return nil, fmt.Errorf("share %s/%d: no upload in progress: %w", si, sh, storage.ErrNotFound)
	}
	if u.secret != secret {
		return nil, fmt.Errorf("share %s/%d: upload secret: %w", si, sh, storage.ErrUnauthorized)
	}
	return u, nil
}

// WriteShare implements storage.Server.
func (s *Store) WriteShare(ctx context.Context, si storage.SI, sh int, secret storage.Secret, off uint64, p []byte) (bool, error) {
	u, err := s.lookupUpload(si, sh, secret)
	if err != nil {
		return false, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return false, fmt.Errorf("share %s/%d: %w", si, sh, storage.ErrNotFound)
	}
	end := off + uint64(len(p))
	if end > u.size || end < off {
		return false, fmt.Errorf("share %s/%d: write of %d bytes at %d past the allocated %d: %w", si, sh, len(p), off, u.size, storage.ErrOutOfRange)
	}
	if len(p) == 0 && u.left > 0 {
		// A write of no bytes (node/gbs checks each request this way
		// before it reads the body) changes nothing: no file is opened
		// or made. Only an empty share's one write completes it.
		u.last = s.opts.Now()
		return false, nil
	}
	f, err := openFile(u.path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		// incoming/ was removed under us: make it again.
		if err = os.MkdirAll(s.incomingRoot(), 0o700); err == nil {
			f, err = openFile(u.path, os.O_RDWR|os.O_CREATE, 0o600)
		}
	}
	if err != nil {
		return false, fmt.Errorf("share %s/%d: %w", si, sh, diskErr(err))
	}
	defer f.Close()
	// Bytes written before must not change.
	var again uint64
	err = u.have.Overlaps(off, end, func(lo, hi uint64) error {
		again += hi - lo
		old := make([]byte, hi-lo)
		if _, err := f.ReadAt(old, int64(immHeaderSize+lo)); err != nil {
			return fmt.Errorf("share %s/%d: re-read: %w", si, sh, err)
		}
		if !bytes.Equal(old, p[lo-off:hi-off]) {
			return fmt.Errorf("share %s/%d: bytes %d-%d differ from those already written: %w", si, sh, lo, hi, storage.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	// The container's header and lease go out in the same write as the
	// share bytes they border, when they do (the write at offset 0; the
	// write that completes the share at its end): one syscall per
	// request instead of three for the last. Neither is read before the
	// share is complete and renamed out of incoming/, and both are final
	// when written (the header names the one lease finish adds).
	bufs := [][]byte{p}
	at := int64(immHeaderSize + off)
	head := off == 0 && !u.head
	if head {
		bufs = [][]byte{immHeaderBytes(2, u.size, 1), p}
		at = 0
	}
	var l []byte
	if completes := (end-off)-again == u.left; completes && end == u.size {
		l = newLease(u.lease, s.leaseExpiry()).marshalImm()
		bufs = append(bufs, l)
	}
	if err := writeAtv(f, at, bufs...); err != nil {
		return false, fmt.Errorf("share %s/%d: write: %w", si, sh, diskErr(err))
	}
	u.head = u.head || head
	u.last = s.opts.Now()
	u.left -= u.have.Add(off, end)
	if u.left > 0 {
		return false, nil
	}
	if err := s.finish(si, sh, u, f, l != nil); err != nil {
		return false, err
	}
	return true, nil
}

// CheckUpload returns the error WriteShare would give before writing: no
// such upload, wrong secret, or a write of n bytes at off past the
// allocation. A server checks it before reading a request body.
func (s *Store) CheckUpload(si storage.SI, sh int, secret storage.Secret, off, n uint64) error {
	u, err := s.lookupUpload(si, sh, secret)
	if err != nil {
		return err
	}
	if end := off + n; end > u.size || end < off {
		return fmt.Errorf("share %s/%d: write of %d bytes at %d past the allocated %d: %w", si, sh, n, off, u.size, storage.ErrOutOfRange)
	}
	return nil
}

// StreamChunk is the buffer WriteShareFrom reads a body through.
const StreamChunk = 1 << 20

var chunkPool = sync.Pool{New: func() any { b := make([]byte, StreamChunk); return &b }}

// WriteShareFrom is WriteShare with the n bytes of data read from r,
// StreamChunk at a time, so a request body is never held whole. The
// upload and range are checked before anything is read. Chunks written
// before an error (a conflict, a short body) stay written: they were
// unwritten or identical bytes of the same allocation.
func (s *Store) WriteShareFrom(ctx context.Context, si storage.SI, sh int, secret storage.Secret, off uint64, r io.Reader, n uint64) (bool, error) {
	if err := s.CheckUpload(si, sh, secret, off, n); err != nil {
		return false, err
	}
	if n == 0 {
		return s.WriteShare(ctx, si, sh, secret, off, nil)
	}
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		b := (*bp)[:min(n, StreamChunk)]
		if _, err := io.ReadFull(r, b); err != nil {
			return false, fmt.Errorf("share %s/%d: read the data at %d: %w", si, sh, off, err)
		}
		done, err := s.WriteShare(ctx, si, sh, secret, off, b)
		if err != nil || done {
			return done, err
		}
		off += uint64(len(b))
		n -= uint64(len(b))
	}
	return false, nil
}

// finish adds the lease (unless leased: the last write carried it) and
// the header (unless u.head), makes the share durable and moves it into
// place.
func (s *Store) finish(si storage.SI, sh int, u *upload, f *os.File, leased bool) error {
	fail := func(err error) error {
		return fmt.Errorf("complete share %s/%d: %w", si, sh, diskErr(err))
	}
	if !leased {
		l := newLease(u.lease, s.leaseExpiry())
		if _, err := f.WriteAt(l.marshalImm(), int64(immHeaderSize+u.size)); err != nil {
			return fail(err)
		}
	}
	if !u.head {
		if _, err := f.WriteAt(immHeaderBytes(2, u.size, 1), 0); err != nil {
			return fail(err)
		}
	}
	final := s.sharePath(si, sh)
	if s.com != nil {
		if err := f.Close(); err != nil {
			return fail(err)
		}
		p := &pending{from: u.path, to: final}
		err := s.com.commit(p)
		if p.placed {
			// Visible, so no longer an upload, even if its flush failed.
			u.done = true
			s.mu.Lock()
			delete(s.uploads, shareKey{si, sh})
			s.mu.Unlock()
		}
		if err != nil {
			return fail(err)
		}
		return nil
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	made, err := mkdirLeaf(filepath.Dir(final))
	if err != nil {
		return fail(err)
	}
	if err := os.Rename(u.path, final); err != nil {
		return fail(err)
	}
	syncDir(filepath.Dir(final))
	if made {
		// The bucket directory's own entry, in its prefix directory.
		syncDir(filepath.Dir(filepath.Dir(final)))
	}
	u.done = true
	s.mu.Lock()
	delete(s.uploads, shareKey{si, sh})
	s.mu.Unlock()
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// AbortShare implements storage.Server.
func (s *Store) AbortShare(ctx context.Context, si storage.SI, sh int, secret storage.Secret) error {
	u, err := s.lookupUpload(si, sh, secret)
	if err != nil {
		return err
	}
	s.drop(shareKey{si, sh}, u)
	return nil
}

func (s *Store) drop(k shareKey, u *upload) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return
	}
	u.done = true
	os.Remove(u.path)
	s.mu.Lock()
	delete(s.uploads, k)
	s.mu.Unlock()
}

// Sweep aborts uploads idle for longer than Options.IdleAbort and returns
// how many it dropped.
func (s *Store) Sweep() int {
	now := s.opts.Now()
	s.mu.Lock()
	var idle []shareKey
	for k, u := range s.uploads {
		if now.Sub(u.last) > s.opts.IdleAbort {
			idle = append(idle, k)
		}
	}
	us := map[shareKey]*upload{}
	for _, k := range idle {
		us[k] = s.uploads[k]
	}
	s.mu.Unlock()
	for k, u := range us {
		s.log.Info("aborting idle upload", "si", k.si.String(), "share", k.sh)
		s.drop(k, u)
	}
	return len(us)
}

// ReadShare implements storage.Server.
func (s *Store) ReadShare(ctx context.Context, si storage.SI, sh int, off, length uint64) ([]byte, error) {
	f, err := openFile(s.sharePath(si, sh), os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("share %s/%d: %w", si, sh, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("share %s/%d: %w", si, sh, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	head := make([]byte, 32)
	n, _ := io.ReadFull(f, head)
	if isMutable(head[:n]) {
		return nil, fmt.Errorf("share %s/%d is mutable: %w", si, sh, storage.ErrNotFound)
	}
	_, dataLen, err := parseImm(head[:n], st.Size())
	if err != nil {
		return nil, fmt.Errorf("share %s/%d: %w", si, sh, err)
	}
	if off >= uint64(dataLen) {
		return []byte{}, nil
	}
	length = min(length, uint64(dataLen)-off, maxRead)
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, int64(immHeaderSize+off)); err != nil {
		return nil, fmt.Errorf("share %s/%d: read: %w", si, sh, err)
	}
	return buf, nil
}

var _ storage.Server = (*Store)(nil)
