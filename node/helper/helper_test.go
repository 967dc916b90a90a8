package helper

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
	"github.com/lafssync/lafssync/internal/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m, testTransport.CloseIdleConnections) }

// testTransport carries every test request (its idle connections are
// closed before the leak check).
var testTransport = &http.Transport{}

const peerHeader = "X-Test-Peer"

// rig is a helper over ten in-memory servers, served over loopback HTTP
// with the client's node ID in a header (the transport's job in a node).
type rig struct {
	t       testing.TB
	srv     *Server
	ts      *httptest.Server
	servers []storage.Server
	mems    []*mem.Server
	dir     string
	putIn   atomic.Int64 // ciphertext bytes the helper received in PUT bodies
	now     atomic.Int64 // fake clock, unix nanoseconds
	free    atomic.Int64 // fake free space
}

func newRig(t testing.TB, lim Limits, forward func(id string) http.RoundTripper) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir()}
	r.mems, r.servers = mem.NewGrid(10)
	r.now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	r.free.Store(1 << 40)
	var err error
	r.srv, err = New(Config{Dir: r.dir, Limits: lim, Storage: forward,
		Grid: func() *immutable.Client {
			return &immutable.Client{Servers: r.servers, Params: immutable.DefaultParams(), LeaseSecret: []byte("the helper's lease secret")}
		},
		Now:       func() time.Time { return time.Unix(0, r.now.Load()) },
		FreeSpace: func(string) (int64, error) { return r.free.Load(), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.srv.Close)
	h := r.srv.peerOnly(r.srv.routes(), func(req *http.Request) string { return req.Header.Get(peerHeader) })
	r.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPut {
			req.Body = countingBody{req.Body, &r.putIn}
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.ts.Close)
	return r
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// peerTransport sends requests for http://peer/… to the rig as peer.
type peerTransport struct {
	base *url.URL
	peer string
}

func (p peerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	u := *r.URL
	u.Scheme, u.Host = p.base.Scheme, p.base.Host
	out.URL, out.Host = &u, ""
	if p.peer != "" {
		out.Header.Set(peerHeader, p.peer)
	}
	return testTransport.RoundTrip(out)
}

func (r *rig) client(peer string) *Client {
	u, _ := url.Parse(r.ts.URL)
	return &Client{HTTP: &http.Client{Transport: peerTransport{base: u, peer: peer}}}
}

// uploader is a client that reaches no storage server: only the helper.
func (r *rig) uploader(peer string) *immutable.Client {
	p := immutable.DefaultParams()
	return &immutable.Client{Params: p, Convergence: []byte("convergence"), LeaseSecret: []byte("client lease " + peer), Helper: r.client(peer)}
}

func (r *rig) download(c cap.Cap) []byte {
	r.t.Helper()
	var out bytes.Buffer
	g := immutable.Client{Servers: r.servers, Params: immutable.DefaultParams()}
	if _, err := g.Download(context.Background(), c, &out); err != nil {
		r.t.Fatalf("download: %v", err)
	}
	return out.Bytes()
}

func (r *rig) spoolFiles() int {
	n := 0
	filepath.WalkDir(filepath.Join(r.dir, "incoming"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func data(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// The cap of an upload through the helper is the cap of a direct upload
// with the same convergence secret; the helper receives the file once; the
// shares are on the servers and the spool is gone.
func TestUploadThroughHelper(t *testing.T) {
	r := newRig(t, Limits{}, nil)
	d := data(3<<20+12345, 1)
	ctx := context.Background()
	up, err := r.uploader("v0-alice").Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	_, direct := mem.NewGrid(10)
	want, err := (&immutable.Client{Servers: direct, Params: immutable.DefaultParams(), Convergence: []byte("convergence"), LeaseSecret: []byte("x")}).Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	if up.Cap.String() != want.Cap.String() {
		t.Fatal("cap through the helper differs from the direct upload's cap")
	}
	if got := r.putIn.Load(); got != int64(len(d)) {
		t.Fatalf("helper received %d bytes for a %d-byte file", got, len(d))
	}
	if !bytes.Equal(r.download(up.Cap), d) {
		t.Fatal("downloaded file differs")
	}
	if up.Happiness < 7 || up.Uploaded != 10 || len(up.Placement) != 10 {
		t.Fatalf("happiness %d uploaded %d placement %d", up.Happiness, up.Uploaded, len(up.Placement))
	}
	if n := r.spoolFiles(); n != 0 {
		t.Fatalf("%d spool files left after the upload", n)
	}
	// Again, from another client: already on the grid, nothing is sent.
	r.putIn.Store(0)
	again, err := r.uploader("v0-bob").Upload(ctx, bytes.NewReader(d))
	if err != nil || again.Cap.String() != want.Cap.String() || r.putIn.Load() != 0 {
		t.Fatalf("second upload: err %v, bytes sent %d", err, r.putIn.Load())
	}
	if n, res := r.srv.Uploads(); n != 0 || res != 0 {
		t.Fatalf("%d uploads, %d bytes reserved after both finished", n, res)
	}
}

// stallingReader yields its data up to a point, then blocks until
// released (a client whose connection dies mid-upload).
type stallingReader struct {
	r       io.Reader
	left    int64
	stalled chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if s.left <= 0 {
		s.once.Do(func() { close(s.stalled) })
		<-s.release
		return 0, errors.New("client killed")
	}
	p = p[:min(int64(len(p)), s.left)]
	n, err := s.r.Read(p)
	s.left -= int64(n)
	return n, err
}

func (s *stallingReader) Seek(off int64, whence int) (int64, error) {
	return s.r.(io.Seeker).Seek(off, whence)
}

// A client that disconnects mid-upload resumes where the helper's copy
// stops; meanwhile another client's upload goes through untouched.
func TestResumeAfterDisconnect(t *testing.T) {
	r := newRig(t, Limits{}, nil)
	d := data(4<<20, 2)
	ctx, cancel := context.WithCancel(context.Background())
	// Alice's plaintext reader serves the key pass in full, then stalls
	// at 1.5 MiB into the encryption pass.
	src := &stallingReader{r: bytes.NewReader(d), left: int64(len(d)) + 3<<19, stalled: make(chan struct{}), release: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		_, err := r.uploader("v0-alice").Upload(ctx, src)
		errc <- err
	}()
	select {
	case <-src.stalled:
	case err := <-errc:
		t.Fatalf("upload ended before it stalled: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("upload never reached the stall")
	}
	testkit.WaitFor(t, "the helper to spool Alice's first bytes", 10*time.Second, func() bool {
		r.srv.mu.Lock()
		defer r.srv.mu.Unlock()
		for k, u := range r.srv.uploads {
			if k.peer == "v0-alice" && u.have >= 1<<20 {
				return true
			}
		}
		return false
	})
	// Bob uploads while Alice hangs.
	bob := data(1<<20+7, 3)
	bup, err := r.uploader("v0-bob").Upload(context.Background(), bytes.NewReader(bob))
	if err != nil || !bytes.Equal(r.download(bup.Cap), bob) {
		t.Fatalf("Bob's upload while Alice hung: %v", err)
	}
	cancel() // Alice's connection dies
	close(src.release)
	if err := <-errc; err == nil {
		t.Fatal("Alice's killed upload succeeded")
	}
	var have int64
	testkit.WaitFor(t, "the helper to notice Alice left", 10*time.Second, func() bool {
		r.srv.mu.Lock()
		defer r.srv.mu.Unlock()
		for k, u := range r.srv.uploads {
			if k.peer == "v0-alice" && !u.busy {
				have = u.have
				return true
			}
		}
		return false
	})
	if have < 1<<20 || have > 3<<19 {
		t.Fatalf("helper holds %d bytes of Alice's file after the disconnect", have)
	}
	r.putIn.Store(0)
	up, err := r.uploader("v0-alice").Upload(context.Background(), bytes.NewReader(d))
	if err != nil {
		t.Fatalf("resumed upload: %v", err)
	}
	if sent := r.putIn.Load(); sent != int64(len(d))-have {
		t.Fatalf("resumed upload sent %d bytes; the rest was %d", sent, int64(len(d))-have)
	}
	if !bytes.Equal(r.download(up.Cap), d) {
		t.Fatal("resumed file differs")
	}
}

func errCode(err error) string {
	var he *Error
	if errors.As(err, &he) {
		return he.Code
	}
	return ""
}

func si(b byte) storage.SI { var s storage.SI; s[0] = b; return s }

// Per-client and disk limits hold, with clear errors; bad requests are
// refused.
func TestLimits(t *testing.T) {
	r := newRig(t, Limits{MaxUploadsPerClient: 2, MaxSpoolPerClient: 10 << 20, MaxSpoolTotal: 15 << 20, ReservedSpace: 1 << 20}, nil)
	ctx := context.Background()
	p := immutable.DefaultParams()
	alice, bob, carol := r.client("v0-alice"), r.client("v0-bob"), r.client("v0-carol")
	if _, err := alice.Start(ctx, si(1), 1<<20, p); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Start(ctx, si(2), 1<<20, p); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Start(ctx, si(3), 1<<20, p); errCode(err) != CodeLimit || !strings.Contains(err.Error(), "uploads open") {
		t.Fatalf("third upload: %v", err)
	}
	if _, err := bob.Start(ctx, si(4), 11<<20, p); errCode(err) != CodeLimit {
		t.Fatalf("upload over the per-client bytes: %v", err)
	}
	if _, err := bob.Start(ctx, si(4), 9<<20, p); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Start(ctx, si(5), 5<<20, p); errCode(err) != CodeNoSpace {
		t.Fatalf("upload over the total spool: %v", err)
	}
	r.free.Store(3 << 20) // a nearly full disk
	if _, err := carol.Start(ctx, si(5), 2<<20, p); errCode(err) != CodeNoSpace {
		t.Fatalf("upload that would eat the reserved space: %v", err)
	}
	r.free.Store(1 << 40)
	// Wrong offset: told where to resume.
	if err := alice.Send(ctx, si(1), 5, bytes.NewReader([]byte("x"))); errCode(err) != CodeOffset {
		t.Fatalf("send at a wrong offset: %v", err)
	}
	// More bytes than the file has.
	if err := alice.Send(ctx, si(1), 0, bytes.NewReader(make([]byte, 1<<20+1))); err == nil {
		t.Fatal("oversized body accepted")
	}
	// Finish before all bytes are there.
	if _, err := alice.Finish(ctx, si(2), [32]byte{}); errCode(err) != CodeIncomplete {
		t.Fatalf("early finish: %v", err)
	}
	// Finish with the wrong hash drops the spool.
	if err := alice.Send(ctx, si(2), 0, bytes.NewReader(make([]byte, 1<<20))); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Finish(ctx, si(2), [32]byte{1}); errCode(err) != CodeMismatch {
		t.Fatalf("finish with a wrong hash: %v", err)
	}
	if st, err := alice.Start(ctx, si(2), 1<<20, p); err != nil || st.Have != 0 {
		t.Fatalf("restart after a mismatch: have %d, %v", st.Have, err)
	}
	// Aborting frees the slot.
	if err := alice.Abort(ctx, si(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Start(ctx, si(3), 1<<20, p); err != nil {
		t.Fatalf("upload after an abort: %v", err)
	}
	// Parameters the helper will not encode with.
	for _, bad := range []immutable.Params{{K: 0, Happy: 1, N: 1, MaxSegmentSize: 1 << 20}, {K: 3, Happy: 11, N: 10, MaxSegmentSize: 1 << 20},
		{K: 3, Happy: 7, N: 10, MaxSegmentSize: 64 << 20}, {K: 1, Happy: 1, N: 256, MaxSegmentSize: 4 << 20}} {
		if _, err := carol.Start(ctx, si(9), 1<<20, bad); errCode(err) != CodeBadRequest {
			t.Fatalf("params %+v: %v", bad, err)
		}
	}
	if _, err := carol.Start(ctx, si(9), 55, p); errCode(err) != CodeBadRequest {
		t.Fatalf("literal-sized file: %v", err)
	}
	// Not a transport peer.
	if _, err := r.client("").Start(ctx, si(9), 1<<20, p); errCode(err) != CodeNotPeer {
		t.Fatalf("request without a peer: %v", err)
	}
}

// Idle uploads and their spool files go after the idle timeout.
func TestIdleUploadsSwept(t *testing.T) {
	r := newRig(t, Limits{IdleTimeout: time.Hour}, nil)
	ctx := context.Background()
	c := r.client("v0-alice")
	if _, err := c.Start(ctx, si(1), 1<<20, immutable.DefaultParams()); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ctx, si(1), 0, bytes.NewReader(make([]byte, 1000))); err != nil {
		t.Fatal(err)
	}
	r.srv.Sweep()
	if n, _ := r.srv.Uploads(); n != 1 || r.spoolFiles() != 2 {
		t.Fatalf("fresh upload swept: %d uploads, %d files", n, r.spoolFiles())
	}
	r.now.Add(int64(2 * time.Hour))
	r.srv.Sweep()
	if n, res := r.srv.Uploads(); n != 0 || res != 0 || r.spoolFiles() != 0 {
		t.Fatalf("after the idle timeout: %d uploads, %d reserved, %d files", n, res, r.spoolFiles())
	}
	if err := c.Send(ctx, si(1), 1000, bytes.NewReader(make([]byte, 10))); errCode(err) != CodeNoUpload {
		t.Fatalf("send to a swept upload: %v", err)
	}
}

// A helper restarted within the idle timeout resumes from its spool file.
func TestResumeAcrossHelperRestart(t *testing.T) {
	r := newRig(t, Limits{}, nil)
	ctx := context.Background()
	c := r.client("v0-alice")
	p := immutable.DefaultParams()
	if _, err := c.Start(ctx, si(1), 1<<20, p); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ctx, si(1), 0, bytes.NewReader(make([]byte, 4096))); err != nil {
		t.Fatal(err)
	}
	r.srv.Close()
	s2, err := New(r.srv.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	r.srv = s2 // the rig's handler still points at the old server; use the new one directly
	h := s2.peerOnly(s2.routes(), func(req *http.Request) string { return req.Header.Get(peerHeader) })
	ts := httptest.NewServer(h)
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	c2 := &Client{HTTP: &http.Client{Transport: peerTransport{base: u, peer: "v0-alice"}}}
	st, err := c2.Start(ctx, si(1), 1<<20, p)
	if err != nil || st.Have != 4096 {
		t.Fatalf("after a restart: have %d, %v", st.Have, err)
	}
	// Other parameters start over.
	p.K = 2
	if st, err := c2.Start(ctx, si(1), 1<<20, p); err != nil || st.Have != 0 {
		t.Fatalf("other parameters: have %d, %v", st.Have, err)
	}
}
