package gbs

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/store"
)

const testSwiss = "swissnumforthetest"

// handlerOver returns a GBS server over a fresh disk store, to be called
// in-process.
func handlerOver(t testing.TB, l Limits) (*Server, *store.Store) {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{FreeSpace: func(string) (uint64, error) { return 1 << 40, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewServerWithLimits(st, []byte(testSwiss), nil, l), st
}

// countingReader counts the bytes the server pulled from a body.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// patternReader yields n bytes of a fixed pattern without holding them.
func patternReader(n int64) io.Reader {
	return io.LimitReader(repeatByte('x'), n)
}

type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// secretOf is the secret secHdr(kind, b, 32) sends.
func secretOf(b byte) storage.Secret {
	var s storage.Secret
	copy(s[:], bytes.Repeat([]byte{b}, 32))
	return s
}

func authed(method, path string, body io.Reader, length int64, hdr ...string) *http.Request {
	r := httptest.NewRequest(method, path, body)
	r.ContentLength = length
	r.Header.Set("Authorization", "Tahoe-LAFS "+base64.StdEncoding.EncodeToString([]byte(testSwiss)))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	return r
}

func serveRec(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func allocate(t testing.TB, st storage.Server, si storage.SI, up storage.Secret, sh int, size uint64) {
	t.Helper()
	a, err := st.AllocateBuckets(context.Background(), si, storage.LeaseSecrets{}, up, []int{sh}, size)
	if err != nil || len(a.Allocated) != 1 {
		t.Fatalf("allocate: %+v %v", a, err)
	}
}

// Issue 13 item 5: ranges ending at 2^64-1 wrapped to empty ones (204 for
// a read, 200 for an empty write).
func TestRangeEndingAtMaxUint64Refused(t *testing.T) {
	s, st := handlerOver(t, Limits{})
	var si storage.SI
	si[0] = 5
	up := storage.Secret{9}
	allocate(t, st, si, up, 0, 10)
	st.WriteShare(context.Background(), si, 0, up, 0, []byte("0123456789"))
	allocate(t, st, si, up, 1, 10)
	sec := "upload-secret " + base64.StdEncoding.EncodeToString(up[:])
	path := "/storage/v1/immutable/" + si.String()
	for _, tc := range []struct {
		name string
		r    *http.Request
		want int
	}{
		{"read to 2^64-1", authed("GET", path+"/0", nil, 0, "Range", "bytes=0-18446744073709551615"), 416},
		{"read at 2^64-1", authed("GET", path+"/0", nil, 0, "Range", "bytes=18446744073709551615-18446744073709551615"), 416},
		{"read past 2^64", authed("GET", path+"/0", nil, 0, "Range", "bytes=0-18446744073709551616"), 416},
		{"read with a sign", authed("GET", path+"/0", nil, 0, "Range", "bytes=+0-5"), 416},
		{"write to 2^64-1, empty body", authed("PATCH", path+"/1", strings.NewReader(""), 0, "X-Tahoe-Authorization", sec, "Content-Range", "bytes 0-18446744073709551615/*"), 416},
		{"write at 2^64-1", authed("PATCH", path+"/1", strings.NewReader("x"), 1, "X-Tahoe-Authorization", sec, "Content-Range", "bytes 18446744073709551615-18446744073709551615/*"), 416},
		{"write past the allocation", authed("PATCH", path+"/1", strings.NewReader("x"), 1, "X-Tahoe-Authorization", sec, "Content-Range", "bytes 10-10/*"), 416},
		{"write far past the allocation", authed("PATCH", path+"/1", strings.NewReader("x"), 1, "X-Tahoe-Authorization", sec, "Content-Range", "bytes 9223372036854775807-9223372036854775807/*"), 416},
		{"good read", authed("GET", path+"/0", nil, 0, "Range", "bytes=2-4"), 206},
	} {
		if w := serveRec(s, tc.r); w.Code != tc.want {
			t.Errorf("%s: %d (%s), want %d", tc.name, w.Code, strings.TrimSpace(w.Body.String()), tc.want)
		}
	}
}

// Issue 13 item 2: a PATCH for an upload that does not exist, or with the
// wrong secret, used to allocate and read its whole Content-Range first.
func TestPatchChecksUploadBeforeReadingBody(t *testing.T) {
	s, st := handlerOver(t, Limits{})
	var si storage.SI
	si[0] = 6
	allocate(t, st, si, secretOf(1), 0, 64<<20)
	path := "/storage/v1/immutable/" + si.String()
	for _, tc := range []struct {
		name, path string
		secret     byte
		want       int
	}{
		{"unknown upload", path + "/3", 1, 404},
		{"wrong upload secret", path + "/0", 2, 401},
	} {
		body := &countingReader{r: patternReader(64 << 20)}
		r := authed("PATCH", tc.path, body, 64<<20, "X-Tahoe-Authorization", secHdr("upload-secret", tc.secret, 32),
			"Content-Range", fmt.Sprintf("bytes 0-%d/*", 64<<20-1))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		w := serveRec(s, r)
		runtime.ReadMemStats(&after)
		if w.Code != tc.want {
			t.Errorf("%s: %d (%s), want %d", tc.name, w.Code, w.Body.String(), tc.want)
		}
		if n := body.n.Load(); n != 0 {
			t.Errorf("%s: the server read %d bytes of the body before refusing", tc.name, n)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("%s: refusing allocated %d bytes", tc.name, got)
		}
	}
}

// Issue 13 item 2: a chunk goes into the share through a bounded buffer,
// not a buffer of its whole Content-Range.
func TestPatchStreamsThroughBoundedBuffer(t *testing.T) {
	s, st := handlerOver(t, Limits{})
	var si storage.SI
	si[0] = 7
	up := secretOf(1)
	const size = 32 << 20
	allocate(t, st, si, up, 0, size)
	r := authed("PATCH", "/storage/v1/immutable/"+si.String()+"/0", patternReader(size), size,
		"X-Tahoe-Authorization", secHdr("upload-secret", 1, 32), "Content-Range", fmt.Sprintf("bytes 0-%d/*", size-1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w := serveRec(s, r)
	runtime.ReadMemStats(&after)
	if w.Code != http.StatusCreated {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body.String())
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Errorf("a %d-byte chunk allocated %d bytes", size, got)
	}
	b, err := st.ReadShare(context.Background(), si, 0, size-3, 10)
	if err != nil || string(b) != "xxx" {
		t.Errorf("share tail: %q %v", b, err)
	}
}

// A chunk that completes the share part-way through (the rest was already
// written) must still match what is there.
func TestPatchOverlappingCompletedShare(t *testing.T) {
	s, st := handlerOver(t, Limits{})
	var si storage.SI
	si[0] = 8
	up := secretOf(1)
	allocate(t, st, si, up, 0, 3<<20)
	ctx := context.Background()
	data := bytes.Repeat([]byte("abc"), 1<<20)
	if _, err := st.WriteShare(ctx, si, 0, up, 1<<20, data[1<<20:]); err != nil {
		t.Fatal(err)
	}
	patch := func(body []byte) int {
		r := authed("PATCH", "/storage/v1/immutable/"+si.String()+"/0", bytes.NewReader(body), int64(len(body)),
			"X-Tahoe-Authorization", secHdr("upload-secret", 1, 32), "Content-Range", fmt.Sprintf("bytes 0-%d/*", len(body)-1))
		return serveRec(s, r).Code
	}
	bad := bytes.Clone(data)
	bad[len(bad)-1] ^= 1
	if code := patch(bad); code != http.StatusConflict {
		t.Errorf("conflicting tail after completion: %d, want 409", code)
	}
	if got, _ := st.ReadShare(ctx, si, 0, 0, 3<<20); !bytes.Equal(got, data) {
		t.Error("share differs from what was written")
	}
}

// Issue 13 item 1: a read-test-write body is bounded (413 before reading a
// declared-too-large body, 413 once a chunked one passes the limit).
func TestRTWBodyBounded(t *testing.T) {
	s, _ := handlerOver(t, Limits{MaxRTWBody: 1 << 20})
	path := "/storage/v1/mutable/" + strings.Repeat("a", 26) + "/read-test-write"
	secs := []string{"X-Tahoe-Authorization", secHdr("write-enabler", 1, 32), "X-Tahoe-Authorization", secHdr("lease-renew-secret", 2, 32),
		"X-Tahoe-Authorization", secHdr("lease-cancel-secret", 3, 32)}
	body := &countingReader{r: patternReader(1 << 40)}
	if w := serveRec(s, authed("POST", path, body, 1<<40, secs...)); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("declared 2^40-byte body: %d %s", w.Code, w.Body.String())
	}
	if n := body.n.Load(); n != 0 {
		t.Errorf("read %d bytes of a body declared too large", n)
	}
	body = &countingReader{r: patternReader(1 << 40)}
	if w := serveRec(s, authed("POST", path, body, -1, secs...)); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked 2^40-byte body: %d %s", w.Code, w.Body.String())
	}
	if n := body.n.Load(); n > 1<<20+1 {
		t.Errorf("read %d bytes of a chunked body over a 1 MiB limit", n)
	}
}

// blockingReader hands out n bytes, then blocks until release is closed.
type blockingReader struct {
	left    int
	active  *atomic.Int32
	peak    *atomic.Int32
	release chan struct{}
	once    sync.Once
}

func (b *blockingReader) Read(p []byte) (int, error) {
	b.once.Do(func() {
		n := b.active.Add(1)
		for {
			old := b.peak.Load()
			if n <= old || b.peak.CompareAndSwap(old, n) {
				break
			}
		}
	})
	if b.left == 0 {
		<-b.release
		return 0, io.EOF
	}
	n := min(len(p), b.left)
	for i := range p[:n] {
		p[i] = 0
	}
	b.left -= n
	return n, nil
}

// Issue 13 item 1: N concurrent large bodies are held only as far as the
// memory budget allows; the rest wait, then get 503.
func TestMemoryBudgetBoundsConcurrentBodies(t *testing.T) {
	budget := NewMemoryBudget(8 << 20)
	s, _ := handlerOver(t, Limits{Memory: budget, QueueWait: 300 * time.Millisecond})
	path := "/storage/v1/mutable/" + strings.Repeat("a", 26) + "/read-test-write"
	secs := []string{"X-Tahoe-Authorization", secHdr("write-enabler", 1, 32), "X-Tahoe-Authorization", secHdr("lease-renew-secret", 2, 32),
		"X-Tahoe-Authorization", secHdr("lease-cancel-secret", 3, 32)}
	var active, peak atomic.Int32
	release := make(chan struct{})
	const n = 10
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		body := &blockingReader{left: 2 << 20, active: &active, peak: &peak, release: release}
		wg.Go(func() { codes <- serveRec(s, authed("POST", path, body, 2<<20+1, secs...)).Code })
	}
	// Bounded wait for the refusals of those that found no memory.
	busy := 0
	for deadline := time.Now().Add(10 * time.Second); busy < n-1 && time.Now().Before(deadline); {
		select {
		case c := <-codes:
			if c == http.StatusServiceUnavailable {
				busy++
			} else {
				t.Errorf("status %d while bodies are held", c)
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	close(release)
	wg.Wait()
	if p := peak.Load(); p > 1 {
		t.Errorf("%d 2 MiB bodies were read at once within an 8 MiB budget (each costs 3x)", p)
	}
	if busy != n-1 {
		t.Errorf("%d requests refused busy, want %d", busy, n-1)
	}
	if u := budget.InUse(); u != 0 {
		t.Errorf("%d bytes still charged after every request ended", u)
	}
}

// trickle sends a few bytes, then one byte per interval, forever (until
// the request is cut or stop is closed).
type trickle struct {
	every time.Duration
	stop  chan struct{}
	sent  int
}

func (tr *trickle) Read(p []byte) (int, error) {
	if tr.sent > 0 {
		select {
		case <-time.After(tr.every):
		case <-tr.stop:
			return 0, io.ErrUnexpectedEOF
		}
	}
	tr.sent++
	p[0] = 'x'
	return 1, nil
}

// slowLimits cut bodies quickly for the tests.
var slowLimits = Limits{BodyGrace: 300 * time.Millisecond, BodyIdle: 300 * time.Millisecond, MinRate: 64 << 10}

// Issue 13 item 2: a body trickling at a byte per 50 ms is cut, over a
// plain TLS listener (Serve) and over yamux streams (as node/transport
// serves peers); before, it was held for as long as the client liked.
func TestTricklingBodyIsCut(t *testing.T) {
	for _, via := range []string{"tls", "yamux"} {
		t.Run(via, func(t *testing.T) {
			s, st := handlerOver(t, slowLimits)
			var si storage.SI
			si[0] = 9
			allocate(t, st, si, secretOf(1), 0, 1<<20)
			var hc *http.Client
			var base string
			if via == "tls" {
				hc, base = serveTLS(t, s)
			} else {
				hc, base = serveYamux(t, s)
			}
			stop := make(chan struct{})
			defer close(stop)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "PATCH", base+"/storage/v1/immutable/"+si.String()+"/0", &trickle{every: 50 * time.Millisecond, stop: stop})
			req.ContentLength = 1 << 20
			req.Header.Set("Authorization", "Tahoe-LAFS "+base64.StdEncoding.EncodeToString([]byte(testSwiss)))
			req.Header.Set("X-Tahoe-Authorization", secHdr("upload-secret", 1, 32))
			req.Header.Set("Content-Range", fmt.Sprintf("bytes 0-%d/*", 1<<20-1))
			start := time.Now()
			resp, err := hc.Do(req)
			took := time.Since(start)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestTimeout {
					t.Errorf("status %d, want 408", resp.StatusCode)
				}
			} else if ctx.Err() != nil {
				t.Fatalf("trickling body still held after %v", took)
			}
			if took > 10*time.Second {
				t.Errorf("cut after %v", took)
			}
		})
	}
}

func serveTLS(t *testing.T, h *Server) (*http.Client, string) {
	t.Helper()
	pemBytes, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := LoadCertificate(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, ln, h, cert); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}, "https://" + ln.Addr().String()
}

// serveYamux serves h on the streams of a yamux session over loopback TCP,
// as node/transport serves its peers.
func serveYamux(t *testing.T, h *Server) (*http.Client, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	ssess, err := yamux.Server(sc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	csess, err := yamux.Client(cc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { srv.Serve(ssess); close(done) }()
	t.Cleanup(func() { csess.Close(); srv.Close(); ssess.Close(); <-done })
	tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return csess.Open() }}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}, "http://peer"
}

