package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Hole punching: two nodes behind different NATs, connected through a
// relay, make a direct TCP connection by both dialing each other at once
// from a known local port (TCP simultaneous open), as libp2p's DCUtR
// does. Each NAT lets the other's SYN in because it has just seen its own
// node's SYN go out to that address. The exchange of addresses and the
// timing go over the relayed connection (node/fullnode/punch.go); this
// file makes the socket and the connection. docs/relay.md tells the
// whole.
//
// Each side dials once per address and lets the kernel retransmit its
// SYN: a SYN that reaches the other NAT before that side's own SYN has
// left is dropped there (most home routers) and the retransmission, or
// the other side's SYN, gets through; a router that answers it with a
// reset instead may give the other side's connection another outside
// port, which spoils the attempt (it is tried again later). A SYN that
// comes while no dial is under way is taken by the listener on the port.
// A first SYN with a low TTL (to open this side's NAT without reaching
// the other) would avoid the reset, but a router's "time exceeded" answer
// aborts the dial on Linux, and a new dial's new sequence number is then
// refused by the other NAT's connection tracking.

// ErrPunchUnsupported: this system cannot bind several sockets to one
// port (Windows); hole punching is off there.
var ErrPunchUnsupported = errors.New("hole punching is not supported on this system")

// punchPause is the pause before dialing again after a dial failed;
// punchHandshakes bounds the server side's handshakes under way at once
// (each connection the peer's addresses make is tried).
const (
	punchPause      = 100 * time.Millisecond
	punchHandshakes = 4
)

// PunchSocket is a local TCP port reserved for one hole-punching attempt:
// a listener on it (a SYN from a peer that reaches it before ours leaves
// is accepted there) and the port the attempt dials from.
type PunchSocket struct {
	ln   net.Listener
	Port int
}

// ListenPunch reserves a fresh local port for Punch, on every interface.
func ListenPunch() (*PunchSocket, error) {
	lc := net.ListenConfig{Control: reusePort}
	ln, err := lc.Listen(context.Background(), "tcp4", "0.0.0.0:0")
	if err != nil {
		return nil, err
	}
	return &PunchSocket{ln: ln, Port: ln.Addr().(*net.TCPAddr).Port}, nil
}

// Close releases the port.
func (s *PunchSocket) Close() error { return s.ln.Close() }

// Punch makes a direct connection to peerID: it dials every address in
// remotes from s's port while accepting on s, until ctx ends, and runs the
// transport handshake over the first TCP connection made, as the TLS
// client (client) or the server. The two sides must take opposite roles.
// The connection is added as a direct one, which replaces a relayed one
// to the same peer (keeper) with the calls in flight finishing on the
// relayed one. Punch closes s.
func (n *Node) Punch(ctx context.Context, s *PunchSocket, remotes []netip.AddrPort, peerID string, client bool) error {
	defer s.Close()
	if len(remotes) == 0 {
		return errors.New("hole punch: the peer gave no address")
	}
	ctx, cancel := context.WithCancel(ctx)
	raws := make(chan net.Conn, len(remotes)+4)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		for { // connections made after the one taken
			select {
			case c := <-raws:
				c.Close()
			default:
				return
			}
		}
	}()
	wg.Go(func() {
		go func() { <-ctx.Done(); s.ln.Close() }()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
			if !fromOneOf(ap, remotes) {
				c.Close() // not the peer: nobody else may use this door
				continue
			}
			select {
			case raws <- c:
			default:
				c.Close()
			}
		}
	})
	for _, r := range remotes {
		wg.Go(func() {
			c, err := dialFrom(ctx, s.Port, r)
			if err != nil {
				return
			}
			select {
			case raws <- c:
			case <-ctx.Done():
				c.Close()
			}
		})
	}
	// The client handshakes on the first connection; the server on every
	// one that comes (with several addresses the two sides may first get
	// different ones; only the one the client speaks on succeeds).
	errs := make(chan error, punchHandshakes)
	pending := 0
	// The server's handshakes are not cut by the end of the dialing (a
	// connection made late still gets its 15 s), only by one succeeding.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	var last error = fmt.Errorf("hole punch to %.16s: no TCP connection was made", peerID)
	for {
		select {
		case <-ctx.Done():
			for ; pending > 0; pending-- {
				if err := <-errs; err == nil {
					return nil
				}
			}
			return last
		case c := <-raws:
			if client {
				cancel() // stop dialing and accepting: this is the one
				hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
				defer hcancel()
				return n.DialOver(hctx, c, peerID, "")
			}
			if pending >= punchHandshakes { // a peer opening connections by the dozen
				c.Close()
				continue
			}
			pending++
			wg.Go(func() {
				sctx, scancel := context.WithTimeout(hctx, 15*time.Second)
				defer scancel()
				errs <- n.ServeOver(sctx, c, peerID, "")
			})
		case err := <-errs:
			pending--
			if err == nil {
				cancel()
				hcancel() // the other handshakes can only fail now
				return nil
			}
			last = fmt.Errorf("hole punch to %.16s: %w", peerID, err)
		}
	}
}

func fromOneOf(ap netip.AddrPort, remotes []netip.AddrPort) bool {
	for _, r := range remotes {
		if r.Addr().Unmap() == ap.Addr().Unmap() {
			return true
		}
	}
	return false
}
