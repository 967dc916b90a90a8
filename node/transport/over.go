package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/lafssync/lafssync/node/tlsbatch"
)

// Relayed connections (docs/relay.md). A relay hands two nodes a byte
// stream between them; each runs its normal handshake over it — the same
// TLS 1.3 with both keys pinned, the same yamux — so the relay carries
// records it cannot read or forge. The connection is then an ordinary peer
// connection, marked with the relay it runs through (PeerState.Via).
//
// Direct beats relayed: of two connections to one peer, both sides keep the
// direct one whoever dialed it (keeper), and the relayed one is retired
// like any duplicate — no new streams, calls in flight finish on it (up to
// 30 s), then it closes. New calls take the direct connection at once.

// RelayPrefix marks a dial address that goes through a relay:
// "relay:NODEID" (Dial, Keep).
const RelayPrefix = "relay:"

// RelayDialer opens a byte stream to peer through the relay node relay
// (node/relay's client asks the relay over this node's connection to it).
type RelayDialer func(ctx context.Context, relay, peer string) (net.Conn, error)

// SetRelayDialer makes Dial accept "relay:NODEID" addresses.
func (n *Node) SetRelayDialer(d RelayDialer) {
	n.mu.Lock()
	n.relay = d
	n.mu.Unlock()
}

// ErrNoRelay means a relay address was dialed on a node without a relay
// dialer.
var ErrNoRelay = errors.New("this node does not dial through relays")

func (n *Node) dialRelay(ctx context.Context, relay, peerID string) error {
	n.mu.Lock()
	d := n.relay
	n.mu.Unlock()
	if d == nil {
		return ErrNoRelay
	}
	if relay == peerID || relay == n.ID() {
		return fmt.Errorf("dial %.16s via relay %.16s: a node cannot relay to itself", peerID, relay)
	}
	raw, err := d(ctx, relay, peerID)
	if err != nil {
		return fmt.Errorf("dial %.16s via relay %.16s: %w", peerID, relay, err)
	}
	if err := n.DialOver(ctx, raw, peerID, relay); err != nil {
		return fmt.Errorf("dial %.16s via relay %.16s: %w", peerID, relay, err)
	}
	return nil
}

// DialOver runs the client side of the transport handshake over raw (a
// byte stream to peerID, such as one a relay spliced) and adds the
// connection as a peer connection through via. peerID's key is pinned as
// in Dial. raw is closed on failure and owned by the connection after.
func (n *Node) DialOver(ctx context.Context, raw net.Conn, peerID, via string) error {
	cfg, err := n.clientConfig(peerID)
	if err != nil {
		raw.Close()
		return err
	}
	raw = metered(raw, &n.sent)
	tc := tlsbatch.Client(raw, cfg)
	if err := handshake(ctx, tc); err != nil {
		if errors.Is(err, ErrWrongPeer) {
			n.log.Warn("refused a relayed peer connection: it presented another key", "via", via, "expected", peerID)
		}
		raw.Close()
		return err
	}
	if tc.ConnectionState().NegotiatedProtocol != ALPN {
		tc.Close()
		return fmt.Errorf("peer does not speak %s", ALPN)
	}
	sess, err := yamux.Client(&coalescer{Conn: tc}, n.yamuxConfig(peerID))
	if err != nil {
		tc.Close()
		return err
	}
	n.add(context.Background(), &conn{sess: sess, peer: peerID, initiator: n.ID(), since: time.Now(), remote: overRemote(raw, via), via: via})
	return nil
}

