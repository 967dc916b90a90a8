package nat

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testServer is a Server whose caller is "peer" at 198.51.100.9:61000 and
// whose probes succeed for 198.51.100.9:3456 only.
func testServer(probes *atomic.Int32, block chan struct{}) *Server {
	return &Server{
		PeerOf: func(r *http.Request) string { return r.Header.Get("X-Test-Peer") },
		RemoteOf: func(r *http.Request) (netip.AddrPort, error) {
			if r.Header.Get("X-Test-Relayed") != "" {
				return netip.AddrPort{}, errors.New("relayed")
			}
			return netip.MustParseAddrPort("198.51.100.9:61000"), nil
		},
		Probe: func(ctx context.Context, addr, peer string) error {
			probes.Add(1)
			if block != nil {
				<-block
			}
			if addr == "198.51.100.9:3456" && peer == "peer" {
				return nil
			}
			return errors.New("connection refused")
		},
	}
}

func do(h http.Handler, method, path, peer, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if peer != "" {
		req.Header.Set("X-Test-Peer", peer)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestServerDialsBackOnlyTheCallersIP(t *testing.T) {
	var probes atomic.Int32
	h := testServer(&probes, nil).Handler()
	for _, c := range []struct {
		name, peer, body string
		code             int
		answer           string
	}{
		{"ok", "peer", `{"address":"198.51.100.9:3456"}`, 200, `"ok":true`},
		{"closed port", "peer", `{"address":"198.51.100.9:9"}`, 200, `"ok":false`},
		{"IPv4-mapped form of the caller's IP", "peer", `{"address":"[::ffff:198.51.100.9]:3456"}`, 200, `"ok":true`},
		{"third party", "peer", `{"address":"203.0.113.1:3456"}`, 403, "only to your own IP"},
		{"host name", "peer", `{"address":"example.com:3456"}`, 400, "no host names"},
		{"port 0", "peer", `{"address":"198.51.100.9:0"}`, 400, ""},
		{"not JSON", "peer", `hello`, 400, ""},
		{"too big", "peer", `{"address":"198.51.100.9:3456","x":"` + strings.Repeat("a", 1000) + `"}`, 400, ""},
		{"not a peer", "", `{"address":"198.51.100.9:3456"}`, 403, ""},
	} {
		before := probes.Load()
		w := do(h, "POST", DialBackPath, c.peer, c.body)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.answer) {
			t.Errorf("%s: %d %s, want %d %q", c.name, w.Code, w.Body.String(), c.code, c.answer)
		}
		if c.code != 200 && probes.Load() != before {
			t.Errorf("%s: refused, yet it dialed", c.name)
		}
	}
}

func TestServerObserved(t *testing.T) {
	var probes atomic.Int32
	h := testServer(&probes, nil).Handler()
	if w := do(h, "GET", ObservedPath, "peer", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"address":"198.51.100.9:61000"`) {
		t.Errorf("observed: %d %s", w.Code, w.Body.String())
	}
	if w := do(h, "GET", ObservedPath, "", ""); w.Code != 403 {
		t.Errorf("observed without a peer: %d", w.Code)
	}
	req := httptest.NewRequest("POST", DialBackPath, strings.NewReader(`{"address":"198.51.100.9:3456"}`))
	req.Header.Set("X-Test-Peer", "peer")
	req.Header.Set("X-Test-Relayed", "1")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 403 || probes.Load() != 0 {
		t.Errorf("dial-back over a relayed connection: %d, %d probes", w.Code, probes.Load())
	}
}

func TestServerRateLimits(t *testing.T) {
	var probes atomic.Int32
	s := testServer(&probes, nil)
	now := time.Unix(1e9, 0)
	s.Now = func() time.Time { return now }
	h := s.Handler()
	body := `{"address":"198.51.100.9:3456"}`
	for i := range DefaultPerMinute {
		if w := do(h, "POST", DialBackPath, "peer", body); w.Code != 200 {
			t.Fatalf("check %d: %d", i, w.Code)
		}
	}
	if w := do(h, "POST", DialBackPath, "peer", body); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("check over the limit: %d", w.Code)
	}
	if w := do(h, "POST", DialBackPath, "other", `{"address":"198.51.100.9:3456"}`); w.Code != 200 {
		t.Errorf("another peer is limited by the first one's checks: %d", w.Code)
	}
	now = now.Add(61 * time.Second)
	if w := do(h, "POST", DialBackPath, "peer", body); w.Code != 200 {
		t.Errorf("a minute later: %d", w.Code)
	}
	if got := probes.Load(); got != DefaultPerMinute+2 {
		t.Errorf("%d probes, want %d", got, DefaultPerMinute+2)
	}
}

func TestServerOneCheckAtATimePerPeer(t *testing.T) {
	var probes atomic.Int32
	block := make(chan struct{})
	h := testServer(&probes, block).Handler()
	body := `{"address":"198.51.100.9:3456"}`
	var wg sync.WaitGroup
	wg.Go(func() { do(h, "POST", DialBackPath, "peer", body) })
	for deadline := time.Now().Add(5 * time.Second); probes.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if w := do(h, "POST", DialBackPath, "peer", body); w.Code != http.StatusTooManyRequests {
		t.Errorf("a second check while one runs: %d", w.Code)
	}
	close(block)
	wg.Wait()
	if w := do(h, "POST", DialBackPath, "peer", body); w.Code != 200 {
		t.Errorf("after the first finished: %d", w.Code)
	}
}

func FuzzServer(f *testing.F) {
	f.Add("POST", DialBackPath, `{"address":"198.51.100.9:3456"}`)
	f.Add("POST", DialBackPath, `{"address":"[::1]:1"}`)
	f.Add("GET", ObservedPath, ``)
	f.Add("POST", DialBackPath, `{"address":`)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		var probes atomic.Int32
		s := testServer(&probes, nil)
		s.Probe = func(_ context.Context, addr, _ string) error {
			probes.Add(1)
			if a, err := netip.ParseAddrPort(addr); err != nil || a.Addr() != netip.MustParseAddr("198.51.100.9") {
				t.Fatalf("dialed %q: not the caller's IP", addr)
			}
			return nil
		}
		req, err := http.NewRequest(method, "http://peer"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("X-Test-Peer", "peer")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		if w.Body.Len() > 4096 {
			t.Fatalf("answer of %d bytes", w.Body.Len())
		}
	})
}
