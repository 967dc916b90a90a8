package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Two nodes connected over a relay (here a pipe) punch a direct
// connection: both dial each other from their reserved ports at once (TCP
// simultaneous open, or one side's listener taking the other's SYN), the
// direct connection replaces the relayed one on both sides, and calls
// work over it.
func TestPunchReplacesRelayed(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip(ErrPunchUnsupported)
	}
	a, b := start(t, "A"), start(t, "B")
	if de, se := over(a, b, b.ID(), a.ID()); de != nil || se != nil {
		t.Fatalf("relayed: dial %v, serve %v", de, se)
	}
	sa, err := ListenPunch()
	if err != nil {
		t.Fatal(err)
	}
	sb, err := ListenPunch()
	if err != nil {
		t.Fatal(err)
	}
	if sa.Port == sb.Port {
		t.Fatalf("both reserved port %d", sa.Port)
	}
	loop := func(port int) []netip.AddrPort {
		return []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errB := make(chan error, 1)
	go func() { errB <- b.Punch(ctx, sb, loop(sa.Port), a.ID(), false) }()
	if err := a.Punch(ctx, sa, loop(sb.Port), b.ID(), true); err != nil {
		t.Fatalf("A's punch: %v", err)
	}
	if err := <-errB; err != nil {
		t.Fatalf("B's punch: %v", err)
	}
	for _, n := range []*testNode{a, b} {
		ps := n.Peers()
		if len(ps) != 1 || ps[0].Via != "" || ps[0].Remote == "" || ps[0].Remote[:10] != "127.0.0.1:" {
			t.Errorf("%.8s peers %+v, want one direct connection", n.ID(), ps)
		}
	}
	if got, want := call(t, a, b), "B sees "+a.ID(); got != want {
		t.Errorf("A→B %q, want %q", got, want)
	}
	if got, want := call(t, b, a), "A sees "+b.ID(); got != want {
		t.Errorf("B→A %q, want %q", got, want)
	}
	// The port is free again for the next attempt.
	if s, err := ListenPunch(); err != nil {
		t.Errorf("reserve again: %v", err)
	} else {
		s.Close()
	}
}

// A punch whose peer never answers ends with ctx and an error that says
// no connection was made; a stranger's connection to the reserved port
// is refused (only the peer's addresses may use it).
func TestPunchGivesUp(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip(ErrPunchUnsupported)
	}
	a := start(t, "A")
	sa, err := ListenPunch()
	if err != nil {
		t.Fatal(err)
	}
	// A port nobody listens on, at an address that drops (TEST-NET-1).
	nowhere := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:9")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stranger := make(chan error, 1)
	go func() {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.Port)), time.Second)
		if err != nil {
			stranger <- nil // not even accepted: refused too
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(time.Second))
		_, err = c.Read(make([]byte, 1))
		stranger <- err
	}()
	t0 := time.Now()
	err = a.Punch(ctx, sa, nowhere, "v0-nobody", true)
	if err == nil {
		t.Fatal("a punch to nobody succeeded")
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("the punch took %v to give up after a 2 s context", d)
	}
	if len(a.Peers()) != 0 {
		t.Errorf("peers after a failed punch: %+v", a.Peers())
	}
	if err := <-stranger; err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("a stranger's connection to the reserved port: %v, want it closed at once", err)
	}
}
