package immutable

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/grid/placement"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
)

// Params are the encoding and placement parameters of uploads.
type Params struct {
	K, Happy, N    int
	MaxSegmentSize int64
}

// DefaultParams are Tahoe's defaults: 3-of-10, happy 7, 1 MiB segments
// (Tahoe ≥ 1.19; chk.DefaultMaxSegmentSize).
func DefaultParams() Params {
	return Params{K: chk.DefaultK, Happy: chk.DefaultHappy, N: chk.DefaultN, MaxSegmentSize: chk.DefaultMaxSegmentSize}
}

func (p Params) validate() error {
	if p.K < 1 || p.K > p.N || p.N > 256 {
		return fmt.Errorf("encoding parameters: need 1 <= k <= n <= 256, got k=%d n=%d", p.K, p.N)
	}
	if p.Happy < 1 || p.Happy > p.N {
		return fmt.Errorf("encoding parameters: need 1 <= happy <= n, got happy=%d n=%d", p.Happy, p.N)
	}
	if p.MaxSegmentSize < 1 {
		return fmt.Errorf("encoding parameters: segment size %d", p.MaxSegmentSize)
	}
	return nil
}

// Client holds what every operation needs: the servers, the encoding
// parameters and the client's secrets.
type Client struct {
	Servers []storage.Server
	Params  Params
	// Convergence is the convergence secret; nil means a random key per
	// upload (no deduplication).
	Convergence []byte
	// LeaseSecret is the client's 32-byte secret from which per-file,
	// per-server lease secrets derive.
	LeaseSecret []byte
	Logger      *slog.Logger
	// Concurrency bounds in-flight requests per operation (default 16).
	Concurrency int
	// Timeout bounds each request to a server (default 60 s).
	Timeout time.Duration
	// Helper, when set, takes immutable uploads: the client encrypts and
	// the helper erasure-codes and places the shares (helper.go).
	Helper Helper
	// Versions, when set, keeps the servers' Version answers between
	// uploads (VersionCache); nil asks every server before every upload.
	Versions *VersionCache
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Client) concurrency() int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	return 16
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 60 * time.Second
}

// parallel runs fn(0…n-1) with at most Concurrency running at once and
// waits for them all.
func (c *Client) parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, c.concurrency())
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

func (c *Client) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout())
}

// leaseSecrets derives the lease secrets a file's shares on srv carry.
func (c *Client) leaseSecrets(si storage.SI, srv storage.Server) storage.LeaseSecrets {
	return LeaseSecrets(c.LeaseSecret, si, srv.Info())
}

// LeaseSecrets derives the lease renew and cancel secrets the shares of si
// on server carry, from the client's lease secret (Tahoe's private/secret),
// as Tahoe does for every share it uploads or renews, immutable or mutable:
// client secret → per-file secret (storage index) → per-server secret
// (the server's lease seed).
func LeaseSecrets(clientSecret []byte, si storage.SI, server storage.ServerInfo) storage.LeaseSecrets {
	seed := server.LeaseSeed
	cr, cc := taghash.ClientRenewalSecret(clientSecret), taghash.ClientCancelSecret(clientSecret)
	fr := taghash.FileRenewalSecret(cr[:], si[:])
	fc := taghash.FileCancelSecret(cc[:], si[:])
	return storage.LeaseSecrets{
		Renew:  storage.Secret(taghash.BucketRenewalSecret(fr[:], seed[:])),
		Cancel: storage.Secret(taghash.BucketCancelSecret(fc[:], seed[:])),
	}
}

// ring returns the servers in ring order for si.
func (c *Client) ring(si storage.SI) []storage.Server {
	seeds := make([][]byte, len(c.Servers))
	for i, s := range c.Servers {
		seeds[i] = s.Info().PermutationSeed
	}
	out := make([]storage.Server, 0, len(c.Servers))
	for _, i := range placement.Permute(si[:], seeds, nil) {
		out = append(out, c.Servers[i])
	}
	return out
}

