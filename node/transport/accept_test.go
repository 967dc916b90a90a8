package transport

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A connection past MaxConns waits until one closes, so idle connections
// that never handshake cannot take every file descriptor; the ones held
// are released when they close.
func TestConnectionLimitHoldsNewConnectionsBack(t *testing.T) {
	b := start(t, "b", func(n *Node) { n.MaxConns = 2 })
	a := start(t, "a")
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", b.addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	err := a.Dial(ctx, b.addr, b.ID())
	cancel()
	if err == nil {
		t.Fatal("a third connection was served while two idle ones held the limit of 2")
	}
	for _, c := range idle {
		c.Close()
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Dial(ctx, b.addr, b.ID()); err != nil {
		t.Fatalf("after the idle connections closed: %v", err)
	}
	if got := call(t, a, b); !strings.HasPrefix(got, "b sees") {
		t.Fatalf("call answered %q", got)
	}
}

// flakyListener fails its first accepts the way a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// Before, the first failed accept ended Serve: the node never accepted
// again. Now it backs off and goes on.
func TestAcceptErrorsAreRetried(t *testing.T) {
	b := start(t, "b")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: ln}
	fl.fails.Store(5)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- b.Serve(ctx, fl) }()
	a := start(t, "a")
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	if err := a.Dial(dctx, ln.Addr().String(), b.ID()); err != nil {
		t.Fatalf("dial after five failed accepts: %v", err)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned after accept errors: %v", err)
	default:
	}
	cancel()
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop when its context ended")
	}
}
