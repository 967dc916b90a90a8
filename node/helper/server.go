package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
	"github.com/lafssync/lafssync/node/transport"
)

// Limits bound what clients can make the helper do. Zero fields take
// DefaultLimits' values.
type Limits struct {
	// MaxUploadsPerClient bounds a client's open uploads (spooling or
	// encoding).
	MaxUploadsPerClient int
	// MaxSpoolPerClient bounds the sum of the sizes of a client's open
	// uploads (reserved at start, so a client cannot outgrow it).
	MaxSpoolPerClient int64
	// MaxSpoolTotal bounds the sum over all clients.
	MaxSpoolTotal int64
	// ReservedSpace is disk space the spool never takes: an upload is
	// refused unless this much would stay free after it.
	ReservedSpace int64
	// IdleTimeout drops an upload (and its spool file) nobody touched for
	// this long.
	IdleTimeout time.Duration
	// MaxEncodes bounds encodes running at once (CPU, and the encoder's
	// few segments of memory each).
	MaxEncodes int
	// MaxSegmentSize bounds the segment size a client may ask for; with
	// MaxExpansion it bounds the encoder's memory.
	MaxSegmentSize int64
	// ForwardPerClient bounds a client's forwarded storage calls in flight.
	ForwardPerClient int
	// MaxForwardBody bounds one forwarded request's body.
	MaxForwardBody int64
	// BodyIdle is how long a request body may stall before the helper
	// gives up on it.
	BodyIdle time.Duration
	// ReceiveRate, if set, bounds how fast one upload's ciphertext is
	// read (bytes per second), so that one client cannot take all of
	// the helper's downlink.
	ReceiveRate int64
}

// DefaultLimits are the limits of a helper configured with none.
var DefaultLimits = Limits{
	MaxUploadsPerClient: 4,
	MaxSpoolPerClient:   4 << 30,
	MaxSpoolTotal:       32 << 30,
	ReservedSpace:       1 << 30,
	IdleTimeout:         time.Hour,
	MaxEncodes:          2,
	MaxSegmentSize:      4 << 20,
	ForwardPerClient:    16,
	MaxForwardBody:      33 << 20, // a GBS server's largest body (read-test-write, 32 MiB) and headroom
	BodyIdle:            2 * time.Minute,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set := func(dst *int64, v int64) {
		if *dst == 0 {
			*dst = v
		}
	}
	seti := func(dst *int, v int) {
		if *dst == 0 {
			*dst = v
		}
	}
	seti(&l.MaxUploadsPerClient, d.MaxUploadsPerClient)
	set(&l.MaxSpoolPerClient, d.MaxSpoolPerClient)
	set(&l.MaxSpoolTotal, d.MaxSpoolTotal)
	set(&l.ReservedSpace, d.ReservedSpace)
	seti(&l.MaxEncodes, d.MaxEncodes)
	set(&l.MaxSegmentSize, d.MaxSegmentSize)
	seti(&l.ForwardPerClient, d.ForwardPerClient)
	set(&l.MaxForwardBody, d.MaxForwardBody)
	if l.IdleTimeout == 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.BodyIdle == 0 {
		l.BodyIdle = d.BodyIdle
	}
	return l
}

// maxExpansion bounds segment size × n / k: the encoder holds a few
// segments' data and parity blocks.
const maxExpansion = 64 << 20

// Config is what a helper needs from its node.
type Config struct {
	// Dir is where spool files live (NODEDIR/helper).
	Dir string
	// Grid is the helper's own grid client over the servers it reaches
	// now (its lease secret is the helper's).
	Grid func() *immutable.Client
	// Storage is how to reach an announced storage server by node ID for
	// forwarding (nil if it is not announced or not connected).
	Storage func(id string) http.RoundTripper
	Limits  Limits
	Logger  *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// FreeSpace reports the free bytes under Dir (default: the file
	// system's; a test fakes a full disk).
	FreeSpace func(dir string) (int64, error)
}

// Server is an upload helper: it receives ciphertext, spools it, encodes
// it and places the shares; and it forwards storage calls.
type Server struct {
	cfg    Config
	lim    Limits
	log    *slog.Logger
	ctx    context.Context // the helper's lifetime: encodes outlive requests
	cancel context.CancelFunc
	jobs   sync.WaitGroup
	encSem chan struct{}

	mu       sync.Mutex // guards uploads, reserved, forwards, stats
	uploads  map[key]*upload
	reserved int64          // sum of the open uploads' sizes
	forwards map[string]int // per client: forwarded calls in flight
	stats    Stats          // the counters (Stats fills in the gauges)
}