// UnhappyError means the shares could not be spread over enough servers.
type UnhappyError struct {
	Happiness, Needed int
	Servers           int // servers on the ring considered
	Usable            int // of those, reachable and accepting shares
	Reasons           []string
}

func (e *UnhappyError) Error() string {
	msg := fmt.Sprintf("upload needs shares on %d distinct servers but could place them on only %d "+
		"(%d servers considered, %d usable)", e.Needed, e.Happiness, e.Servers, e.Usable)
	if len(e.Reasons) > 0 {
		msg += ": " + strings.Join(e.Reasons, "; ")
	}
	return msg + ". Connect to more storage servers or lower shares.happy."
}

// UploadResult describes a finished upload.
type UploadResult struct {
	Cap cap.Cap
	// Placement maps share numbers to the IDs of the servers holding them.
	Placement map[int]string
	Happiness int
	// Uploaded counts shares written by this upload (the rest were already there).
	Uploaded int
	Bytes    int64
	Elapsed  time.Duration
}

type shareTarget struct {
	srv     storage.Server
	shnum   int
	present bool // already complete on the server
	failed  error
}

// Upload stores the plaintext read from r (which must be seekable: the
// convergent key needs a first pass) and returns its cap.
func (c *Client) Upload(ctx context.Context, r io.ReadSeeker) (*UploadResult, error) {
	start := time.Now()
	if err := c.Params.validate(); err != nil {
		return nil, err
	}
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("upload: find the size of the input: %w", err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("upload: rewind the input: %w", err)
	}
	if size <= chk.LITThreshold {
		return uploadLIT(r, size, start)
	}
	p := c.Params
	l, err := chk.NewLayout(size, p.K, p.N, p.MaxSegmentSize)
	if err != nil {
		return nil, err
	}
	var key [16]byte
	var first *summingReader // the key pass, when there is one
	if c.Convergence != nil {
		first = &summingReader{r: r}
		if key, err = chk.ConvergentKey(first, c.Convergence, l); err != nil {
			if first.n != size {
				return nil, fmt.Errorf("upload: %w: %d bytes at the start, %d when hashing", ErrSourceChanged, size, first.n)
			}
			return nil, fmt.Errorf("upload: %w", err)
		}
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("upload: rewind the input: %w", err)
		}
	} else if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	second := &summingReader{r: r}
	return c.encodeAndPlace(ctx, second, l, key, start, func(err error) error {
		if err == nil || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			// The key came from the first pass and the shares from the second:
			// both must have read the same bytes, or the cap would not be the
			// file's convergent cap (and the file may be torn mid-write).
			if cerr := second.changedSince(first, size, r); cerr != nil {
				return cerr
			}
		}
		return err
	})
}

// uploadLIT reads a file small enough to live in its cap.
func uploadLIT(r io.Reader, size int64, start time.Time) (*UploadResult, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("upload: read input: %w", err)
	}
	return &UploadResult{Cap: &cap.LIT{Data: data}, Bytes: size, Elapsed: time.Since(start)}, nil
}

// encodeAndPlace is the pass both uploads share once the key is known: it
// allocates shares, encrypts and erasure-codes r into them, and returns the
// cap. check sees the encoder's outcome and may replace it (how each caller
// tells that its input changed); on any error every share this upload
// allocated is aborted.
func (c *Client) encodeAndPlace(ctx context.Context, r io.Reader, l chk.Layout, key [16]byte, start time.Time, check func(error) error) (*UploadResult, error) {
	if c.Helper != nil {
		return c.uploadViaHelper(ctx, r, l, key, start, check)
	}
	si := storage.SI(taghash.StorageIndex(key))
	out, _, err := c.placeEncoded(ctx, si, l, start, func(w chk.ShareWriter) (*chk.Result, error) { return chk.Encode(r, key, l, w) }, check)
	return out, err
}

