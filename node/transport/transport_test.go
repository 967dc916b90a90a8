package transport

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/lafssync/lafssync/internal/testkit"
)

// whoami answers with the caller's node ID and this node's name.
func whoami(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s sees %s", name, PeerID(r.Context()))
	})
}

type testNode struct {
	*Node
	addr string
}

func start(t testing.TB, name string, configure ...func(*Node)) *testNode {
	t.Helper()
	n := New(testIdentity(t), whoami(name), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain https") }), nil)
	n.NoInProcess = true // tests are of the network path unless they say otherwise (local_test.go)
	for _, f := range configure {
		f(n)
	}
	return &testNode{Node: n, addr: serve(t, n, "127.0.0.1")}
}

// testIdentity is a new random node identity.
func testIdentity(t testing.TB) *Identity {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	id, err := NewIdentity(key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// serve runs n on a new listener at host (an IP address, any port) until
// the test ends, and returns the listener's address.
func serve(t testing.TB, n *Node, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; n.Close() })
	return ln.Addr().String()
}

func call(t *testing.T, from *testNode, to *testNode) string {
	t.Helper()
	resp, err := from.HTTPClient(to.ID()).Get("http://peer/whoami")
	if err != nil {
		t.Fatalf("call %s→%s: %v", from.ID()[:8], to.ID()[:8], err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitSettled(t *testing.T, a, b *testNode) {
	t.Helper()
	if testkit.Poll(10*time.Second, func() bool {
		ia, oka := a.Current(b.ID())
		ib, okb := b.Current(a.ID())
		return oka && okb && ia == ib && a.Connections(b.ID()) == 1 && b.Connections(a.ID()) == 1
	}) {
		return
	}
	ia, _ := a.Current(b.ID())
	ib, _ := b.Current(a.ID())
	t.Fatalf("not settled: A keeps one dialed by %.8s (%d open), B keeps one dialed by %.8s (%d open)", ia, a.Connections(b.ID()), ib, b.Connections(a.ID()))
}

// One connection carries calls both ways: B never dials A, yet calls it.
func TestCallsBothWaysOverOneConnection(t *testing.T) {
	a, b := start(t, "A"), start(t, "B")
	if err := a.Dial(context.Background(), b.addr, b.ID()); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, a, b)
	if got := call(t, a, b); got != "B sees "+a.ID() {
		t.Errorf("A→B: %q", got)
	}
	if got := call(t, b, a); got != "A sees "+b.ID() {
		t.Errorf("B→A over A's connection: %q", got)
	}
}

// Both nodes dial each other at the same moment, 100 times: each time both
// keep the same single connection and calls work both ways.
func TestSimultaneousDialsSettleOnOne(t *testing.T) {
	a, b := start(t, "A"), start(t, "B")
	rounds := 100
	if testing.Short() {
		rounds = 20
	}
	winner := min(a.ID(), b.ID())
	for i := 0; i < rounds; i++ {
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		wg.Go(func() { errs <- a.Dial(context.Background(), b.addr, b.ID()) })
		wg.Go(func() { errs <- b.Dial(context.Background(), a.addr, a.ID()) })
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
		waitSettled(t, a, b)
		if ia, _ := a.Current(b.ID()); ia != winner {
			t.Fatalf("round %d: kept the connection dialed by %.8s, not by the smaller ID", i, ia)
		}
		if call(t, a, b) == "" || call(t, b, a) == "" {
			t.Fatal("empty answer")
		}
		// Drop everything for the next round.
		a.mu.Lock()
		for c := range a.all {
			c.sess.Close()
		}
		a.mu.Unlock()
		testkit.Poll(5*time.Second, func() bool { return a.Connections(b.ID()) == 0 && b.Connections(a.ID()) == 0 })
	}
}

// A call in flight on the connection that loses survives the switch.
func TestInFlightCallSurvivesDuplicateClose(t *testing.T) {
	_, ka, _ := ed25519.GenerateKey(rand.Reader)
	_, kb, _ := ed25519.GenerateKey(rand.Reader)
	ia, _ := NewIdentity(ka)
	ib, _ := NewIdentity(kb)
	// Make B the larger ID so that B's own dial is the one that loses.
	if ia.ID() > ib.ID() {
		ia, ib = ib, ia
	}
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		io.WriteString(w, "done")
	})
	mk := func(id *Identity, h http.Handler) *testNode {
		n := New(id, h, nil, nil)
		return &testNode{Node: n, addr: serve(t, n, "127.0.0.1")}
	}
	a, b := mk(ia, slow), mk(ib, whoami("B"))
	if err := b.Dial(context.Background(), a.addr, a.ID()); err != nil { // B→A: will lose
		t.Fatal(err)
	}
	result := make(chan string, 1)
	go func() {
		resp, err := b.HTTPClient(a.ID()).Get("http://peer/slow")
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- string(body)
	}()
	select {
	case <-entered: // the call is now in flight on B→A
	case <-time.After(10 * time.Second):
		t.Fatal("the call over B→A did not reach A's handler in 10 s")
	}
	if err := a.Dial(context.Background(), b.addr, b.ID()); err != nil { // A→B wins
		t.Fatal(err)
	}
	testkit.WaitFor(t, "both sides to keep A's connection", 10*time.Second, func() bool {
		ia, oka := a.Current(b.ID())
		ib, okb := b.Current(a.ID())
		return oka && okb && ia == a.ID() && ib == a.ID()
	})
	close(release)
	if got := <-result; got != "done" {
		t.Fatalf("call in flight during the switch: %q", got)
	}
	waitSettled(t, a, b)
}

// logs captures a node's log lines.
type logs struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }

