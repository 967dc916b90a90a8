package gbs

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/internal/bufpool"
)

// Server serves a storage.Server over GBS. Create it with NewServer and
// mount it as an http.Handler on a TLS listener (see Serve).
type Server struct {
	backend storage.Server
	auth    string // the whole expected Authorization header value
	log     *slog.Logger
	mux     *http.ServeMux
	limits  Limits
	slots   chan struct{} // one per request being served

	mu       sync.Mutex // guards progress, pruned and the version cache
	progress map[progressKey]*progress
	pruned   time.Time
	ver      []byte
	verAt    time.Time
}

type progressKey struct {
	si storage.SI
	sh int
}

// progress tracks which bytes of an upload are still missing, for the
// "required" ranges Tahoe's PATCH response lists.
type progress struct {
	size    uint64
	have    storage.Ranges
	touched time.Time
}

// progressTTL is how long progress is kept for an upload nobody writes
// to: longer than the store's 30-minute idle abort, after which the
// upload is gone anyway.
const progressTTL = time.Hour

// NewServer serves backend to clients that present swissnum, with the
// default Limits.
func NewServer(backend storage.Server, swissnum []byte, log *slog.Logger) *Server {
	return NewServerWithLimits(backend, swissnum, log, Limits{})
}

// NewServerWithLimits is NewServer with limits other than the defaults
// (zero fields keep their default).
func NewServerWithLimits(backend storage.Server, swissnum []byte, log *slog.Logger, limits Limits) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	limits = limits.withDefaults()
	s := &Server{backend: backend, auth: authHeader(swissnum), log: log, mux: http.NewServeMux(), progress: map[progressKey]*progress{},
		limits: limits, slots: make(chan struct{}, limits.MaxRequests)}
	h := func(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r); err != nil {
				s.fail(w, r, err)
			}
		})
	}
	h("GET /storage/v1/version", s.version)
	h("PUT /storage/v1/lease/{si}", s.lease)
	h("POST /storage/v1/immutable/{si}", s.allocate)
	h("PATCH /storage/v1/immutable/{si}/{shnum}", s.write)
	h("PUT /storage/v1/immutable/{si}/{shnum}/abort", s.abort)
	h("GET /storage/v1/immutable/{si}/shares", s.listImmutable)
	h("GET /storage/v1/immutable/{si}/{shnum}", s.readImmutable)
	h("POST /storage/v1/immutable/{si}/{shnum}/corrupt", s.corrupt(storage.Immutable))
	h("POST /storage/v1/mutable/{si}/read-test-write", s.readTestWrite)
	h("GET /storage/v1/mutable/{si}/shares", s.listMutable)
	h("GET /storage/v1/mutable/{si}/{shnum}", s.readMutable)
	h("POST /storage/v1/mutable/{si}/{shnum}/corrupt", s.corrupt(storage.Mutable))
	return s
}

func authHeader(swissnum []byte) string {
	return authSchemePrefix + base64.StdEncoding.EncodeToString(swissnum)
}

// httpError is an error with the status code to answer.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func herr(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP checks authorization, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := r.Header.Get(headerAuth)
	if !utf8.ValidString(a) {
		http.Error(w, "Authorization header is not UTF-8", http.StatusBadRequest)
		return
	}
	if subtle.ConstantTimeCompare([]byte(a), []byte(s.auth)) != 1 {
		http.Error(w, "missing or wrong swissnum", http.StatusUnauthorized)
		return
	}
	// Share reads answer with octet-stream; everything else with CBOR.
	shareRead := r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/shares") && !strings.HasSuffix(r.URL.Path, "/version")
	if acc := r.Header.Get("Accept"); acc != "" && !shareRead && !acceptsCBOR(acc) {
		http.Error(w, "only application/cbor responses are available", http.StatusNotAcceptable)
		return
	}
	if !s.takeSlot(r.Context()) {
		s.fail(w, r, errBusy)
		return
	}
	defer func() { <-s.slots }()
	// A response no client takes must not hold the connection forever;
	// share reads set tighter deadlines as they go. This also replaces a
	// deadline an earlier request on this connection left.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.limits.QueueWait + 2*s.limits.BodyGrace + s.limits.BodyIdle))
	s.mux.ServeHTTP(w, r)
}