// placeEncoded allocates the shares of si, has encode write them, and
// describes the result; it is encodeAndPlace once the source of the
// shares is chosen (plaintext and key, or an upload helper's ciphertext).
func (c *Client) placeEncoded(ctx context.Context, si storage.SI, l chk.Layout, start time.Time, encode func(chk.ShareWriter) (*chk.Result, error), check func(error) error) (*UploadResult, *chk.Result, error) {
	// The UEB's size is known before encoding: it has fixed-width hashes
	// and the numbers come from the layout.
	uebLen := len((&chk.UEB{CodecName: "crs",
		CodecParams:     fmt.Sprintf("%d-%d-%d", l.SegmentSize, l.K, l.N),
		TailCodecParams: fmt.Sprintf("%d-%d-%d", l.PaddedTail, l.K, l.N),
		NeededShares:    l.K, TotalShares: l.N, NumSegments: l.NumSegments, SegmentSize: l.SegmentSize, Size: l.Size,
	}).Pack())

	uploadSecret, err := c.uploadSecret(si)
	if err != nil {
		return nil, nil, err
	}
	targets, happiness, err := c.allocate(ctx, si, l.ShareLen(uebLen), uploadSecret, nil)
	if err != nil {
		return nil, nil, err
	}
	c.logger().With("si", si.String()).Debug("upload placed", "happiness", happiness, "size", l.Size)

	w := &serverWriter{c: c, si: si, secret: uploadSecret, targets: targets, happy: c.Params.Happy}
	res, err := encode(w)
	if err == nil {
		err = w.flushErr()
	} else {
		// No write may outlive the upload: one finishing later could
		// complete a share under a retry that allocated it meanwhile.
		w.wg.Wait()
	}
	err = check(err)
	if err == nil && len(res.UEB) != uebLen {
		err = fmt.Errorf("UEB is %d bytes, expected %d", len(res.UEB), uebLen)
	}
	if err != nil {
		for _, t := range targets {
			if !t.present {
				actx, cancel := c.call(context.WithoutCancel(ctx))
				_ = t.srv.AbortShare(actx, si, t.shnum, uploadSecret)
				cancel()
			}
		}
		return nil, nil, fmt.Errorf("upload %s: %w", si, err)
	}
	out := &UploadResult{Placement: map[int]string{}, Bytes: l.Size, Happiness: happinessOfTargets(targets)}
	for sh, t := range targets {
		if t.failed != nil {
			continue
		}
		out.Placement[sh] = t.srv.Info().ID
		if !t.present {
			out.Uploaded++
		}
	}
	ref := res.Ref
	out.Cap = &cap.CHK{Key: ref.Key, UEBHash: ref.UEBHash, K: ref.K, N: ref.N, Size: ref.Size}
	out.Elapsed = time.Since(start)
	return out, res, nil
}

// ErrSourceChanged means the input changed while it was being uploaded:
// the pass that derived the convergent key and the pass that encrypted
// and encoded it read different bytes (or a different length). No cap is
// returned; the caller should retry once the file is no longer being
// written (or fail and say so). Shares already written stay on the servers
// until their leases expire.
var ErrSourceChanged = errors.New("the file changed while it was being uploaded; try again when nothing is writing to it")