// A client taking a share read slower than the minimum rate is cut: the
// server's handler returns (and its memory charge with it) while the
// client is still reading.
func TestSlowResponseReaderIsCut(t *testing.T) {
	budget := NewMemoryBudget(64 << 20)
	s, st := handlerOver(t, Limits{Memory: budget, BodyGrace: 300 * time.Millisecond, BodyIdle: 300 * time.Millisecond, MinRate: 8 << 20})
	var si storage.SI
	si[0] = 10
	up := secretOf(1)
	const size = 32 << 20
	allocate(t, st, si, up, 0, size)
	if _, err := st.WriteShare(context.Background(), si, 0, up, 0, bytes.Repeat([]byte{1}, size)); err != nil {
		t.Fatal(err)
	}
	hc, base := serveTLS(t, s)
	req, _ := http.NewRequest("GET", base+"/storage/v1/immutable/"+si.String()+"/0", nil)
	req.Header.Set("Authorization", "Tahoe-LAFS "+base64.StdEncoding.EncodeToString([]byte(testSwiss)))
	req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", size-1))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	readerDone := make(chan int)
	go func() {
		defer resp.Body.Close()
		buf := make([]byte, 1024)
		got := 0
		for {
			n, err := resp.Body.Read(buf)
			got += n
			if err != nil {
				readerDone <- got
				return
			}
			select {
			case <-stop:
				readerDone <- got
				return
			case <-time.After(10 * time.Millisecond): // the slow reader under test
			}
		}
	}()
	if budget.InUse() == 0 {
		t.Fatal("nothing charged for a 32 MiB read in progress")
	}
	testkit.Poll(15*time.Second, func() bool { return budget.InUse() == 0 })
	close(stop)
	got := <-readerDone
	if u := budget.InUse(); u != 0 {
		t.Fatalf("a reader taking ~100 KiB/s still holds the read (%d bytes charged, %d read)", u, got)
	}
	if got >= size {
		t.Errorf("the slow reader got the whole share")
	}
}

