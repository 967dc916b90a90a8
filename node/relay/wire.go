package relay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Paths of the relay's API, under the transport's peer handler.
const (
	ReservePath = "/relay/v1/reserve"
	ConnectPath = "/relay/v1/connect"
	AcceptPath  = "/relay/v1/accept"
)

// Protocol is the Upgrade token of every relay exchange.
const Protocol = "lafssync-relay/1"

// maxLine bounds a signal line ("connect " + token + " " + node ID).
const maxLine = 256

// signal is one incoming request on a reservation: the requester's ID
// and the token the target's end must present; TCP asks for that end on
// a connection of its own to the relay's port (in-band also works).
type signal struct {
	Token string
	From  string
	TCP   bool
}

// encode writes "connect TOKEN FROMID[ tcp]\n".
func (s signal) encode() []byte {
	line := "connect " + s.Token + " " + s.From
	if s.TCP {
		line += " tcp"
	}
	return []byte(line + "\n")
}

// parseSignal reads one signal line (without its newline).
func parseSignal(line string) (signal, error) {
	f := strings.Split(line, " ")
	if len(f) < 3 || len(f) > 4 || f[0] != "connect" || !validToken(f[1]) || !validID(f[2]) || len(f) == 4 && f[3] != "tcp" {
		return signal{}, fmt.Errorf("malformed relay signal %.64q", line)
	}
	return signal{Token: f[1], From: f[2], TCP: len(f) == 4}, nil
}

// readSignal reads the next signal from r, at most maxLine bytes.
func readSignal(r *bufio.Reader) (signal, error) {
	var b []byte
	for {
		frag, err := r.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > maxLine {
			return signal{}, errors.New("relay signal too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return signal{}, err
		}
		return parseSignal(strings.TrimSuffix(string(b), "\n"))
	}
}

// validID is a cheap shape check of a node ID ("v0-" + 52 base32
// characters); the transport checks the key itself.
func validID(s string) bool {
	if len(s) != 55 || !strings.HasPrefix(s, "v0-") {
		return false
	}
	for _, c := range s[3:] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// tokenLen is a token's length: 16 random bytes, base32.
const tokenLen = 26

func validToken(s string) bool {
	if len(s) != tokenLen {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// upgraded writes the 101 answer on a hijacked stream.
func upgraded(c net.Conn) error {
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+Protocol+"\r\n\r\n")
	c.SetWriteDeadline(time.Time{})
	return err
}

// bufConn reads what the HTTP server had buffered before the conn.
type bufConn struct {
	net.Conn
	r io.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func withBuffered(c net.Conn, br *bufio.Reader) net.Conn {
	if br == nil || br.Buffered() == 0 {
		return c
	}
	b, _ := br.Peek(br.Buffered())
	return &bufConn{Conn: c, r: io.MultiReader(bytes.NewReader(bytes.Clone(b)), c)}
}

// streamConn makes an upgraded response body a net.Conn for the TLS
// handshake that runs over it. Deadlines are not supported (the
// handshake is bounded by its context, which closes the stream).
type streamConn struct {
	io.ReadWriteCloser
	local, remote addr
	done          func()
}

func (c *streamConn) Close() error {
	err := c.ReadWriteCloser.Close()
	c.done()
	return err
}
func (c *streamConn) LocalAddr() net.Addr              { return c.local }
func (c *streamConn) RemoteAddr() net.Addr             { return c.remote }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

// addr names one end of a relayed stream: "relay:RELAYID".
type addr string

func (a addr) Network() string { return "relay" }
func (a addr) String() string  { return string(a) }