// summingReader counts and checksums what passes through it (CRC-32C:
// hardware-accelerated, about 10 GB/s on one core here, so a small
// fraction of the SHA-256d hashing each pass already does). It tells the
// two passes of an upload apart; it is no defence against an adversary
// who controls the file, who can choose its bytes anyway.
type summingReader struct {
	r   io.Reader
	n   int64
	sum uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (s *summingReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.sum = crc32.Update(s.sum, castagnoli, p[:n])
	s.n += int64(n)
	return n, err
}

// changedSince reports ErrSourceChanged if this pass read fewer than size
// bytes, if r has bytes past size (the file grew), or if this pass's
// bytes differ from the first pass's (nil: there was none).
func (s *summingReader) changedSince(first *summingReader, size int64, r io.Reader) error {
	if s.n < size {
		return fmt.Errorf("%w: %d bytes at the start, %d when encoding", ErrSourceChanged, size, s.n)
	}
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n > 0 {
		return fmt.Errorf("%w: it grew past %d bytes", ErrSourceChanged, size)
	}
	if first != nil && first.sum != s.sum {
		return fmt.Errorf("%w: its contents differ between the key pass and the encoding pass", ErrSourceChanged)
	}
	return nil
}

func happinessOfTargets(targets map[int]*shareTarget) int {
	idx := map[storage.Server]int{}
	var has [][]int
	for sh, t := range targets {
		if t.failed != nil {
			continue
		}
		i, ok := idx[t.srv]
		if !ok {
			i = len(has)
			idx[t.srv] = i
			has = append(has, nil)
		}
		has[i] = append(has[i], sh)
	}
	return placement.Happiness(has)
}

type candidate struct {
	srv      storage.Server
	writable bool
	existing []int
	reason   string
}

// allocate places the shares on the first 2n servers on the ring and
// reserves space for the new ones. corrupt maps server IDs to shares they
// hold that failed verification (repair): those count as missing, and
// since a complete share cannot be overwritten, their replacements go to
// other servers.
//
// A file new to the grid, the usual case, has no shares anywhere, so an
// upload first places as if so and learns from the allocation answers
// (each names every share its server holds) whether that was right
// (allocateFresh): two requests per server per file, not four. When a
// server already holds a share of the file (a second upload of the same
// content, an upload resumed), refuses, fails, or the guess cannot be
// placed happily, the upload asks every server what it holds and places
// from that (as repair always does); what the guess reserved and that
// placement does not use is then released. (Released only then: an
// allocation under the same upload secret may be another upload's of the
// same content, under way in this client, which the placement reuses.)
func (c *Client) allocate(ctx context.Context, si storage.SI, shareLen int64, secret storage.Secret, corrupt map[string][]int) (map[int]*shareTarget, int, error) {
	ring := c.ring(si)
	if len(ring) > 2*c.Params.N {
		ring = ring[:2*c.Params.N]
	}
	var guessed []shareTarget // what a failed guess reserved
	if corrupt == nil {
		cands := c.survey(ctx, si, ring, shareLen, nil, false)
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		targets, happy, ok, reserved := c.allocateFresh(ctx, si, cands, shareLen, secret)
		if ok {
			return targets, happy, nil
		}
		guessed = reserved
	}
	var targets map[int]*shareTarget
	var happy int
	cands := c.survey(ctx, si, ring, shareLen, corrupt, true)
	err := ctx.Err()
	if err == nil {
		targets, happy, err = c.allocateSurveyed(ctx, si, cands, shareLen, secret, corrupt)
	}
	for _, g := range guessed {
		if t := targets[g.shnum]; t == nil || t.present || t.srv != g.srv {
			actx, cancel := c.call(context.WithoutCancel(ctx))
			_ = g.srv.AbortShare(actx, si, g.shnum, secret)
			cancel()
		}
	}
	return targets, happy, err
}

// survey asks each server on ring whether it takes a share of shareLen
// bytes (Version, through the cache) and, with list, which shares of si
// it holds (corrupt ones not counted).
func (c *Client) survey(ctx context.Context, si storage.SI, ring []storage.Server, shareLen int64, corrupt map[string][]int, list bool) []*candidate {
	cands := make([]*candidate, len(ring))
	for i, srv := range ring {
		cands[i] = &candidate{srv: srv}
	}
	c.parallel(len(ring), func(i int) {
		cd, srv := cands[i], ring[i]
		cctx, cancel := c.call(ctx)
		defer cancel()
		v, err := c.Versions.version(cctx, srv)
		if err != nil {
			cd.reason = fmt.Sprintf("%s unreachable: %v", srv.Info().Nickname, err)
			return
		}
		cd.writable = v.MaxImmutableShareSize >= uint64(shareLen) && v.AvailableSpace >= uint64(shareLen)
		if !cd.writable {
			cd.reason = fmt.Sprintf("%s has no room for a %d-byte share", srv.Info().Nickname, shareLen)
		}
		if !list {
			return
		}
		have, err := srv.ListShares(cctx, si)
		if err != nil {
			cd.reason = fmt.Sprintf("%s: list shares: %v", srv.Info().Nickname, err)
			cd.writable = false
			c.Versions.forget(srv)
			return
		}
		cd.existing = without(have, corrupt[srv.Info().ID])
	})
	return cands
}

// allocateFresh places the n shares on cands as if no server held any
// and allocates them. ok is false when the placement is not happy, or a
// server holds a share of si already, refuses one, or fails; reserved is
// then what it allocated (for the caller to release what it does not
// use).
func (c *Client) allocateFresh(ctx context.Context, si storage.SI, cands []*candidate, shareLen int64, secret storage.Secret) (targets map[int]*shareTarget, happy int, ok bool, reserved []shareTarget) {
	ps := make([]placement.Server, len(cands))
	for i, cd := range cands {
		ps[i] = placement.Server{Writable: cd.writable}
	}
	assign := placement.Place(c.Params.N, ps)
	happy = placement.HappinessOf(assign, ps)
	if happy < c.Params.Happy || len(assign) < c.Params.N {
		return nil, 0, false, nil
	}
	perServer := map[int][]int{}
	targets = map[int]*shareTarget{}
	for sh, i := range assign {
		perServer[i] = append(perServer[i], sh)
		targets[sh] = &shareTarget{srv: cands[i].srv, shnum: sh}
	}
	servers := make([]int, 0, len(perServer))
	for i := range perServer {
		servers = append(servers, i)
	}
	var mu sync.Mutex
	ok = true
	allocated := map[int][]int{} // by candidate: what this guess reserved
	c.parallel(len(servers), func(j int) {
		i := servers[j]
		shares := perServer[i]
		sort.Ints(shares)
		srv := cands[i].srv
		cctx, cancel := c.call(ctx)
		defer cancel()
		a, err := srv.AllocateBuckets(cctx, si, c.leaseSecrets(si, srv), secret, shares, uint64(shareLen))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			c.Versions.forget(srv)
			ok = false
			return
		}
		allocated[i] = a.Allocated
		c.Versions.reserved(srv, uint64(shareLen)*uint64(len(a.Allocated)))
		if len(a.AlreadyHave) > 0 {
			ok = false // the file is on the grid already, in part at least
		}
		for _, sh := range shares {
			if !contains(a.Allocated, sh) {
				ok = false
				c.Versions.forget(srv)
			}
		}
	})
	if ok && ctx.Err() == nil {
		return targets, happy, true, nil
	}
	for i, shares := range allocated {
		for _, sh := range shares {
			reserved = append(reserved, shareTarget{srv: cands[i].srv, shnum: sh})
		}
	}
	return nil, 0, false, reserved
}

