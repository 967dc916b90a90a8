package transport

import (
	"encoding/binary"
	"net"
)

// coalescer sends a yamux data frame's 12-byte header in the same write
// (and so the same TLS record) as the body that follows it, instead of a
// record and a syscall of its own. yamux writes only from its send loop,
// one goroutine, and always writes a data header with a length straight
// before its body; every other frame passes through at once.
type coalescer struct {
	net.Conn
	hdr  [yamuxHeaderSize]byte
	held bool
	buf  []byte
}

const yamuxHeaderSize = 12

func (c *coalescer) Write(p []byte) (int, error) {
	if c.held {
		c.held = false
		c.buf = append(append(c.buf[:0], c.hdr[:]...), p...)
		_, err := c.Conn.Write(c.buf)
		if cap(c.buf) > 4<<20 {
			c.buf = nil // do not keep a huge buffer after a rare huge frame
		}
		return len(p), err
	}
	// version 0, type 0 (data), length > 0: its body comes next.
	if len(p) == yamuxHeaderSize && p[0] == 0 && p[1] == 0 && binary.BigEndian.Uint32(p[8:]) > 0 {
		copy(c.hdr[:], p)
		c.held = true
		return len(p), nil
	}
	return c.Conn.Write(p)
}
