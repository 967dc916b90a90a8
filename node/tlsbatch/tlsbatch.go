// Package tlsbatch makes TLS connections that send a large write in one
// socket write instead of one per record. crypto/tls writes each record
// (at most 16 KiB of data) with a syscall of its own, so a 512 KiB share
// upload or a 1 MiB yamux frame would otherwise be 32 or 64 writes; on
// loopback and LANs those syscalls are a fifth of the CPU a transfer costs.
package tlsbatch

import (
	"crypto/tls"
	"net"
	"sync"
)

// flushAt bounds what a batch holds before it is written.
const flushAt = 256 << 10

// raw sits under the TLS connection and gathers records while a batch
// is open.
type raw struct {
	net.Conn
	mu       sync.Mutex // guards batching, buf
	batching bool
	buf      []byte
}

func (b *raw) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.batching {
		return b.Conn.Write(p)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= flushAt {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (b *raw) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

func (b *raw) begin() {
	b.mu.Lock()
	b.batching = true
	b.mu.Unlock()
}

func (b *raw) end() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	err := b.flushLocked()
	if cap(b.buf) > 2*flushAt {
		b.buf = nil
	}
	return err
}

// Conn is a TLS connection whose large writes are batched. TLS is the
// underlying connection (for its ConnectionState and handshake).
type Conn struct {
	*tls.Conn
	raw *raw
}

// Client wraps c as the client side of a TLS connection.
func Client(c net.Conn, config *tls.Config) *Conn {
	r := &raw{Conn: c}
	return &Conn{Conn: tls.Client(r, config), raw: r}
}

// Server wraps c as the server side of a TLS connection.
func Server(c net.Conn, config *tls.Config) *Conn {
	r := &raw{Conn: c}
	return &Conn{Conn: tls.Server(r, config), raw: r}
}

// TLS is the underlying *tls.Conn.
func (c *Conn) TLS() *tls.Conn { return c.Conn }

// Write sends p; more than one record's worth goes out in as few socket
// writes as possible.
func (c *Conn) Write(p []byte) (int, error) {
	if len(p) <= 16<<10 {
		return c.Conn.Write(p) // one record anyway
	}
	c.raw.begin()
	n, err := c.Conn.Write(p)
	if ferr := c.raw.end(); err == nil {
		err = ferr
	}
	return n, err
}
