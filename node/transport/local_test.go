package transport

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
)

// countingListener counts the TCP connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// serveCounting starts a node on a loopback listener that counts accepts
// and waits until the node is registered for in-process dials.
func serveCounting(t *testing.T, name string, configure ...func(*Node)) (*testNode, *countingListener) {
	t.Helper()
	n := start(t, name+"-unused", configure...).Node // an identity and handler as start makes them
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Serve(ctx, cl); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if !n.NoInProcess && !testkit.Poll(5*time.Second, func() bool { return registeredAt(ln.Addr().String()) == n }) {
		t.Fatal("the node never registered its loopback address")
	}
	return &testNode{Node: n, addr: ln.Addr().String()}, cl
}

// Two nodes of one process (a local grid) connect in memory: calls work
// both ways and no TCP connection is made; a wrong expected ID is refused
// as over the network; closing the listening node drops the connection.
func TestSameProcessPeersConnectInMemory(t *testing.T) {
	b, bl := serveCounting(t, "b", inProcess, func(n *Node) {
		h := n.handler
		n.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Remote-Addr", r.RemoteAddr)
			h.ServeHTTP(w, r)
		})
	})
	a := start(t, "a", inProcess)
	other := start(t, "other", inProcess)
	if err := a.Dial(context.Background(), b.addr, other.ID()); !errors.Is(err, ErrWrongPeer) {
		t.Fatalf("dial expecting another ID: %v, want ErrWrongPeer", err)
	}
	if err := a.Dial(context.Background(), b.addr, b.ID()); err != nil {
		t.Fatal(err)
	}
	if got := call(t, a, b); !strings.HasPrefix(got, "b-unused sees "+a.ID()) {
		t.Fatalf("a→b answered %q", got)
	}
	resp, err := a.HTTPClient(b.ID()).Get("http://peer/addr")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Remote-Addr"); !strings.HasPrefix(got, "127.0.0.1:") {
		t.Fatalf("b's handler sees the request from %q, want a loopback address", got)
	}
	if got := call(t, b, a); !strings.HasPrefix(got, "a sees "+b.ID()) {
		t.Fatalf("b→a answered %q", got)
	}
	if k := bl.n.Load(); k != 0 {
		t.Fatalf("%d TCP connections accepted for an in-process peer", k)
	}
	if init, ok := b.Current(a.ID()); !ok || init != a.ID() {
		t.Fatalf("b's connection to a: dialed by %.12s (ok %v), want a", init, ok)
	}
	b.Close()
	if !testkit.Poll(5*time.Second, func() bool { return a.Connections(b.ID()) == 0 }) {
		t.Fatal("a still holds a connection to b after b closed")
	}
}

func inProcess(n *Node) { n.NoInProcess = false }

// NoInProcess keeps a node's connections on the network.
func TestNoInProcessDialsOverTCP(t *testing.T) {
	b, bl := serveCounting(t, "b", inProcess)
	a := start(t, "a")
	if err := a.Dial(context.Background(), b.addr, b.ID()); err != nil {
		t.Fatal(err)
	}
	if got := call(t, a, b); !strings.HasPrefix(got, "b-unused sees "+a.ID()) {
		t.Fatalf("a→b answered %q", got)
	}
	if k := bl.n.Load(); k != 1 {
		t.Fatalf("%d TCP connections accepted, want 1", k)
	}
}

// registeredAt is the Node registered in process at addr (nil if none).
func registeredAt(addr string) *Node {
	ap, _ := loopbackAddr(addr)
	sameProcess.mu.Lock()
	defer sameProcess.mu.Unlock()
	return sameProcess.nodes[ap].n
}

// Two in-process nodes dialing each other at once keep one connection and
// close the other. That close is routine: it logs no warning (yamux's
// "read/write on closed pipe" from the dropped session was a warning at
// every start of the local grid, in front of the user).
func TestDuplicateInProcessConnectionsLogNoWarning(t *testing.T) {
	var la, lb logs
	for i := range 10 {
		a, _ := serveCounting(t, "a", inProcess, la.into)
		b, _ := serveCounting(t, "b", inProcess, lb.into)
		errs := make(chan error, 2)
		go func() { errs <- a.Dial(context.Background(), b.addr, b.ID()) }()
		go func() { errs <- b.Dial(context.Background(), a.addr, a.ID()) }()
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
		if got := call(t, a, b); !strings.HasPrefix(got, "b-unused sees "+a.ID()) {
			t.Fatalf("round %d: a→b answered %q", i, got)
		}
		testkit.Poll(5*time.Second, func() bool { return a.Connections(b.ID()) == 1 && b.Connections(a.ID()) == 1 })
		a.Close()
		b.Close()
	}
	for name, l := range map[string]*logs{"a": &la, "b": &lb} {
		if l.has("level=WARN") {
			l.mu.Lock()
			t.Errorf("node %s logged a warning:\n%s", name, l.b.String())
			l.mu.Unlock()
		}
	}
}
