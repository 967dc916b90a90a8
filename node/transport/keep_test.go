package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
)

// Keep dials a peer, and dials again after the connection drops.
func TestKeepReconnects(t *testing.T) {
	a, b := start(t, "A"), start(t, "B")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		a.Keep(ctx, b.ID(), func() []string { return []string{b.addr} }, Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond})
		close(done)
	}()
	defer func() { cancel(); <-done }()
	for round := 0; round < 3; round++ {
		testkit.Poll(10*time.Second, func() bool { return a.Connections(b.ID()) > 0 && b.Connections(a.ID()) > 0 })
		if got := call(t, b, a); got != "A sees "+b.ID() {
			t.Fatalf("round %d: B→A answered %q", round, got)
		}
		// B drops the connection (a restart, a NAT mapping timing out).
		b.mu.Lock()
		for c := range b.all {
			c.sess.Close()
		}
		b.mu.Unlock()
		testkit.Poll(10*time.Second, func() bool { return b.Connections(a.ID()) == 0 })
	}
	testkit.Poll(10*time.Second, func() bool { return a.Connections(b.ID()) > 0 && b.Connections(a.ID()) > 0 })
	peers := a.Peers()
	if len(peers) != 1 || peers[0].ID != b.ID() || peers[0].Inbound {
		t.Fatalf("A's peers after reconnects: %+v", peers)
	}
	if rtt, err := a.Ping(b.ID()); err != nil || rtt <= 0 {
		t.Fatalf("ping: %v %v", rtt, err)
	}
}

// A peer with no addresses is waited for: Keep does not spin, and returns
// when its context ends.
func TestKeepWithoutAddressesWaits(t *testing.T) {
	a, b := start(t, "A"), start(t, "B")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	calls := 0
	go func() {
		time.Sleep(50 * time.Millisecond)
		b.Dial(context.Background(), a.addr, a.ID()) // the NATted peer calls in
	}()
	a.Keep(ctx, b.ID(), func() []string { calls++; return nil }, Backoff{Min: 100 * time.Millisecond, Max: time.Second})
	testkit.Poll(5*time.Second, func() bool { return a.Connections(b.ID()) > 0 })
	if calls > 4 {
		t.Fatalf("asked for addresses %d times in 300 ms with a 100 ms backoff", calls)
	}
	if got := call(t, a, b); got != "B sees "+a.ID() {
		t.Fatalf("A→B over B's connection answered %q", got)
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 8 * time.Second}
	for attempt, base := range []time.Duration{1, 2, 4, 8, 8, 8} {
		base *= time.Second
		for i := 0; i < 50; i++ {
			w := b.Wait(attempt)
			if w < base/2 || w >= base*3/2 {
				t.Fatalf("attempt %d: wait %v outside [%v, %v)", attempt, w, base/2, base*3/2)
			}
		}
	}
}

// Plain HTTPS clients get the fallback certificate; transport peers still
// get the node's key.
func TestFallbackCertificate(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "fallback"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	fallback := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	a, b := start(t, "A"), start(t, "B", func(n *Node) { n.FallbackCert = fallback })
	var seen *x509.Certificate
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			seen, _ = x509.ParseCertificate(raw[0])
			return nil
		}}}}
	resp, err := hc.Get("https://" + b.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "plain https" || seen == nil || seen.Subject.CommonName != "fallback" {
		t.Fatalf("plain HTTPS got %q with certificate %v", body, seen)
	}
	if err := a.Dial(context.Background(), b.addr, b.ID()); err != nil {
		t.Fatalf("transport dial with a fallback certificate configured: %v", err)
	}
	if got := call(t, a, b); got != "B sees "+a.ID() {
		t.Fatalf("A→B answered %q", got)
	}
}

// freezer forwards TCP between a client and addr until frozen; then it
// stops forwarding without closing anything (a peer that vanished).
type freezer struct {
	ln     net.Listener
	frozen chan struct{}
}

func newFreezer(t *testing.T, addr string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, frozen: make(chan struct{})}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				return
			}
			t.Cleanup(func() { c.Close(); up.Close() })
			go f.pipe(c, up)
			go f.pipe(up, c)
		}
	}()
	return f
}

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		select {
		case <-f.frozen:
			return // swallow: nothing more arrives, nothing is closed
		default:
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// A peer that stops answering without closing the connection is noticed by
// the keepalive and its connection closed.
func TestKeepaliveDetectsDeadPeer(t *testing.T) {
	var la logs
	fast := func(n *Node) { n.KeepAlive = 100 * time.Millisecond }
	a, b := start(t, "A", fast, la.into), start(t, "B", fast)
	f := newFreezer(t, b.addr)
	if err := a.Dial(context.Background(), f.ln.Addr().String(), b.ID()); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, a, b)
	time.Sleep(350 * time.Millisecond) // pings answered: still connected
	if a.Connections(b.ID()) != 1 {
		t.Fatal("a live connection was closed by the keepalive")
	}
	close(f.frozen)
	if !testkit.Poll(5*time.Second, func() bool { return a.Connections(b.ID()) == 0 }) {
		t.Fatal("a silent peer's connection is still open after 5 s with a 100 ms keepalive")
	}
	la.waitFor(t, "stopped answering")
}