// takeSlot waits up to QueueWait for one of the MaxRequests slots.
func (s *Server) takeSlot(ctx context.Context) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(s.limits.QueueWait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func acceptsCBOR(acc string) bool {
	for _, part := range strings.Split(acc, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		if mt == cborType || mt == "*/*" || mt == "application/*" {
			return true
		}
	}
	return false
}

// fail maps an error to Tahoe's status codes. Backend errors never carry
// secrets (storage errors name the index and share only).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	var he *httpError
	if errors.As(err, &he) {
		code = he.code
	} else {
		for _, p := range statusOf {
			if errors.Is(err, p.err) {
				code = p.code
				break
			}
		}
	}
	switch {
	case code == http.StatusServiceUnavailable:
		s.log.Debug("storage request refused: server busy", "method", r.Method, "path", r.URL.Path)
	case code >= 500 && code != http.StatusInsufficientStorage:
		s.log.Error("storage request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if r.ContentLength != 0 {
		// A refused request's body may be unread (a PATCH checked before
		// its body, a body cut for being slow). Without this, net/http
		// reads up to 256 KiB of it, with no deadline, before it sends the
		// answer: a trickling body would hold the connection and never
		// hear the refusal (node/hostile).
		w.Header().Set("Connection", "close")
	}
	http.Error(w, err.Error(), code)
}

func pathSI(r *http.Request) (storage.SI, error) {
	v := r.PathValue("si")
	if len(v) != 26 {
		return storage.SI{}, herr(http.StatusNotFound, "not a storage index")
	}
	si, err := storage.ParseSI(v)
	if err != nil {
		return si, herr(http.StatusNotFound, "not a storage index")
	}
	return si, nil
}

func pathShare(r *http.Request) (int, error) {
	v := r.PathValue("shnum")
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil || strconv.FormatUint(n, 10) != v {
		return 0, herr(http.StatusNotFound, "not a share number")
	}
	return int(n), nil
}

func pathSIShare(r *http.Request) (storage.SI, int, error) {
	si, err := pathSI(r)
	if err != nil {
		return si, 0, err
	}
	sh, err := pathShare(r)
	return si, sh, err
}

// readBody reads a request body of at most limit bytes under the body
// deadlines, charging factor times its size to ch before it is held (the
// caller releases ch when the bytes are no longer needed). Over the limit
// is 413, a body that stalls or trickles is 408.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64, ch *charge, factor int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, herr(http.StatusRequestEntityTooLarge, "request body of %d bytes is over the %d-byte limit", r.ContentLength, limit)
	}
	p := s.newPacer(w)
	defer p.done()
	body := p.reader(r.Body)
	if r.ContentLength >= 0 {
		if err := ch.add(r.Context(), factor*r.ContentLength); err != nil {
			return nil, err
		}
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, bodyErr(err)
		}
		return b, nil
	}
	// Chunked: grow in pieces, charging each before it is read.
	var b []byte
	for {
		if int64(len(b)) > limit {
			return nil, herr(http.StatusRequestEntityTooLarge, "request body over the %d-byte limit", limit)
		}
		if len(b) == cap(b) {
			grow := int64(min(max(cap(b), 4096), chunkSize))
			if err := ch.add(r.Context(), factor*grow); err != nil {
				return nil, err
			}
			b = slices.Grow(b, int(grow))
		}
		n, err := body.Read(b[len(b):min(cap(b), int(limit)+1)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, bodyErr(err)
		}
	}
}

func bodyErr(err error) error {
	if errors.Is(err, errTooSlow) {
		return herr(http.StatusRequestTimeout, "request body arrived too slowly: %v", err)
	}
	return herr(http.StatusBadRequest, "read body: %v", err)
}

func checkCBORType(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]) != cborType {
		return herr(http.StatusUnsupportedMediaType, "request body must be application/cbor")
	}
	return nil
}

