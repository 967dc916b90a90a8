package transport

import (
	"net"
	"net/netip"
	"sync/atomic"
)

// BytesSent is how many bytes this node has written to its peers over the
// network since it started: every direct peer connection and every relayed
// one that has a socket of its own (a relay's rendezvous port), TLS
// records included. Not counted: connections to a loopback address (a
// local grid's traffic never crosses the uplink), relayed connections
// carried inside the connection to the relay (counted there already), and
// what a relay this node runs forwards for others. It counts what the
// node handed to the kernel, which runs ahead of the wire by at most the
// sockets' send buffers. node/nat's uplink estimate is made from it.
func (n *Node) BytesSent() uint64 { return n.sent.Load() }

// metered counts what is written to c in total, unless c is not a socket
// of its own (a stream inside another connection, which counts it) or its
// remote end is a loopback address.
func metered(c net.Conn, total *atomic.Uint64) net.Conn {
	if TCPSocket(c) == nil || isLoopback(c.RemoteAddr()) {
		return c
	}
	return &meteredConn{Conn: c, total: total}
}

// TCPSocket is the TCP socket under c, through the wrappers that give
// access to it (NetConn: the connection limit's, the meter's), or nil if
// c is not one.
func TCPSocket(c net.Conn) *net.TCPConn {
	for range 6 {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
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

// NetConn is the connection counted.
func (c *meteredConn) NetConn() net.Conn { return c.Conn }
