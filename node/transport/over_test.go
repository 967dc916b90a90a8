package transport

import (
	"context"
	"errors"
	"net"
	"testing"
)

// over runs DialOver on one end of a pipe and ServeOver on the other.
func over(dialer, server *testNode, dialTo, serverWants string) (dialErr, serveErr error) {
	c1, c2 := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- server.ServeOver(context.Background(), c2, serverWants, "relay-x") }()
	dialErr = dialer.DialOver(context.Background(), c1, dialTo, "relay-x")
	return dialErr, <-done
}

func TestOverAPipe(t *testing.T) {
	a, b := start(t, "A"), start(t, "B")
	if de, se := over(a, b, b.ID(), a.ID()); de != nil || se != nil {
		t.Fatalf("dial %v, serve %v", de, se)
	}
	if got, want := call(t, a, b), "B sees "+a.ID(); got != want {
		t.Errorf("A→B %q, want %q", got, want)
	}
	if got, want := call(t, b, a), "A sees "+b.ID(); got != want {
		t.Errorf("B→A %q, want %q", got, want)
	}
	for _, n := range []*testNode{a, b} {
		ps := n.Peers()
		if len(ps) != 1 || ps[0].Via != "relay-x" || ps[0].Remote != RelayPrefix+"relay-x" {
			t.Errorf("%.8s peers %+v, want one via relay-x", n.ID(), ps)
		}
	}
}

// The dialer pins the key it expects: whoever answers with another key
// (the relay itself, say) is refused.
func TestDialOverPinsPeerKey(t *testing.T) {
	a, b, r := start(t, "A"), start(t, "B"), start(t, "R")
	de, _ := over(a, r, b.ID(), "")
	if !errors.Is(de, ErrWrongPeer) {
		t.Fatalf("A dialing B, R answering: %v, want ErrWrongPeer", de)
	}
	if a.Connections(b.ID())+a.Connections(r.ID()) != 0 {
		t.Error("A kept a connection")
	}
}

// The accepting side checks the dialer is the node the relay named.
func TestServeOverChecksDialer(t *testing.T) {
	a, b, r := start(t, "A"), start(t, "B"), start(t, "R")
	_, se := over(r, a, a.ID(), b.ID()) // R says it is B
	if !errors.Is(se, ErrWrongPeer) {
		t.Fatalf("A accepting \"B\", R dialing: %v, want ErrWrongPeer", se)
	}
	if a.Connections(r.ID()) != 0 {
		t.Error("A kept R's connection")
	}
}
