package transport

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// Peers in the same process (the local grid: a client and its ten storage
// nodes in one daemon) are connected in memory: a Dial to the loopback
// address another Node of this process listens on runs the same yamux
// session over an in-memory pipe instead of TCP and TLS. Nothing crosses
// a network, so there is nothing to encrypt, and both ends' identities
// are known without a handshake: the Node listening there is the one
// dialed, and must have the ID asked for. The streams, HTTP on them, the
// keeper, keepalives and the stream limit are those of any peer
// connection, and the framing is yamux's, unchanged; MaxConns does not
// apply (no file descriptor is held). Per request this saves the TLS
// records and the loopback TCP under them: about 40 % of the CPU of a
// 1 KiB request and 70 % of a 100 KiB one (docs/benchmarks.md, "Transport
// cost per request"). Only listeners on loopback addresses are
// registered, so a node reached over a real interface always goes
// through the network. Serve registers its listener when it starts: a
// Dial made before that goes over TCP, as before.

// sameProcess maps the loopback addresses this process's Nodes listen on
// to them.
var sameProcess struct {
	mu    sync.Mutex // guards nodes
	nodes map[netip.AddrPort]localListener
}

type localListener struct {
	n   *Node
	ctx context.Context // Serve's
}

// registerLocal makes the node reachable in memory at ln's address if it
// is a loopback one; the returned function undoes it.
func (n *Node) registerLocal(ctx context.Context, ln net.Listener) func() {
	ap, ok := loopbackAddr(ln.Addr().String())
	if !ok || n.NoInProcess {
		return func() {}
	}
	sameProcess.mu.Lock()
	defer sameProcess.mu.Unlock()
	if sameProcess.nodes == nil {
		sameProcess.nodes = map[netip.AddrPort]localListener{}
	}
	sameProcess.nodes[ap] = localListener{n: n, ctx: ctx}
	return func() {
		sameProcess.mu.Lock()
		if sameProcess.nodes[ap].n == n {
			delete(sameProcess.nodes, ap)
		}
		sameProcess.mu.Unlock()
	}
}

func loopbackAddr(s string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// localAddrOf is the loopback address n listens on, if any ("" if none).
func localAddrOf(n *Node) string {
	sameProcess.mu.Lock()
	defer sameProcess.mu.Unlock()
	for ap, l := range sameProcess.nodes {
		if l.n == n {
			return ap.String()
		}
	}
	return ""
}

// dialLocal connects to peerID in memory if a Node of this process
// listens at addr. ok is false when none does (dial over the network).
func (n *Node) dialLocal(addr, peerID string) (ok bool, err error) {
	if n.NoInProcess {
		return false, nil
	}
	ap, isLoop := loopbackAddr(addr)
	if !isLoop {
		return false, nil
	}
	sameProcess.mu.Lock()
	l, found := sameProcess.nodes[ap]
	sameProcess.mu.Unlock()
	if !found || l.n == n {
		return false, nil
	}
	t := l.n
	if t.ID() != peerID {
		n.log.Warn("refused a peer connection: it presented another key", "address", addr, "expected", peerID)
		return true, fmt.Errorf("dial %s: %w", addr, ErrWrongPeer)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return false, nil // shutting down: the network dial fails as it would
	}
	t.wg.Add(1) // t.Close waits for the connection to be added (or refused)
	t.mu.Unlock()
	defer t.wg.Done()
	from := localAddrOf(n)
	if from == "" {
		from = "127.0.0.1:0"
	}
	fromAP, _ := netip.ParseAddrPort(from)
	p1, p2 := net.Pipe()
	// Addresses as over loopback TCP: what handlers see in RemoteAddr (an
	// observed-address answer, a log line) stays an address.
	mine := &addrConn{Conn: p1, local: net.TCPAddrFromAddrPort(fromAP), remote: net.TCPAddrFromAddrPort(ap)}
	theirs := &addrConn{Conn: p2, local: mine.remote, remote: mine.local}
	// yamux.Server and Client only start their loops; neither reads first.
	ss, err := yamux.Server(theirs, t.yamuxConfig(n.ID()))
	if err != nil {
		mine.Close()
		theirs.Close()
		return true, err
	}
	cs, err := yamux.Client(mine, n.yamuxConfig(peerID))
	if err != nil {
		ss.Close()
		mine.Close()
		return true, err
	}
	now := time.Now()
	t.add(l.ctx, &conn{sess: ss, peer: n.ID(), initiator: n.ID(), since: now, remote: from})
	n.add(context.Background(), &conn{sess: cs, peer: peerID, initiator: n.ID(), since: now, remote: ap.String()})
	return true, nil
}

// addrConn is one end of an in-memory pipe with loopback addresses.
type addrConn struct {
	net.Conn
	local, remote net.Addr
}

func (c *addrConn) LocalAddr() net.Addr  { return c.local }
func (c *addrConn) RemoteAddr() net.Addr { return c.remote }