// readCBOR decodes a small CBOR body (at most limit bytes).
func (s *Server) readCBOR(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if err := checkCBORType(r); err != nil {
		return err
	}
	ch := &charge{b: s.limits.Memory, wait: s.limits.QueueWait}
	defer ch.release()
	body, err := s.readBody(w, r, limit, ch, 2)
	if err != nil {
		return err
	}
	if err := decMode.Unmarshal(body, v); err != nil {
		return herr(http.StatusBadRequest, "malformed CBOR request: %v", err)
	}
	return nil
}

func writeCBOR(w http.ResponseWriter, code int, v any) error {
	b, err := encMode.Marshal(v)
	if err != nil {
		return err
	}
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(2*DefaultBodyGrace + time.Duration(len(b)/DefaultMinRate)*time.Second))
	w.Header().Set("Content-Type", cborType)
	w.WriteHeader(code)
	_, err = w.Write(b)
	return err
}

func secretsOr400(r *http.Request, want ...string) (map[string][]byte, error) {
	s, err := parseSecrets(r.Header, want...)
	if err != nil {
		return nil, herr(http.StatusBadRequest, "%v", err)
	}
	return s, nil
}

// uploadSecret maps any length of upload secret onto storage.Secret.
func uploadSecret(b []byte) storage.Secret {
	if len(b) == 32 {
		return secret32(b)
	}
	return storage.Secret(sha256.Sum256(b))
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	if _, err := secretsOr400(r); err != nil {
		return err
	}
	s.mu.Lock()
	cached, at := s.ver, s.verAt
	s.mu.Unlock()
	if cached == nil || time.Since(at) > time.Second {
		v, err := s.backend.Version(r.Context())
		if err != nil {
			return err
		}
		b, err := encMode.Marshal(versionResponse{
			cbor.ByteString(versionKey): map[cbor.ByteString]uint64{
				"maximum-immutable-share-size": v.MaxImmutableShareSize,
				"maximum-mutable-share-size":   v.MaxMutableShareSize,
				"available-space":              v.AvailableSpace,
			},
			"application-version": []byte(v.Application),
		})
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.ver, s.verAt, cached = b, time.Now(), b
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", cborType)
	_, err := w.Write(cached)
	return err
}

func leaseSecrets(sec map[string][]byte) storage.LeaseSecrets {
	return storage.LeaseSecrets{Renew: secret32(sec[secretRenew]), Cancel: secret32(sec[secretCancel])}
}

func (s *Server) lease(w http.ResponseWriter, r *http.Request) error {
	si, err := pathSI(r)
	if err != nil {
		return err
	}
	sec, err := secretsOr400(r, secretRenew, secretCancel)
	if err != nil {
		return err
	}
	if err := s.backend.AddLease(r.Context(), si, leaseSecrets(sec)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) allocate(w http.ResponseWriter, r *http.Request) error {
	si, err := pathSI(r)
	if err != nil {
		return err
	}
	sec, err := secretsOr400(r, secretRenew, secretCancel, secretUpload)
	if err != nil {
		return err
	}
	var req allocateRequest
	if err := s.readCBOR(w, r, maxAllocateBody, &req); err != nil {
		return err
	}
	for _, sh := range req.ShareNumbers {
		if sh > 255 {
			return herr(http.StatusBadRequest, "share number %d out of range", sh)
		}
	}
	a, err := s.backend.AllocateBuckets(r.Context(), si, leaseSecrets(sec), uploadSecret(sec[secretUpload]), toInts(req.ShareNumbers), req.AllocatedSize)
	if err != nil {
		return err
	}
	now := time.Now()
	s.mu.Lock()
	if now.Sub(s.pruned) > time.Minute {
		s.pruned = now
		for k, p := range s.progress {
			if now.Sub(p.touched) > progressTTL {
				delete(s.progress, k)
			}
		}
	}
	for _, sh := range a.Allocated {
		k := progressKey{si, sh}
		if p, ok := s.progress[k]; !ok || p.size != req.AllocatedSize {
			s.progress[k] = &progress{size: req.AllocatedSize, touched: now}
		}
	}
	s.mu.Unlock()
	return writeCBOR(w, http.StatusOK, allocateResponse{AlreadyHave: toSet(a.AlreadyHave), Allocated: toSet(a.Allocated)})
}

// parseContentRange parses "bytes a-b/*" or "bytes a-b/total".
func parseContentRange(v string) (uint64, uint64, bool) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, 0, false
	}
	rng, _, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, false
	}
	start, last, ok := parseFirstLast(a, b)
	if !ok {
		return 0, 0, false
	}
	return start, last, true
}

