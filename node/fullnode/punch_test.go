package fullnode

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/node/transport"
)

// What a peer offers for a hole punch is checked before this node sends
// a SYN anywhere: at most punchMaxAddrs addresses, each one a node could
// have and this node could reach; a private address only on this node's
// own network; duplicates once.
func TestPunchRemotesRefusesWhatNoNodeHas(t *testing.T) {
	own := []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}
	good, err := punchRemotes([]string{"11.11.0.4:40000", "192.168.1.5:1", "[::ffff:198.51.100.7]:9", "11.11.0.4:40000", "10.9.9.9:5"}, own)
	if err != nil || len(good) != 3 || good[0].String() != "11.11.0.4:40000" || good[1].String() != "192.168.1.5:1" || good[2].String() != "198.51.100.7:9" {
		t.Fatalf("good addresses: %v, %v; want the three reachable ones, once each", good, err)
	}
	many := make([]string, punchMaxAddrs+1)
	for i := range many {
		many[i] = fmt.Sprintf("11.0.0.%d:1000", i+1)
	}
	for _, bad := range [][]string{
		nil, many,
		{"127.0.0.1:80"}, {"0.0.0.0:80"}, {"0.1.2.3:80"}, {"224.0.0.1:80"}, {"255.255.255.255:80"}, {"240.0.0.1:80"},
		{"169.254.169.254:80"}, {"11.11.0.4:0"}, {"10.0.0.5:22"}, {"100.64.0.7:22"},
		{"[2001:db8::1]:80"}, {"example.com:80"}, {"11.11.0.4"}, {strings.Repeat("9", 5000)},
	} {
		if got, err := punchRemotes(bad, own); err == nil {
			t.Errorf("%.80q accepted as %v", bad, got)
		}
	}
}

// Only a peer whose connection runs through a relay may ask for a punch:
// a request with no peer, or from one connected directly, is refused
// without reserving a port.
func TestPunchHandlerOnlyForRelayedPeers(t *testing.T) {
	n := transportOnly(t)
	h := n.punchHandler(context.Background())
	for _, path := range []string{punchConnect, punchSync} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", path, strings.NewReader(`{"addrs":["11.11.0.4:40000"]}`)))
		if w.Code != http.StatusConflict {
			t.Errorf("POST %s from no relayed peer: %d %s, want 409", path, w.Code, w.Body)
		}
	}
	if len(n.punch.pending) != 0 {
		t.Errorf("%d ports reserved for refused requests", len(n.punch.pending))
	}
}

// At shutdown the ports waiting for a sync are released, an attempt under
// way is waited for, and no attempt starts afterwards.
func TestStopPunchReleasesPortsAndWaits(t *testing.T) {
	n := transportOnly(t)
	reserve := func() *pendingPunch {
		sock, err := transport.ListenPunch()
		if errors.Is(err, transport.ErrPunchUnsupported) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		return &pendingPunch{sock: sock, timer: time.AfterFunc(time.Hour, func() {})}
	}
	waiting := reserve()
	n.punch.pending = map[string]*pendingPunch{"waiting": waiting}
	n.punch.running++
	n.punch.runs.Add(1)
	ended := make(chan struct{})
	go func() {
		time.Sleep(50 * time.Millisecond)
		n.punch.mu.Lock()
		n.punch.running--
		n.punch.mu.Unlock()
		close(ended)
		n.punch.runs.Done()
	}()
	n.stopPunch()
	select {
	case <-ended:
	default:
		t.Error("stopPunch returned while an attempt was under way")
	}
	if len(n.punch.pending) != 0 {
		t.Errorf("%d ports still reserved", len(n.punch.pending))
	}
	ln, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", waiting.sock.Port))
	if err != nil {
		t.Errorf("the waiting attempt's port %d was not released: %v", waiting.sock.Port, err)
	} else {
		ln.Close()
	}
	late := reserve()
	n.punch.pending["late"] = late
	if n.takePending("late", late, false) {
		t.Error("an attempt started after shutdown")
	}
}

// transportOnly is a Node with only a transport (closed when the test
// ends): enough for its hole punching side.
func transportOnly(t *testing.T) *Node {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	id, err := transport.NewIdentity(key)
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{T: transport.New(id, http.NotFoundHandler(), nil, nil)}
	t.Cleanup(func() { n.T.Close() })
	return n
}