// allocateSurveyed places the shares on cands, knowing what each holds,
// and allocates the new ones, placing again without any server that
// refuses.
func (c *Client) allocateSurveyed(ctx context.Context, si storage.SI, cands []*candidate, shareLen int64, secret storage.Secret, corrupt map[string][]int) (map[int]*shareTarget, int, error) {
	p := c.Params
	// Place, allocate, and re-place without any server that refuses:
	// each round removes at least one server, so this ends.
	var reasons []string
	for round := 0; round <= len(cands); round++ {
		ps := make([]placement.Server, len(cands))
		for i, cd := range cands {
			ps[i] = placement.Server{Writable: cd.writable, Existing: cd.existing, Refuses: corrupt[cd.srv.Info().ID]}
		}
		assign := placement.Place(p.N, ps)
		happy := placement.HappinessOf(assign, ps)
		if happy < p.Happy || len(assign) < p.N {
			usable := 0
			for _, cd := range cands {
				if cd.writable {
					usable++
				}
				if cd.reason != "" {
					reasons = append(reasons, cd.reason)
				}
			}
			return nil, 0, &UnhappyError{Happiness: happy, Needed: p.Happy, Servers: len(cands), Usable: usable, Reasons: dedup(reasons)}
		}
		perServer := map[int][]int{}
		targets := map[int]*shareTarget{}
		for sh, i := range assign {
			t := &shareTarget{srv: cands[i].srv, shnum: sh}
			if contains(cands[i].existing, sh) {
				t.present = true
			} else {
				perServer[i] = append(perServer[i], sh)
			}
			targets[sh] = t
		}
		refused := false
		var mu sync.Mutex
		var servers []int
		for i := range perServer {
			servers = append(servers, i)
		}
		c.parallel(len(servers), func(j int) {
			i := servers[j]
			shares := perServer[i]
			sort.Ints(shares)
			cd := cands[i]
			cctx, cancel := c.call(ctx)
			defer cancel()
			a, err := cd.srv.AllocateBuckets(cctx, si, c.leaseSecrets(si, cd.srv), secret, shares, uint64(shareLen))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				cd.writable, cd.reason, refused = false, fmt.Sprintf("%s: allocate: %v", cd.srv.Info().Nickname, err), true
				c.Versions.forget(cd.srv)
				return
			}
			c.Versions.reserved(cd.srv, uint64(shareLen)*uint64(len(a.Allocated)))
			cd.existing = without(a.AlreadyHave, corrupt[cd.srv.Info().ID])
			for _, sh := range shares {
				if !contains(a.Allocated, sh) && !contains(cd.existing, sh) {
					cd.writable, refused = false, true
					cd.reason = fmt.Sprintf("%s refused share %d (full or busy)", cd.srv.Info().Nickname, sh)
					c.Versions.forget(cd.srv)
				}
			}
		})
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		if !refused {
			return targets, happy, nil
		}
		// Release what this round reserved before re-placing.
		for _, t := range targets {
			if !t.present {
				actx, cancel := c.call(ctx)
				_ = t.srv.AbortShare(actx, si, t.shnum, secret)
				cancel()
			}
		}
	}
	return nil, 0, errors.New("upload: placement did not settle")
}