// parseFirstLast parses the decimal first and last byte of a range. The
// last byte must leave room for the exclusive end (last+1) in a uint64,
// which no share comes near: a range ending at 2^64-1 is refused rather
// than wrapped to an empty one.
func parseFirstLast(a, b string) (uint64, uint64, bool) {
	if a == "" || b == "" || a[0] == '+' || b[0] == '+' {
		return 0, 0, false
	}
	start, err1 := strconv.ParseUint(a, 10, 64)
	last, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || last < start || last == math.MaxUint64 {
		return 0, 0, false
	}
	return start, last, true
}

// maxChunk bounds one PATCH's Content-Range.
const maxChunk = 64 << 20

func (s *Server) write(w http.ResponseWriter, r *http.Request) error {
	si, sh, err := pathSIShare(r)
	if err != nil {
		return err
	}
	sec, err := secretsOr400(r, secretUpload)
	if err != nil {
		return err
	}
	start, last, ok := parseContentRange(r.Header.Get("Content-Range"))
	if !ok {
		return herr(http.StatusRequestedRangeNotSatisfiable, "Content-Range must be 'bytes first-last/*'")
	}
	length := last - start + 1
	if length > maxChunk {
		return herr(http.StatusRequestEntityTooLarge, "chunk of %d bytes is over the %d-byte limit", length, maxChunk)
	}
	if r.ContentLength >= 0 && uint64(r.ContentLength) < length {
		return herr(http.StatusBadRequest, "body of %d bytes is shorter than its Content-Range (%d bytes)", r.ContentLength, length)
	}
	up := uploadSecret(sec[secretUpload])
	// Before a byte of the body is read or buffered: the upload must
	// exist, the secret match and the range end inside the allocation. A
	// write of no bytes at the range's end checks all three and changes
	// nothing.
	if _, err := s.backend.WriteShare(r.Context(), si, sh, up, last+1, nil); err != nil {
		return err
	}
	// Stream the body into the share through one bounded buffer,
	// recycled across requests (a 1 GiB upload otherwise allocates 3.3 GB
	// of them on its servers, and the garbage collector's work stalls the
	// app that embeds the local grid). The memory charged is the capacity
	// held, not just what this body needs. The backend (node/store) has
	// written the bytes when WriteShare returns; nothing keeps buf.
	ch := &charge{b: s.limits.Memory, wait: s.limits.QueueWait}
	defer ch.release()
	bufLen := min(length, chunkSize)
	if err := ch.add(r.Context(), int64(bufpool.Size(int(bufLen)))); err != nil {
		return err
	}
	buf := bufpool.Get(int(bufLen))
	defer bufpool.Put(buf)
	p := s.newPacer(w)
	body := p.reader(r.Body)
	k := progressKey{si, sh}
	done := false
	for off := start; off <= last; {
		n := min(last-off+1, bufLen)
		if _, err := io.ReadFull(body, buf[:n]); err != nil {
			p.done()
			if errors.Is(err, errTooSlow) {
				return herr(http.StatusRequestTimeout, "body arrived too slowly: %v", err)
			}
			return herr(http.StatusBadRequest, "body shorter than Content-Range: %v", err)
		}
		if done {
			// An earlier piece completed the share (the rest had been
			// written by other requests): the remainder must match it.
			have, err := s.backend.ReadShare(r.Context(), si, sh, off, n)
			if err != nil {
				p.done()
				return err
			}
			if string(have) != string(buf[:n]) {
				p.done()
				return fmt.Errorf("share %s/%d: bytes %d-%d differ from those already written: %w", si, sh, off, off+n-1, storage.ErrConflict)
			}
		} else if done, err = s.backend.WriteShare(r.Context(), si, sh, up, off, buf[:n]); err != nil {
			p.done()
			return err
		}
		s.mu.Lock()
		if pr := s.progress[k]; pr != nil && !done {
			pr.have.Add(off, off+n)
			pr.touched = time.Now()
		}
		s.mu.Unlock()
		off += n
	}
	p.done()
	var required []byteRange
	s.mu.Lock()
	if p := s.progress[k]; done {
		delete(s.progress, k)
	} else if p != nil {
		for _, m := range p.have.Missing(p.size) {
			required = append(required, byteRange{m.Start, m.End})
		}
	}
	s.mu.Unlock()
	if required == nil {
		required = []byteRange{}
	}
	code := http.StatusOK
	if done {
		code = http.StatusCreated
	}
	return writeCBOR(w, code, uploadProgress{Required: required})
}

