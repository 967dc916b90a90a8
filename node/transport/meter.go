package transport

import (
	"net"
	"net/netip"
	"sync/atomic"
)

// BytesSent is how many bytes this node has written to its peers over the
// network since it started: every direct and relayed peer connection,
// TLS records included, but not connections to a loopback address (a
// local grid's traffic never crosses the uplink). It counts what the node
// handed to the kernel, which runs ahead of the wire by at most the
// sockets' send buffers. node/nat's uplink estimate is made from it.
func (n *Node) BytesSent() uint64 { return n.sent.Load() }

// metered counts what is written to c in total, unless c's remote end is
// a loopback address.
func metered(c net.Conn, total *atomic.Uint64) net.Conn {
	if isLoopback(c.RemoteAddr()) {
		return c
	}
	return &meteredConn{Conn: c, total: total}
}

func isLoopback(a net.Addr) bool {
	if a == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

type meteredConn struct {
	net.Conn
	total *atomic.Uint64
}

func (c *meteredConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.total.Add(uint64(n))
	return n, err
}