// Connection bounds: idle connections and clients that connect and send
// nothing cannot take every slot; a real client still gets through, and
// the server never holds more than its limit.
func TestConnectionLimitEvictsIdle(t *testing.T) {
	s, _ := handlerOver(t, Limits{})
	pemBytes, _ := NewCertificate()
	cert, leaf, _ := LoadCertificate(pemBytes)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const max = 8
	lim := newConnLimiter(batchedTLSListener{ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}, max)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { serve(ctx, lim, s); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	var idle []net.Conn
	t.Cleanup(func() {
		for _, c := range idle {
			c.Close()
		}
	})
	for i := 0; i < 3*max; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	var peak atomic.Int32
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			if n := int32(lim.open()); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	n := NURL{SPKIHash: SPKIHash(leaf), Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Swissnum: testSwiss}
	c, err := Dial(n.String(), ClientOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatalf("with %d idle connections against a limit of %d: %v", len(idle), max, err)
	}
	close(stopWatch)
	<-watched
	t.Logf("served after %v", time.Since(start))
	if p := peak.Load(); p > max {
		t.Errorf("held %d connections, limit %d", p, max)
	}
}

// 500 idle connections (each opened and left silent) do not stop a normal
// client from uploading and reading back.
func TestFiveHundredIdleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 500 connections")
	}
	ts := startServer(t)
	addr := strings.TrimPrefix(ts.base, "https://")
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for i := 0; i < 500; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	c := dial(t, ts.nurl)
	ctx := context.Background()
	var si storage.SI
	si[0] = 11
	up := storage.Secret{3}
	if a, err := c.AllocateBuckets(ctx, si, storage.LeaseSecrets{}, up, []int{0}, 5); err != nil || len(a.Allocated) != 1 {
		t.Fatalf("allocate: %v %v", a, err)
	}
	if done, err := c.WriteShare(ctx, si, 0, up, 0, []byte("hello")); err != nil || !done {
		t.Fatalf("write: %v %v", done, err)
	}
	if b, err := c.ReadShare(ctx, si, 0, 0, 5); err != nil || string(b) != "hello" {
		t.Fatalf("read: %q %v", b, err)
	}
}