func (s *Server) abort(w http.ResponseWriter, r *http.Request) error {
	si, sh, err := pathSIShare(r)
	if err != nil {
		return err
	}
	sec, err := secretsOr400(r, secretUpload)
	if err != nil {
		return err
	}
	if err := s.backend.AbortShare(r.Context(), si, sh, uploadSecret(sec[secretUpload])); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.progress, progressKey{si, sh})
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) listImmutable(w http.ResponseWriter, r *http.Request) error {
	return s.list(w, r, s.backend.ListShares)
}

func (s *Server) listMutable(w http.ResponseWriter, r *http.Request) error {
	return s.list(w, r, s.backend.ListMutableShares)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, si storage.SI) ([]int, error)) error {
	si, err := pathSI(r)
	if err != nil {
		return err
	}
	if _, err := secretsOr400(r); err != nil {
		return err
	}
	shares, err := fn(r.Context(), si)
	if err != nil {
		return err
	}
	return writeCBOR(w, http.StatusOK, toSet(shares))
}

// parseRange accepts exactly one "bytes=a-b" range with an explicit end.
func parseRange(v string) (uint64, uint64, bool) {
	rest, ok := strings.CutPrefix(v, "bytes=")
	if !ok || strings.Contains(rest, ",") {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, 0, false
	}
	start, last, ok := parseFirstLast(a, b)
	if !ok {
		return 0, 0, false
	}
	return start, last + 1, true
}

const maxReadChunk = 64 << 20

func (s *Server) readImmutable(w http.ResponseWriter, r *http.Request) error {
	return s.read(w, r, s.backend.ReadShare)
}

func (s *Server) readMutable(w http.ResponseWriter, r *http.Request) error {
	return s.read(w, r, s.backend.ReadMutableShare)
}

func (s *Server) read(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, si storage.SI, sh int, off, n uint64) ([]byte, error)) error {
	si, sh, err := pathSIShare(r)
	if err != nil {
		return err
	}
	if _, err := secretsOr400(r); err != nil {
		return err
	}
	ch := &charge{b: s.limits.Memory, wait: s.limits.QueueWait}
	defer ch.release()
	rh := r.Header.Get("Range")
	if rh == "" {
		// The whole share, streamed in chunks.
		if err := ch.add(r.Context(), chunkSize); err != nil {
			return err
		}
		first, err := fn(r.Context(), si, sh, 0, chunkSize)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", octetType)
		w.WriteHeader(http.StatusOK)
		p := s.newPacer(w)
		off := uint64(0)
		for chunk := first; len(chunk) > 0; {
			if err := p.write(w, chunk); err != nil {
				return nil
			}
			off += uint64(len(chunk))
			if uint64(len(chunk)) < chunkSize {
				break
			}
			if chunk, err = fn(r.Context(), si, sh, off, chunkSize); err != nil {
				s.log.Warn("read failed mid-stream", "si", si.String(), "share", sh, "err", err)
				return nil
			}
		}
		return nil
	}
	start, end, ok := parseRange(rh)
	if !ok {
		return herr(http.StatusRequestedRangeNotSatisfiable, "Range must be a single 'bytes=first-last'")
	}
	if end-start > maxReadChunk {
		return herr(http.StatusRequestedRangeNotSatisfiable, "range of %d bytes is over the %d-byte limit", end-start, maxReadChunk)
	}
	// The store allocates at most the range; it is held until sent.
	if err := ch.add(r.Context(), int64(end-start)); err != nil {
		return err
	}
	data, err := fn(r.Context(), si, sh, start, end-start)
	if err != nil {
		return err
	}
	ch.keep(int64(len(data)))
	if len(data) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Content-Type", octetType)
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", start, start+uint64(len(data))-1))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusPartialContent)
	p := s.newPacer(w)
	p.write(w, data)
	return nil
}