func (l *logs) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.b.String(), s)
}

func (l *logs) waitFor(t *testing.T, s string) {
	t.Helper()
	if !testkit.Poll(5*time.Second, func() bool { return l.has(s) }) {
		l.mu.Lock()
		defer l.mu.Unlock()
		t.Fatalf("no log line with %q in:\n%s", s, l.b.String())
	}
}

func (l *logs) into(n *Node) { n.log = slog.New(slog.NewTextHandler(l, nil)) }

func TestWrongPeerKeyRefused(t *testing.T) {
	var la logs
	a, b, c := start(t, "A", la.into), start(t, "B"), start(t, "C")
	err := a.Dial(context.Background(), b.addr, c.ID()) // B's address, C's identity
	if err == nil || !errors.Is(err, ErrWrongPeer) {
		t.Fatalf("dialing B while expecting C: %v", err)
	}
	if a.Connections(c.ID()) != 0 || a.Connections(b.ID()) != 0 {
		t.Error("a refused connection was kept")
	}
	if err := a.Dial(context.Background(), b.addr, "v0-nonsense"); err == nil {
		t.Error("malformed peer ID accepted")
	}
	la.waitFor(t, "presented another key")
	// A keeps serving: B and C still reach it.
	if err := b.Dial(context.Background(), a.addr, a.ID()); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, a, b)
	if got := call(t, b, a); got != "A sees "+b.ID() {
		t.Errorf("after refusing a wrong key: %q", got)
	}
}

// Garbage after the handshake kills only that connection; the node keeps
// serving others. Plain HTTPS on the same port reaches the fallback.
func TestMalformedFramesAndPlainHTTPS(t *testing.T) {
	var lb logs
	a, b := start(t, "A"), start(t, "B", lb.into)
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	evil, _ := NewIdentity(k)
	tc, err := tls.Dial("tcp", b.addr, &tls.Config{Certificates: []tls.Certificate{evil.cert}, NextProtos: []string{ALPN}, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	tc.Write([]byte("this is not a yamux frame at all, not even close............"))
	buf := make([]byte, 1)
	tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := tc.Read(buf); err == nil {
		t.Error("connection sending garbage was not closed")
	}
	tc.Close()
	lb.waitFor(t, "peer connection error")
	if err := a.Dial(context.Background(), b.addr, b.ID()); err != nil {
		t.Fatal(err)
	}
	if got := call(t, a, b); got != "B sees "+a.ID() {
		t.Errorf("after garbage from another peer: %q", got)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Get("https://" + b.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "plain https" {
		t.Errorf("plain HTTPS: %q", body)
	}
}

// A flood of streams is served at most MaxStreams at a time and the node
// keeps answering.
func TestStreamFloodBounded(t *testing.T) {
	var lb logs
	a, b := start(t, "A"), start(t, "B", lb.into)
	if err := a.Dial(context.Background(), b.addr, b.ID()); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, a, b)
	a.mu.Lock()
	sess := a.current[b.ID()].sess
	a.mu.Unlock()
	var streams []net.Conn
	for i := 0; i < 200; i++ { // opened and left idle
		s, err := sess.Open()
		if err != nil {
			break
		}
		streams = append(streams, s)
	}
	for _, s := range streams[:10] {
		s.Close()
	}
	done := make(chan string, 1)
	go func() { done <- call(t, b, a) }()
	select {
	case got := <-done:
		if got == "" {
			t.Error("empty answer")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("node stopped answering under a stream flood")
	}
	lb.waitFor(t, "stream limit")
	for _, s := range streams[10:] {
		s.Close()
	}
}

// countingConn counts the writes that carry more than a yamux header.
type countingConn struct {
	net.Conn
	mu     sync.Mutex // guards bodies
	bodies int
}

func (c *countingConn) Write(p []byte) (int, error) {
	if len(p) > yamuxHeaderSize {
		c.mu.Lock()
		c.bodies++
		c.mu.Unlock()
	}
	return c.Conn.Write(p)
}

func (c *countingConn) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.bodies }

// A request body leaves in pieces of up to 256 KiB, not io.Copy's 32 KiB:
// a 200 KiB share write is two frames (headers with the first bytes, then
// the rest), each a hand-off to the send loop, a TLS batch and a syscall.
func TestRequestBodyInFewFrames(t *testing.T) {
	b := start(t, "b", func(n *Node) {
		n.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	})
	a := start(t, "a")
	p1, p2 := net.Pipe()
	counted := &countingConn{Conn: p1}
	ss, err := yamux.Server(p2, b.yamuxConfig(a.ID()))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := yamux.Client(counted, a.yamuxConfig(b.ID()))
	if err != nil {
		t.Fatal(err)
	}
	b.add(context.Background(), &conn{sess: ss, peer: a.ID(), initiator: a.ID(), since: time.Now(), remote: "127.0.0.1:1"})
	a.add(context.Background(), &conn{sess: cs, peer: b.ID(), initiator: a.ID(), since: time.Now(), remote: "127.0.0.1:2"})
	post := func() {
		t.Helper()
		resp, err := a.HTTPClient(b.ID()).Post("http://peer/share", "application/octet-stream", strings.NewReader(strings.Repeat("x", 200<<10)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	post() // opens the stream, and the server widens its window
	before := counted.count()
	post()
	if got := counted.count() - before; got > 3 {
		t.Fatalf("a 200 KiB body went out in %d writes, want at most 3", got)
	}
}