// Stats count what the helper did since it started (the status
// document's node.helper; docs/helper.md).
type Stats struct {
	// ActiveUploads are the uploads open now (spooling or encoding);
	// SpoolBytes the ciphertext they hold on disk, SpoolReserved the
	// bytes reserved for them (their sizes).
	ActiveUploads int   `json:"active_uploads"`
	SpoolBytes    int64 `json:"spool_bytes"`
	SpoolReserved int64 `json:"spool_reserved_bytes"`
	// UploadsDone counts uploads whose shares the helper placed.
	UploadsDone int64 `json:"uploads_done"`
	// Forwarded counts storage calls forwarded for clients.
	Forwarded int64 `json:"forwarded_calls"`
	// BytesIn are the bytes the helper received for its clients:
	// ciphertext, forwarded request bodies, and the storage servers'
	// answers to forwarded calls. BytesOut are the bytes it sent for
	// them: the shares it placed, forwarded request bodies, and the
	// answers passed back to clients.
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	// RefusedByLimit counts uploads and forwarded calls refused by a
	// limit (uploads or bytes per client, spool or disk full, calls in
	// flight).
	RefusedByLimit int64 `json:"refused_by_limit"`
}

type key struct {
	peer string
	si   storage.SI
}

// upload is one client's upload of one file. Its fields are guarded by
// Server.mu.
type upload struct {
	req    StartRequest
	layout chk.Layout
	path   string // spool file
	have   int64
	last   time.Time
	busy   bool      // a PUT or an encode holds it
	job    *job      // the encode, once finish was asked
	done   time.Time // when the job succeeded (the spool is gone then)
}

// job is one encode; done closes when res or err is set.
type job struct {
	done chan struct{}
	res  immutable.HelperResult
	err  error
}

// New makes a helper. Call Run to sweep idle uploads, and Close (Run does)
// to stop its encodes.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FreeSpace == nil {
		cfg.FreeSpace = freeSpace
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "incoming"), 0o700); err != nil {
		return nil, fmt.Errorf("helper spool: %w", err)
	}
	lim := cfg.Limits.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, lim: lim, log: cfg.Logger, ctx: ctx, cancel: cancel, encSem: make(chan struct{}, lim.MaxEncodes),
		uploads: map[key]*upload{}, forwards: map[string]int{}}
	return s, nil
}

// Run sweeps idle uploads and spool files left by an earlier run until ctx
// ends, then stops the helper's encodes.
func (s *Server) Run(ctx context.Context) {
	defer s.Close()
	s.sweepDisk()
	every := min(s.lim.IdleTimeout/4, time.Minute)
	t := time.NewTicker(max(every, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Close cancels the encodes in progress and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.jobs.Wait()
}

// Sweep drops uploads idle for longer than the idle timeout, and their
// spool files.
func (s *Server) Sweep() {
	now := s.cfg.Now()
	s.mu.Lock()
	var drop []string
	for k, u := range s.uploads {
		if u.busy || now.Sub(u.last) < s.lim.IdleTimeout {
			continue
		}
		if u.done.IsZero() {
			drop = append(drop, u.path)
			s.reserved -= u.req.Size
		}
		delete(s.uploads, k)
	}
	s.mu.Unlock()
	for _, p := range drop {
		removeSpool(p)
	}
	if len(drop) > 0 {
		s.log.Info("helper: dropped idle uploads", "uploads", len(drop))
	}
}

// sweepDisk removes spool files older than the idle timeout (left by an
// earlier run; a client resuming within the timeout finds its file).
func (s *Server) sweepDisk() {
	root := filepath.Join(s.cfg.Dir, "incoming")
	now := s.cfg.Now()
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil && now.Sub(info.ModTime()) > s.lim.IdleTimeout {
			os.Remove(p)
		}
		return nil
	})
}

// Stats reports the helper's counters and what its open uploads hold.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	for _, u := range s.uploads {
		if u.done.IsZero() {
			st.ActiveUploads++
			st.SpoolBytes += u.have
		}
	}
	st.SpoolReserved = s.reserved
	return st
}

// count adds to the counters.
func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// Uploads counts open uploads (spooling or encoding) and the bytes they
// reserve.
func (s *Server) Uploads() (n int, reserved int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.uploads {
		if u.done.IsZero() {
			n++
		}
	}
	return n, s.reserved
}