func TestMemoryBudgetFIFOAndTimeout(t *testing.T) {
	b := NewMemoryBudget(10)
	ctx := context.Background()
	if err := b.Acquire(ctx, 8, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.Acquire(ctx, 11, time.Second); !errors.Is(err, errBusy) {
		t.Errorf("over the whole budget: %v", err)
	}
	if err := b.Acquire(ctx, 5, 50*time.Millisecond); !errors.Is(err, errBusy) {
		t.Errorf("no room: %v", err)
	}
	got := make(chan error, 1)
	go func() { got <- b.Acquire(ctx, 5, 10*time.Second) }()
	b.Release(8)
	if err := <-got; err != nil {
		t.Errorf("after release: %v", err)
	}
	if b.InUse() != 5 {
		t.Errorf("in use %d", b.InUse())
	}
}

type tempErr struct{}

func (tempErr) Error() string   { return "accept4: too many open files" }
func (tempErr) Timeout() bool   { return false }
func (tempErr) Temporary() bool { return true }

// failingListener fails its first accepts as a process out of file
// descriptors does.
type failingListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, tempErr{}
	}
	return l.Listener.Accept()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Issue 13 item 22: accept errors reach the node's logger (they were
// discarded), at warn level and without a flood.
func TestServeLogsAcceptErrors(t *testing.T) {
	var buf syncBuffer
	st, err := store.Open(t.TempDir(), store.Options{FreeSpace: func(string) (uint64, error) { return 1 << 40, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := NewServer(st, []byte(testSwiss), slog.New(slog.NewTextHandler(&buf, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &failingListener{Listener: ln}
	fl.fails.Store(3)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { serve(ctx, newConnLimiter(fl, 8), s); close(done) }()
	defer func() { cancel(); <-done }()
	testkit.Poll(10*time.Second, func() bool { return fl.fails.Load() < 0 })
	// The server kept accepting after the errors.
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	out := buf.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "too many open files") || !strings.Contains(out, "server=gbs") {
		t.Fatalf("accept errors not logged as warnings: %q", out)
	}
}
