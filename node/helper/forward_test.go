package helper

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/node/gbs"
)

const swissnum = "test-swissnum"

// forwardRig is a helper that reaches ten GBS servers (in memory, over
// loopback HTTP) and a client that reaches them only through it.
type forwardRig struct {
	*rig
	byID map[string]*url.URL
}

func newForwardRig(t *testing.T, lim Limits) *forwardRig {
	f := &forwardRig{byID: map[string]*url.URL{}}
	f.rig = newRig(t, lim, func(id string) http.RoundTripper {
		u := f.byID[id]
		if u == nil {
			return nil
		}
		return peerTransport{base: u}
	})
	for _, m := range f.mems {
		ts := httptest.NewServer(gbs.NewServer(m, []byte(swissnum), nil))
		t.Cleanup(ts.Close)
		u, _ := url.Parse(ts.URL)
		f.byID[m.Info().ID] = u
	}
	return f
}

// viaServers are the ten servers as the client sees them: through the helper.
func (f *forwardRig) viaServers(peer string) []storage.Server {
	f.t.Helper()
	c := f.client(peer)
	var out []storage.Server
	for _, m := range f.mems {
		s, err := gbs.DialOver("pb://"+strings.Repeat("A", 43)+"@tcp:127.0.0.1:1/"+swissnum+"#v=1", c.StorageVia(m.Info().ID),
			gbs.ClientOptions{Info: m.Info()})
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// All four operations work through forwarded storage calls.
func TestForwardedStorageCalls(t *testing.T) {
	f := newForwardRig(t, Limits{})
	ctx := context.Background()
	servers := f.viaServers("v0-alice")
	imm := &immutable.Client{Servers: servers, Params: immutable.DefaultParams(), Convergence: []byte("c"), LeaseSecret: []byte("l")}
	d := data(300_000, 5)
	up, err := imm.Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatalf("immutable upload via forwarding: %v", err)
	}
	var out bytes.Buffer
	if _, err := imm.Download(ctx, up.Cap, &out); err != nil || !bytes.Equal(out.Bytes(), d) {
		t.Fatalf("immutable download via forwarding: %v", err)
	}
	// The shares are really on the servers behind the helper.
	si, _ := up.Cap.(*cap.CHK).StorageIndex()
	held := 0
	for _, m := range f.mems {
		sh, _ := m.ListShares(ctx, si)
		held += len(sh)
	}
	if held != 10 {
		t.Fatalf("%d shares on the servers", held)
	}

	opts := mutable.Options{K: 3, N: 10, LeaseSecret: []byte("l")}
	mf, err := mutable.Create(ctx, servers, []byte("version one"), opts)
	if err != nil {
		t.Fatalf("mutable create via forwarding: %v", err)
	}
	_, v, err := mf.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mf.Replace(ctx, []byte("version two"), v); err != nil {
		t.Fatalf("mutable publish via forwarding: %v", err)
	}
	rd, err := mutable.Open(mf.ReadCap(), f.viaServers("v0-bob"), opts)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := rd.Read(ctx)
	if err != nil || string(got) != "version two" {
		t.Fatalf("mutable read via forwarding: %q %v", got, err)
	}
}

// Only announced servers and storage paths are forwarded, and a client's
// calls in flight are bounded.
func TestForwardLimits(t *testing.T) {
	f := newForwardRig(t, Limits{ForwardPerClient: 1, MaxForwardBody: 1000})
	c := f.client("v0-alice")
	get := func(path string) *http.Response {
		resp, err := c.HTTP.Get("http://peer" + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	id := f.mems[0].Info().ID
	if r := get(StoragePath + "v0-nobody/storage/v1/version"); r.StatusCode != http.StatusBadGateway {
		t.Fatalf("unknown server: %d", r.StatusCode)
	}
	if r := get(StoragePath + id + "/helper/v1/version"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("non-storage path: %d", r.StatusCode)
	}
	if r := get(StoragePath + id + "/storage/v1/version"); r.StatusCode == http.StatusBadRequest || r.StatusCode == http.StatusBadGateway {
		t.Fatalf("version through the helper: %d", r.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://peer"+StoragePath+id+"/storage/v1/immutable/aaaaaaaaaaaaaaaaaaaaaaaaaa", bytes.NewReader(make([]byte, 2000)))
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized forwarded body: %d", resp.StatusCode)
	}
	// One call in flight per client: a second is refused while the first hangs.
	release, ok := f.srv.acquireForward("v0-alice")
	if !ok {
		t.Fatal("no slot")
	}
	if r := get(StoragePath + id + "/storage/v1/version"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("call over the per-client limit: %d", r.StatusCode)
	}
	if r, err := f.client("v0-bob").HTTP.Get("http://peer" + StoragePath + id + "/storage/v1/version"); err != nil || r.Body.Close() != nil || r.StatusCode == http.StatusTooManyRequests {
		t.Fatal("another client was refused too")
	}
	release()
	if r := get(StoragePath + id + "/storage/v1/version"); r.StatusCode == http.StatusTooManyRequests {
		t.Fatalf("after the slot was freed: %d", r.StatusCode)
	}
	f.srv.mu.Lock()
	left := len(f.srv.forwards)
	f.srv.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d forwarding counters left", left)
	}
}

// FuzzHandlers throws arbitrary start bodies, offsets, paths and data at
// the helper: it never panics, answers in JSON, and keeps its accounting.
func FuzzHandlers(f *testing.F) {
	f.Add("POST", "upload/aaaaaaaaaaaaaaaaaaaaaaaaaa", `{"size":100000,"k":3,"happy":7,"n":10,"max-segment-size":131072}`)
	f.Add("PUT", "upload/aaaaaaaaaaaaaaaaaaaaaaaaaa?offset=0", "ciphertext")
	f.Add("PUT", "upload/aaaaaaaaaaaaaaaaaaaaaaaaaa?offset=01", "x")
	f.Add("POST", "upload/aaaaaaaaaaaaaaaaaaaaaaaaaa/finish", `{"crypttext-hash":"aaaa"}`)
	f.Add("DELETE", "upload/aaaaaaaaaaaaaaaaaaaaaaaaaa", "")
	f.Add("GET", "storage/v0-x/storage/v1/version", "")
	f.Add("POST", "upload/zz", `{"size":-1}`)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if len(body) > 1<<16 {
			return
		}
		r := newRigQuiet(t)
		switch method {
		case "GET", "POST", "PUT", "DELETE":
		default:
			method = "POST"
		}
		h := r.srv.peerOnly(r.srv.routes(), func(*http.Request) string { return "v0-fuzz" })
		// Start an upload first so PUT and finish reach their checks.
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", UploadPath+"aaaaaaaaaaaaaaaaaaaaaaaaaa", strings.NewReader(`{"size":100000,"k":3,"happy":7,"n":10,"max-segment-size":131072}`)))
		u, err := url.Parse(PathPrefix + path)
		if err != nil || strings.Contains(path, "#") {
			return
		}
		req := httptest.NewRequest(method, "http://peer/", strings.NewReader(body))
		req.URL = u
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 400 && w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("%s %s: status %d without a JSON error", method, path, w.Code)
		}
		n, reserved := r.srv.Uploads()
		if n > 1 || (n == 1) != (reserved == 100000) || reserved < 0 {
			t.Fatalf("accounting: %d uploads, %d reserved", n, reserved)
		}
	})
}

// newRigQuiet is a rig without the HTTP server (fuzz iterations are many).
func newRigQuiet(t testing.TB) *rig {
	r := &rig{t: t, dir: t.TempDir()}
	r.mems, r.servers = nil, nil
	s, err := New(Config{Dir: r.dir, Grid: func() *immutable.Client {
		return &immutable.Client{Params: immutable.DefaultParams(), LeaseSecret: []byte("h")}
	}, Storage: func(string) http.RoundTripper { return nil }, FreeSpace: func(string) (int64, error) { return 1 << 40, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	r.srv = s
	return r
}