// Handler serves the helper's routes; mount it at PathPrefix on the peer
// mux (requests must come over the transport: the caller's node ID is
// the client's identity).
func (s *Server) Handler() http.Handler {
	return s.peerOnly(s.routes(), func(r *http.Request) string { return transport.PeerID(r.Context()) })
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+VersionPath, s.version)
	mux.HandleFunc("POST "+UploadPath+"{si}", s.start)
	mux.HandleFunc("PUT "+UploadPath+"{si}", s.data)
	mux.HandleFunc("DELETE "+UploadPath+"{si}", s.abort)
	mux.HandleFunc("POST "+UploadPath+"{si}/finish", s.finish)
	mux.HandleFunc(StoragePath+"{server}/{rest...}", s.forward)
	return mux
}

type peerKey struct{}

// peerOnly serves h to requests whose client peerOf names: the node ID
// the transport authenticated (tests name it otherwise).
func (s *Server) peerOnly(h http.Handler, peerOf func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer := peerOf(r)
		if peer == "" || len(peer) > 128 || strings.ContainsAny(peer, "/\\.") {
			writeErr(w, http.StatusForbidden, CodeNotPeer, "the helper serves only nodes connected over the transport")
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), peerKey{}, peer)))
	})
}

// peer is the client a request came from (set by peerOnly).
func peer(r *http.Request) string { p, _ := r.Context().Value(peerKey{}).(string); return p }

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, VersionResponse{Application: "lafssync-helper/1", MaxFileSize: s.lim.MaxSpoolPerClient,
		MaxUploadsPerClient: s.lim.MaxUploadsPerClient, MaxSegmentSize: s.lim.MaxSegmentSize, Forward: s.cfg.Storage != nil})
}

func (s *Server) key(w http.ResponseWriter, r *http.Request) (key, bool) {
	si, err := storage.ParseSI(r.PathValue("si"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return key{}, false
	}
	return key{peer: peer(r), si: si}, true
}

func (s *Server) validate(req StartRequest) (chk.Layout, error) {
	if req.Size <= chk.LITThreshold {
		return chk.Layout{}, fmt.Errorf("size %d: files of up to %d bytes are literal caps, nothing to upload", req.Size, chk.LITThreshold)
	}
	if req.K < 1 || req.K > req.N || req.N > 256 || req.Happy < 1 || req.Happy > req.N {
		return chk.Layout{}, fmt.Errorf("encoding %d-of-%d happy %d: need 1 <= k <= n <= 256 and 1 <= happy <= n", req.K, req.N, req.Happy)
	}
	if req.MaxSegmentSize < 1 || req.MaxSegmentSize > s.lim.MaxSegmentSize {
		return chk.Layout{}, fmt.Errorf("segment size %d: this helper takes 1 to %d", req.MaxSegmentSize, s.lim.MaxSegmentSize)
	}
	l, err := chk.NewLayout(req.Size, req.K, req.N, req.MaxSegmentSize)
	if err != nil {
		return l, err
	}
	if l.SegmentSize*int64(l.N)/int64(l.K) > maxExpansion {
		return l, fmt.Errorf("segment size %d at %d-of-%d: more than %d bytes of blocks per segment", l.SegmentSize, l.K, l.N, maxExpansion)
	}
	return l, nil
}

func (s *Server) grid(req StartRequest) (*immutable.Client, error) {
	g := s.cfg.Grid()
	if g == nil {
		return nil, errors.New("the helper has no grid client")
	}
	imm := *g
	imm.Params = immutable.Params{K: req.K, Happy: req.Happy, N: req.N, MaxSegmentSize: req.MaxSegmentSize}
	imm.Helper = nil // the helper places shares itself
	return &imm, nil
}

// start: POST /helper/v1/upload/{si}.
func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	k, ok := s.key(w, r)
	if !ok {
		return
	}
	var req StartRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		writeErr(w, http.StatusBadRequest, CodeBadRequest, "start request: "+err.Error())
		return
	}
	l, err := s.validate(req)
	if err != nil {
		writeErr(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	log := s.log.With("client", k.peer, "si", k.si.String())

	s.mu.Lock()
	if u := s.uploads[k]; u != nil && u.req == req {
		u.last = s.cfg.Now()
		have, done := u.have, !u.done.IsZero()
		s.mu.Unlock()
		if !done {
			log.Info("helper: upload resumed", "size", req.Size, "have", have)
			writeJSON(w, http.StatusOK, StartResponse{Have: have})
			return
		}
		// Finished earlier: the grid check below answers.
	} else {
		s.mu.Unlock()
	}

	imm, err := s.grid(req)
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, CodePlacement, err.Error())
		return
	}
	if ueb, happy, ok := imm.FindOnGrid(r.Context(), k.si, l); ok {
		log.Info("helper: file already on the grid; nothing to upload", "happiness", happy)
		s.drop(k)
		writeJSON(w, http.StatusOK, StartResponse{Present: true, UEB: ueb, Happiness: happy})
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.uploads[k]
	if u != nil && u.busy {
		writeErr(w, http.StatusConflict, CodeBusy, "another request is working on this upload")
		return
	}
	if u != nil && (u.req != req || !u.done.IsZero()) {
		// Other parameters (or a finished upload whose shares have gone
		// since): start over.
		if u.done.IsZero() {
			s.reserved -= u.req.Size
			removeSpool(u.path)
		}
		delete(s.uploads, k)
		u = nil
	}
	if u == nil {
		if err := s.admit(k.peer, req.Size); err != nil {
			var he *Error
			errors.As(err, &he)
			log.Info("helper: upload refused", "reason", he.Message)
			s.stats.RefusedByLimit++
			writeErr(w, he.Status, he.Code, he.Message)
			return
		}
		u = &upload{req: req, layout: l, path: s.spoolPath(k)}
		have, err := openSpool(u.path, req)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, CodeNoSpace, "spool: "+err.Error())
			return
		}
		u.have = have
		s.uploads[k] = u
		s.reserved += req.Size
		log.Info("helper: upload started", "size", req.Size, "have", have)
	}
	u.last = s.cfg.Now()
	writeJSON(w, http.StatusOK, StartResponse{Have: u.have})
}