// ServeOver runs the accepting side of the transport handshake over raw
// and adds the connection as a peer connection through via. The dialer
// must prove peerID's key (a relay names who asked; it cannot stand in
// for them); peerID "" accepts any key. Only our protocol is spoken: no
// plain-HTTPS fallback over a relay. raw is closed on failure.
func (n *Node) ServeOver(ctx context.Context, raw net.Conn, peerID, via string) error {
	cfg := &tls.Config{
		Certificates: []tls.Certificate{n.id.cert},
		ClientAuth:   tls.RequireAnyClientCert,
		NextProtos:   []string{ALPN},
		MinVersion:   tls.VersionTLS13,
	}
	raw = metered(raw, &n.sent)
	tc := tlsbatch.Server(raw, cfg)
	if err := handshake(ctx, tc); err != nil {
		raw.Close()
		return err
	}
	st := tc.ConnectionState()
	peer, err := peerIDOf(st.PeerCertificates)
	if err == nil && st.NegotiatedProtocol != ALPN {
		err = fmt.Errorf("peer does not speak %s", ALPN)
	}
	if err == nil && peerID != "" && peer != peerID {
		n.log.Warn("refused a relayed peer connection: it presented another key", "via", via, "expected", peerID)
		err = ErrWrongPeer
	}
	if err != nil {
		tc.Close()
		return err
	}
	sess, err := yamux.Server(&coalescer{Conn: tc}, n.yamuxConfig(peer))
	if err != nil {
		tc.Close()
		return err
	}
	n.add(context.Background(), &conn{sess: sess, peer: peer, initiator: peer, since: time.Now(), remote: overRemote(raw, via), via: via})
	return nil
}

func handshake(ctx context.Context, tc *tlsbatch.Conn) error {
	hctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return tc.HandshakeContext(hctx)
}

// overRemote is a connection's remote address as Peers shows it: the
// relay it runs through, or (via "": a direct connection made by Punch)
// the peer's address.
func overRemote(raw net.Conn, via string) string {
	if via == "" {
		return raw.RemoteAddr().String()
	}
	return RelayPrefix + via
}

// preferDirect orders a direct and a relayed connection to one peer: both
// sides see which is which, so both keep the direct one.
func preferDirect(a, b *conn) (keep, drop *conn) {
	if a.via == "" {
		return a, b
	}
	return b, a
}

// RelayMagic opens a connection to a relay's rendezvous: it is not TLS;
// the token line that follows names the circuit it joins (node/relay).
const RelayMagic = "LAFSRELAY/1 "

// SetRendezvous hands accepted connections that open with RelayMagic to
// h, the magic read. h owns the connection; closing it frees its place
// under MaxConns. Without a rendezvous such connections are closed.
func (n *Node) SetRendezvous(h func(net.Conn)) {
	n.mu.Lock()
	n.meet = h
	n.mu.Unlock()
}

// sniff reads an accepted connection's first byte: a TLS record (0x16)
// goes on to the handshake with the byte given back; a rendezvous goes to
// its handler. Anything else is closed (the handshake would fail anyway).
func (n *Node) sniff(raw net.Conn) (net.Conn, bool) {
	var b [len(RelayMagic)]byte
	raw.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.ReadFull(raw, b[:1]); err != nil {
		raw.Close()
		return nil, false
	}
	if b[0] == 0x16 {
		raw.SetReadDeadline(time.Time{})
		return &firstByte{Conn: raw, b: b[0]}, true
	}
	n.mu.Lock()
	meet := n.meet
	n.mu.Unlock()
	if meet == nil || b[0] != RelayMagic[0] {
		raw.Close()
		return nil, false
	}
	if _, err := io.ReadFull(raw, b[1:]); err != nil || string(b[:]) != RelayMagic {
		raw.Close()
		return nil, false
	}
	raw.SetReadDeadline(time.Time{})
	meet(raw)
	return nil, false
}

// firstByte gives back the byte sniff read.
type firstByte struct {
	net.Conn
	b    byte
	done bool
}

func (c *firstByte) Read(p []byte) (int, error) {
	if c.done || len(p) == 0 {
		return c.Conn.Read(p)
	}
	c.done = true
	p[0] = c.b
	return 1, nil
}

// NetConn is the connection under the place it holds under MaxConns (a
// relay splices the sockets themselves).
func (c *releaseConn) NetConn() net.Conn { return c.Conn }

type viaKey struct{}

func withVia(ctx context.Context, via string) context.Context {
	if via == "" {
		return ctx
	}
	return context.WithValue(ctx, viaKey{}, via)
}

// Via is the relay a request's connection runs through ("" when the
// connection is direct). Set on requests served over the transport.
func Via(ctx context.Context) string { s, _ := ctx.Value(viaKey{}).(string); return s }