// without is a minus b.
func without(a, b []int) []int {
	if len(b) == 0 {
		return a
	}
	var out []int
	for _, x := range a {
		if !contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func contains(a []int, x int) bool {
	for _, v := range a {
		if v == x {
			return true
		}
	}
	return false
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// serverWriter sends each share's bytes to its server as the encoder
// produces them. A share's blocks are contiguous, so consecutive writes to
// one share are coalesced into chunks of up to writeChunk bytes: one
// request per chunk instead of one per block. Chunks are sent in the
// background with a bounded number in flight, so network latency overlaps
// encoding. A server that fails loses its shares, and the upload goes on
// while happiness holds.
type serverWriter struct {
	c       *Client
	si      storage.SI
	secret  storage.Secret
	targets map[int]*shareTarget
	happy   int

	mu  sync.Mutex // guards targets[*].failed and err
	err error
	wg  sync.WaitGroup

	once     sync.Once
	inflight chan struct{}  // one token per in-flight write
	bufs     map[int]*chunk // per share, owned by the encoder's goroutine
}

type chunk struct {
	off  int64
	data []byte
}

// writeChunk is the coalescing size; with maxInFlight it bounds the
// upload's buffered bytes to about 8 MiB whatever the file size.
const (
	writeChunk  = 512 << 10
	maxInFlight = 16
)

func (w *serverWriter) WriteAt(sh int, off int64, p []byte) error {
	w.once.Do(func() {
		w.inflight = make(chan struct{}, maxInFlight)
		w.bufs = map[int]*chunk{}
	})
	t := w.targets[sh]
	w.mu.Lock()
	err, skip := w.err, t == nil || t.present || t.failed != nil
	w.mu.Unlock()
	if err != nil {
		return err
	}
	if skip {
		return nil
	}
	b := w.bufs[sh]
	if b != nil && off+int64(len(p)) == b.off && len(p)+len(b.data) <= writeChunk {
		// Ends where the buffer begins: chk writes a share's header at
		// offset 0 after its blocks, and a small file's whole share then
		// goes in one PATCH instead of three (header, blocks, hashes).
		joined := &chunk{off: off, data: append(append((*chunkPool.Get().(*[]byte))[:0], p...), b.data...)}
		old := b.data[:0]
		chunkPool.Put(&old)
		w.bufs[sh] = joined
		return nil
	}
	if b != nil && b.off+int64(len(b.data)) != off {
		w.send(t, b)
		b = nil
	}
	if b == nil {
		b = &chunk{off: off, data: (*chunkPool.Get().(*[]byte))[:0]}
		w.bufs[sh] = b
	}
	b.data = append(b.data, p...)
	if len(b.data) >= writeChunk {
		w.send(t, b)
		delete(w.bufs, sh)
	}
	return nil
}

// chunkPool recycles coalescing buffers: fresh 512 KiB buffers cost page
// faults on every chunk otherwise.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, writeChunk+64<<10); return &b }}

// send writes one chunk in the background.
func (w *serverWriter) send(t *shareTarget, b *chunk) {
	w.inflight <- struct{}{}
	w.wg.Go(func() {
		defer func() {
			buf := b.data[:0]
			chunkPool.Put(&buf)
			<-w.inflight
		}()
		w.mu.Lock()
		failed := t.failed != nil || w.err != nil || t.present
		w.mu.Unlock()
		if failed {
			return
		}
		ctx, cancel := w.c.call(context.Background())
		defer cancel()
		if _, err := t.srv.WriteShare(ctx, w.si, t.shnum, w.secret, uint64(b.off), b.data); errors.Is(err, storage.ErrComplete) {
			// A resumed upload (same secret) filled the share's last gap
			// with an earlier write: the share is whole, and the bytes
			// still to send are the ones already there.
			w.mu.Lock()
			t.present = true
			w.mu.Unlock()
		} else if err != nil {
			w.fail(t, err)
		}
	})
}

func (w *serverWriter) fail(t *shareTarget, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t.failed = err
	w.c.logger().Warn("share upload failed; dropping it", "si", w.si.String(), "share", t.shnum, "server", t.srv.Info().Nickname, "err", err)
	for _, o := range w.targets {
		if o.srv == t.srv && o.failed == nil {
			o.failed = fmt.Errorf("server %s failed: %w", t.srv.Info().Nickname, err)
		}
	}
	if h := happinessOfTargets(w.targets); h < w.happy && w.err == nil {
		w.err = &UnhappyError{Happiness: h, Needed: w.happy, Servers: len(w.targets), Usable: h,
			Reasons: []string{fmt.Sprintf("%s failed during the upload: %v", t.srv.Info().Nickname, err)}}
	}
}

// flushErr sends what is still buffered and waits for every write.
func (w *serverWriter) flushErr() error {
	for sh, b := range w.bufs {
		w.send(w.targets[sh], b)
		delete(w.bufs, sh)
	}
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// uploadSecret is the secret that lets this client write the shares of si
// while they are incomplete. It derives from the client's lease secret and
// the storage index, so a client restarted after dying mid-upload (no
// abort sent: kill -9, power cut) gets its in-progress shares back from the
// servers and finishes them, instead of being refused for the servers'
// idle-abort time (30 minutes) because a new random secret does not match.
// Rewriting the same offsets is harmless: the same content, key and
// parameters give the same bytes. Another client cannot derive it. Without
// a lease secret it is random (the old behaviour).
func (c *Client) uploadSecret(si storage.SI) (storage.Secret, error) {
	var s storage.Secret
	if len(c.LeaseSecret) == 0 {
		_, err := rand.Read(s[:])
		return s, err
	}
	m := hmac.New(sha256.New, c.LeaseSecret)
	m.Write([]byte("lafssync immutable upload secret v1\x00"))
	m.Write(si[:])
	copy(s[:], m.Sum(nil))
	return s, nil
}