// admit checks a new upload of size bytes by peer against the limits.
// Called with s.mu held.
func (s *Server) admit(peer string, size int64) error {
	n, mine := 0, int64(0)
	outstanding := int64(0) // bytes the open uploads will still write
	for k, u := range s.uploads {
		if !u.done.IsZero() {
			continue
		}
		outstanding += u.req.Size - u.have
		if k.peer == peer {
			n++
			mine += u.req.Size
		}
	}
	switch {
	case n >= s.lim.MaxUploadsPerClient:
		return &Error{Status: http.StatusTooManyRequests, Code: CodeLimit,
			Message: fmt.Sprintf("this client has %d uploads open, the most this helper allows; finish or abort one", n)}
	case mine+size > s.lim.MaxSpoolPerClient:
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeLimit,
			Message: fmt.Sprintf("this client's open uploads would hold %d bytes, more than the %d this helper allows a client", mine+size, s.lim.MaxSpoolPerClient)}
	case s.reserved+size > s.lim.MaxSpoolTotal:
		return &Error{Status: http.StatusInsufficientStorage, Code: CodeNoSpace,
			Message: fmt.Sprintf("the helper's spool is full (%d of %d bytes reserved)", s.reserved, s.lim.MaxSpoolTotal)}
	}
	free, err := s.cfg.FreeSpace(s.cfg.Dir)
	if err == nil && free-outstanding-size < s.lim.ReservedSpace {
		return &Error{Status: http.StatusInsufficientStorage, Code: CodeNoSpace,
			Message: fmt.Sprintf("the helper's disk has %d bytes free; this upload would leave less than its reserved %d", free-outstanding, s.lim.ReservedSpace)}
	}
	return nil
}

func (s *Server) spoolPath(k key) string {
	return filepath.Join(s.cfg.Dir, "incoming", k.peer, k.si.String())
}

// drop forgets an upload and removes its spool file.
func (s *Server) drop(k key) {
	s.mu.Lock()
	u := s.uploads[k]
	if u != nil && !u.busy {
		if u.done.IsZero() {
			s.reserved -= u.req.Size
			removeSpool(u.path)
		}
		delete(s.uploads, k)
	}
	s.mu.Unlock()
}