func (s *Server) corrupt(kind storage.Kind) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		si, sh, err := pathSIShare(r)
		if err != nil {
			return err
		}
		if _, err := secretsOr400(r); err != nil {
			return err
		}
		var req corruptRequest
		if err := s.readCBOR(w, r, maxCorruptBody, &req); err != nil {
			return err
		}
		if len(req.Reason) < 1 || len(req.Reason) > 32765 {
			return herr(http.StatusBadRequest, "reason must be 1 to 32765 bytes")
		}
		list := s.backend.ListShares
		if kind == storage.Mutable {
			list = s.backend.ListMutableShares
		}
		have, err := list(r.Context(), si)
		if err != nil {
			return err
		}
		if !slices.Contains(have, sh) {
			return herr(http.StatusNotFound, "no such share")
		}
		if err := s.backend.AdviseCorrupt(r.Context(), kind, si, sh, req.Reason); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
}

// rtwCharge is how many bytes a read-test-write body costs in memory per
// byte: the body, the decoded copy of its data, and the decoded vectors
// (at most 32 bytes each, for at least 15 bytes of CBOR).
const rtwCharge = 3

func (s *Server) readTestWrite(w http.ResponseWriter, r *http.Request) error {
	si, err := pathSI(r)
	if err != nil {
		return err
	}
	sec, err := secretsOr400(r, secretWE, secretRenew, secretCancel)
	if err != nil {
		return err
	}
	if err := checkCBORType(r); err != nil {
		return err
	}
	ch := &charge{b: s.limits.Memory, wait: s.limits.QueueWait}
	defer ch.release()
	body, err := s.readBody(w, r, s.limits.MaxRTWBody, ch, rtwCharge)
	if err != nil {
		return err
	}
	var req rtwRequestIn
	err = rtwDecMode.Unmarshal(body, &req)
	body = nil
	if err != nil {
		return herr(http.StatusBadRequest, "malformed CBOR request: %v", err)
	}
	tw := make(map[int]storage.TestWrite, len(req.TestWriteVectors))
	for sh, t := range req.TestWriteVectors {
		if sh > 255 || len(t.Test) > 30 {
			return herr(http.StatusBadRequest, "share %d: out of range or too many tests", sh)
		}
		for _, wv := range t.Write {
			if wv.Offset > math.MaxUint64-uint64(len(wv.Data)) {
				return herr(http.StatusBadRequest, "share %d: write of %d bytes at offset %d wraps around", sh, len(wv.Data), wv.Offset)
			}
		}
		tw[int(sh)] = storage.TestWrite{Tests: t.Test, Writes: t.Write, NewLength: t.NewLength}
	}
	if len(req.ReadVector) > 30 {
		return herr(http.StatusBadRequest, "too many read vectors")
	}
	// The answer holds every read for every share of the slot.
	var readBytes uint64
	for _, rv := range req.ReadVector {
		readBytes += min(rv.Size, maxRTWReadBytes+1)
	}
	if readBytes > maxRTWReadBytes {
		return herr(http.StatusRequestEntityTooLarge, "read vectors ask for over %d bytes per share; read the shares instead", maxRTWReadBytes)
	}
	if err := ch.add(r.Context(), 2*256*int64(readBytes)); err != nil {
		return err
	}
	res, err := s.backend.ReadTestWrite(r.Context(), si, secret32(sec[secretWE]), leaseSecrets(sec), tw, req.ReadVector)
	if err != nil {
		return err
	}
	out := rtwResponse{Success: res.OK, Data: map[uint64][][]byte{}}
	for sh, d := range res.Reads {
		out.Data[uint64(sh)] = d
	}
	return writeCBOR(w, http.StatusOK, out)
}