// data: PUT /helper/v1/upload/{si}?offset=N, body: ciphertext from N.
func (s *Server) data(w http.ResponseWriter, r *http.Request) {
	k, ok := s.key(w, r)
	if !ok {
		return
	}
	off, err := parseOffset(r.URL.Query().Get("offset"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	u := s.uploads[k]
	switch {
	case u == nil || !u.done.IsZero():
		s.mu.Unlock()
		writeErr(w, http.StatusNotFound, CodeNoUpload, "no upload of this file is open: start it first")
		return
	case u.busy:
		s.mu.Unlock()
		writeErr(w, http.StatusConflict, CodeBusy, "another request is working on this upload")
		return
	case off != u.have:
		have := u.have
		s.mu.Unlock()
		writeJSON(w, http.StatusConflict, errorBody{Error: fmt.Sprintf("the helper holds %d bytes; send from there", have), Code: CodeOffset, Have: &have})
		return
	}
	u.busy, u.last = true, s.cfg.Now()
	want := u.req.Size - u.have
	path := u.path
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		u.busy, u.last = false, s.cfg.Now()
		s.mu.Unlock()
	}()
	if r.ContentLength > want {
		writeErr(w, http.StatusRequestEntityTooLarge, CodeBadRequest, fmt.Sprintf("%d bytes sent, only %d left in the file", r.ContentLength, want))
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, CodeNoSpace, "spool: "+err.Error())
		return
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		writeErr(w, http.StatusInternalServerError, CodeNoSpace, "spool: "+err.Error())
		return
	}
	body := &idleReader{r: r.Body, rc: http.NewResponseController(w), idle: s.lim.BodyIdle}
	buf := make([]byte, 256<<10)
	var werr, rerr error
	t0, got := time.Now(), int64(0)
	for want > 0 && werr == nil && rerr == nil {
		if s.lim.ReceiveRate > 0 {
			ahead := time.Duration(float64(got)/float64(s.lim.ReceiveRate)*float64(time.Second)) - time.Since(t0)
			if ahead > 0 {
				select {
				case <-time.After(ahead):
				case <-r.Context().Done():
					rerr = r.Context().Err()
					continue
				}
			}
		}
		var n int
		n, rerr = io.ReadFull(body, buf[:min(int64(len(buf)), want)])
		if n > 0 {
			if _, werr = f.Write(buf[:n]); werr == nil {
				want -= int64(n)
				got += int64(n)
				s.mu.Lock()
				u.have += int64(n)
				s.stats.BytesIn += int64(n)
				s.mu.Unlock()
			}
		}
	}
	if werr == nil {
		werr = f.Sync()
	}
	s.mu.Lock()
	have := u.have
	s.mu.Unlock()
	switch {
	case werr != nil:
		// The spool may hold a torn tail: cut it back to what was counted.
		os.Truncate(path, have)
		writeErr(w, http.StatusInsufficientStorage, CodeNoSpace, "spool write: "+werr.Error())
	case rerr != nil && !errors.Is(rerr, io.EOF) && !errors.Is(rerr, io.ErrUnexpectedEOF):
		// The client went away (or stalled): keep what arrived for its
		// resume. Nobody may be listening for this answer.
		s.log.Debug("helper: ciphertext body ended early", "client", k.peer, "si", k.si.String(), "have", have, "err", rerr)
		writeErr(w, http.StatusBadRequest, CodeIncomplete, "request body: "+rerr.Error())
	case want == 0 && hasMore(body):
		writeErr(w, http.StatusRequestEntityTooLarge, CodeBadRequest, "more bytes sent than the file has")
	default:
		writeJSON(w, http.StatusOK, DataResponse{Have: have})
	}
}

// hasMore reports whether r yields another byte.
func hasMore(r io.Reader) bool {
	var one [1]byte
	n, _ := io.ReadFull(r, one[:])
	return n > 0
}

// idleReader fails a body that stalls for longer than idle (a client that
// keeps an upload busy without sending).
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (i *idleReader) Read(p []byte) (int, error) {
	_ = i.rc.SetReadDeadline(time.Now().Add(i.idle)) // unsupported: the transport's keepalive still ends dead peers
	return i.r.Read(p)
}

// abort: DELETE /helper/v1/upload/{si}.
func (s *Server) abort(w http.ResponseWriter, r *http.Request) {
	k, ok := s.key(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	u := s.uploads[k]
	busy := u != nil && u.busy
	s.mu.Unlock()
	if busy {
		writeErr(w, http.StatusConflict, CodeBusy, "another request is working on this upload")
		return
	}
	s.drop(k)
	w.WriteHeader(http.StatusNoContent)
}

// finish: POST /helper/v1/upload/{si}/finish.
func (s *Server) finish(w http.ResponseWriter, r *http.Request) {
	k, ok := s.key(w, r)
	if !ok {
		return
	}
	var req FinishRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		writeErr(w, http.StatusBadRequest, CodeBadRequest, "finish request: "+err.Error())
		return
	}
	hb, err := base32.DecodeFixed(req.CrypttextHash, 32)
	if err != nil {
		writeErr(w, http.StatusBadRequest, CodeBadRequest, "crypttext hash: "+err.Error())
		return
	}
	var want [32]byte
	copy(want[:], hb)

	s.mu.Lock()
	u := s.uploads[k]
	switch {
	case u == nil:
		s.mu.Unlock()
		writeErr(w, http.StatusNotFound, CodeNoUpload, "no upload of this file is open: start it first")
		return
	case u.job == nil && u.busy:
		s.mu.Unlock()
		writeErr(w, http.StatusConflict, CodeBusy, "ciphertext is still arriving for this upload")
		return
	case u.job == nil && u.have != u.req.Size:
		have := u.have
		s.mu.Unlock()
		writeJSON(w, http.StatusConflict, errorBody{Error: fmt.Sprintf("the helper holds %d of %d bytes", have, u.req.Size), Code: CodeIncomplete, Have: &have})
		return
	}
	j := u.job
	if j == nil {
		j = &job{done: make(chan struct{})}
		u.job, u.busy = j, true
		s.jobs.Add(1)
		go s.encode(k, u, j, want)
	}
	u.last = s.cfg.Now()
	s.mu.Unlock()

	select {
	case <-j.done:
	case <-r.Context().Done():
		return // the encode goes on; a retried finish waits for it
	}
	if j.err != nil {
		var he *Error
		if errors.As(j.err, &he) {
			writeErr(w, he.Status, he.Code, he.Message)
		} else {
			writeErr(w, http.StatusBadGateway, CodePlacement, j.err.Error())
		}
		return
	}
	resp := FinishResponse{UEB: j.res.UEB, Happiness: j.res.Happiness, Uploaded: j.res.Uploaded, Placement: map[string]string{}}
	for sh, id := range j.res.Placement {
		resp.Placement[fmt.Sprint(sh)] = id
	}
	writeJSON(w, http.StatusOK, resp)
}

// encode checks the spool against the client's crypttext hash, encodes it
// and places the shares. It runs under the helper's context, not the
// request's: a client that disconnects while it waits finds the result
// when it asks again.
func (s *Server) encode(k key, u *upload, j *job, want [32]byte) {
	defer s.jobs.Done()
	log := s.log.With("client", k.peer, "si", k.si.String())
	j.err = s.runEncode(u, want, k.si, log, &j.res)
	s.mu.Lock()
	u.busy, u.last = false, s.cfg.Now()
	var mismatch *Error
	switch {
	case j.err == nil:
		u.done = s.cfg.Now()
		s.reserved -= u.req.Size
		s.stats.UploadsDone++
		s.stats.BytesOut += int64(j.res.Uploaded) * u.layout.ShareLen(len(j.res.UEB))
	case errors.As(j.err, &mismatch) && mismatch.Code == CodeMismatch:
		// The spool is not the client's ciphertext: drop it.
		s.reserved -= u.req.Size
		delete(s.uploads, k)
	default:
		u.job = nil // placement failed: the spool stays for another try
	}
	s.mu.Unlock()
	if j.err == nil || (mismatch != nil && mismatch.Code == CodeMismatch) {
		removeSpool(u.path)
	}
	close(j.done)
}

func (s *Server) runEncode(u *upload, want [32]byte, si storage.SI, log *slog.Logger, out *immutable.HelperResult) error {
	select {
	case s.encSem <- struct{}{}:
		defer func() { <-s.encSem }()
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	f, err := os.Open(u.path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	h := taghash.New(taghash.TagCrypttext)
	if n, err := io.Copy(h, f); err != nil || n != u.req.Size {
		return fmt.Errorf("spool: read %d of %d bytes: %v", n, u.req.Size, err)
	}
	if h.Sum() != want {
		log.Warn("helper: spooled ciphertext does not match the client's hash; dropped")
		return &Error{Status: http.StatusConflict, Code: CodeMismatch,
			Message: "the ciphertext the helper holds is not the file's (its hash differs): it was dropped; upload again"}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	imm, err := s.grid(u.req)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := imm.UploadCiphertext(s.ctx, si, u.layout, f)
	if err != nil {
		log.Warn("helper: placing the shares failed; the ciphertext is kept for a retry", "err", err)
		return &Error{Status: http.StatusBadGateway, Code: CodePlacement, Message: err.Error()}
	}
	*out = res
	log.Info("helper: upload placed", "size", u.req.Size, "happiness", res.Happiness, "uploaded", res.Uploaded, "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}
