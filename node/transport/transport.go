// Package transport connects nodes: one mutually authenticated TLS 1.3
// connection per pair of nodes, multiplexed with yamux so that either side
// opens streams (HTTP requests) to the other over whichever connection
// exists. That restores what Tahoe lost when it moved to one TLS identity
// per storage connection: a node behind NAT dials out once, and the public
// node calls back over that same connection.
//
// Identities are Ed25519 keys; a node's ID is "v0-" + base32(public key),
// the same form as Tahoe server IDs. Each side pins the other's key.
//
// Duplicates: when A→B and B→A both come up, both sides keep the one dialed
// by the node with the smaller ID and retire the other — GoAway (no new
// streams), then close once its streams are done — so no call in flight is
// lost. A reconnect from the same dialer replaces the old connection.
//
// The listener also speaks plain HTTPS (ALPN http/1.1) on the same port for
// Tahoe's storage clients, handed to a fallback handler.
package transport

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/node/httplog"
	"github.com/lafssync/lafssync/node/tlsbatch"
)

// ALPN names our multiplexed protocol.
const ALPN = "lafssync-mux/1"

// Identity is a node's key and the TLS certificate made from it.
type Identity struct {
	Key  ed25519.PrivateKey
	cert tls.Certificate
}

// NewIdentity makes the TLS certificate for key (self-signed, long-lived:
// peers pin the key, not the certificate).
func NewIdentity(key ed25519.PrivateKey) (*Identity, error) {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "lafssync node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(100, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return &Identity{Key: key, cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}, nil
}

// ID is the node's ID, "v0-<base32 public key>".
func (id *Identity) ID() string { return IDOf(id.Key.Public().(ed25519.PublicKey)) }

// IDOf is the ID of a public key.
func IDOf(pub ed25519.PublicKey) string { return "v0-" + base32.Encode(pub) }

// keyOfID parses an ID back into its public key.
func keyOfID(id string) (ed25519.PublicKey, error) {
	b, err := base32.DecodeFixed(strings.TrimPrefix(id, "v0-"), ed25519.PublicKeySize)
	if err != nil || !strings.HasPrefix(id, "v0-") {
		return nil, fmt.Errorf("node ID %q is not v0-<52 base32 characters>", id)
	}
	return b, nil
}

// ErrWrongPeer means the peer proved a key other than the expected one.
var ErrWrongPeer = errors.New("peer's key is not the one expected")

func peerIDOf(certs []*x509.Certificate) (string, error) {
	if len(certs) == 0 {
		return "", errors.New("peer presented no certificate")
	}
	pub, ok := certs[0].PublicKey.(ed25519.PublicKey)
	if !ok {
		return "", errors.New("peer certificate is not Ed25519")
	}
	if err := certs[0].CheckSignature(certs[0].SignatureAlgorithm, certs[0].RawTBSCertificate, certs[0].Signature); err != nil {
		return "", fmt.Errorf("peer certificate is not self-signed by its key: %w", err)
	}
	return IDOf(pub), nil
}

type ctxKey struct{}

// PeerID is the ID of the node a request came from (set on requests served
// over the transport).
func PeerID(ctx context.Context) string { s, _ := ctx.Value(ctxKey{}).(string); return s }

// conn is one multiplexed connection to a peer.
type conn struct {
	sess      *yamux.Session
	peer      string
	initiator string // ID of the node that dialed
	since     time.Time
	remote    string
	via       string // the relay it runs through ("" when direct; over.go)
}

// Node owns the connections of one node. It is safe for concurrent use.
type Node struct {
	id       *Identity
	handler  http.Handler // what peers may call
	fallback http.Handler // plain HTTPS (Tahoe GBS clients) on the same port
	log      *slog.Logger
	// MaxStreams bounds concurrent incoming streams per connection.
	MaxStreams int
	// MaxConns bounds the accepted connections open at once (Serve).
	MaxConns int
	// KeepAlive is how often an idle connection is pinged (default 15 s:
	// well inside common NAT mapping timeouts); a peer that has not
	// answered within two more intervals is taken for dead and its
	// connection closed, which makes Keep redial.
	KeepAlive time.Duration
	// FallbackCert, if set, is the certificate plain-HTTPS clients (those
	// that do not offer our ALPN, such as Tahoe's storage client) get, so
	// that their pinned key can differ from the node's transport key.
	FallbackCert *tls.Certificate
	// NoInProcess, set before Serve and Dial, keeps this node's peer
	// connections on the network even to Nodes of the same process
	// (local.go): for tests of the network path.
	NoInProcess bool

	mu      sync.Mutex // guards current, all, closed, changed
	current map[string]*conn
	all     map[*conn]struct{}
	closed  bool
	changed chan struct{} // closed and replaced whenever a connection comes or goes
	pools   map[string]*http.Transport
	relay   RelayDialer    // guarded by mu; over.go
	meet    func(net.Conn) // guarded by mu; over.go
	wg      sync.WaitGroup
	sent    atomic.Uint64 // BytesSent (meter.go)
}

// New makes a node that serves handler to its peers and fallback (may be
// nil) to plain HTTPS clients.
func New(id *Identity, handler, fallback http.Handler, logger *slog.Logger) *Node {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Node{id: id, handler: handler, fallback: fallback, log: logger, MaxStreams: 64, MaxConns: DefaultMaxConns,
		current: map[string]*conn{}, all: map[*conn]struct{}{}, changed: make(chan struct{})}
}

// notifyLocked wakes everyone waiting for a change; n.mu is held.
func (n *Node) notifyLocked() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// Changed returns a channel that is closed at the next connection change.
func (n *Node) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

// ID is this node's ID.
func (n *Node) ID() string { return n.id.ID() }

// yamuxConfig configures a session with peer; yamux's own complaints
// (malformed frames, protocol errors) become warnings naming the peer.
func (n *Node) yamuxConfig(peer string) *yamux.Config {
	c := yamux.DefaultConfig()
	c.LogOutput = nil
	c.Logger = log.New(logWriter{n.log, peer}, "", 0)
	c.EnableKeepAlive = false // ours (keepalive) answers faster than yamux's
	// A 512 KiB share write fits in the window: no stall waiting for
	// window updates (MaxStreams bounds what a peer can make us buffer).
	c.MaxStreamWindowSize = 1 << 20
	// Long enough for a full window on a slow uplink.
	c.ConnectionWriteTimeout = 30 * time.Second
	return c
}

// DefaultMaxConns is MaxConns unless set: far above what a grid's peers
// need, far below a process's file-descriptor limit.
const DefaultMaxConns = 1024

// Serve accepts connections on ln until ctx ends. At most MaxConns
// accepted connections are open at once (peers and plain-HTTPS clients
// together); a further one waits in the kernel's backlog until one closes,
// and unauthenticated ones close within the handshake and header timeouts,
// so a flood of idle connections cannot exhaust file descriptors. A failed
// accept (EMFILE and the like) is retried with back-off, never fatal.
func (n *Node) Serve(ctx context.Context, ln net.Listener) error {
	go func() { <-ctx.Done(); ln.Close() }()
	defer n.registerLocal(ctx, ln)()
	sem := make(chan struct{}, max(1, n.MaxConns))
	var lastWarn time.Time
	warn := func(msg string, args ...any) { // at most one line a second
		if time.Since(lastWarn) >= time.Second {
			lastWarn = time.Now()
			n.log.Warn(msg, args...)
		}
	}
	var delay time.Duration
	for {
		select {
		case sem <- struct{}{}:
		default:
			warn("connection limit reached; new connections wait", "limit", cap(sem))
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
		}
		c, err := ln.Accept()
		if err != nil {
			<-sem
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			warn("accepting a connection failed; retrying", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		delay = 0
		rc := &releaseConn{Conn: c, release: sync.OnceFunc(func() { <-sem })}
		n.wg.Go(func() { n.accept(ctx, rc) })
	}
}

func (n *Node) accept(ctx context.Context, raw net.Conn) {
	// over.go: a relay's rendezvous is not TLS; it gets the socket itself
	// (a relay splices sockets), unmetered.
	raw, ok := n.sniff(raw)
	if !ok {
		return
	}
	if fb, isFB := raw.(*firstByte); isFB {
		fb.Conn = metered(fb.Conn, &n.sent)
	}
	ours := &tls.Config{
		Certificates: []tls.Certificate{n.id.cert},
		ClientAuth:   tls.RequestClientCert,
		NextProtos:   []string{ALPN, ProbeALPN, "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}
	if n.FallbackCert != nil {
		plain := &tls.Config{Certificates: []tls.Certificate{*n.FallbackCert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
		ours.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			if slices.Contains(h.SupportedProtos, ALPN) || slices.Contains(h.SupportedProtos, ProbeALPN) {
				return nil, nil
			}
			return plain, nil
		}
	}
	tc := tlsbatch.Server(raw, ours)
	hctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err := tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		raw.Close()
		return
	}
	st := tc.ConnectionState()
	if st.NegotiatedProtocol == ProbeALPN { // a dial-back check: the handshake was all it wanted (probe.go)
		tc.Close()
		return
	}
	if st.NegotiatedProtocol != ALPN {
		if n.fallback == nil {
			tc.Close()
			return
		}
		srv := &http.Server{Handler: n.fallback, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: httplog.New(n.log, "plain HTTPS")}
		stop := make(chan struct{})
		go func() {
			select {
			case <-ctx.Done():
				srv.Close() // closes the connection, which ends Serve
			case <-stop:
			}
		}()
		srv.Serve(newOneConn(tc))
		close(stop)
		return
	}
	peer, err := peerIDOf(st.PeerCertificates)
	if err != nil || st.Version != tls.VersionTLS13 {
		n.log.Warn("refused a peer connection", "remote", raw.RemoteAddr().String(), "err", err)
		tc.Close()
		return
	}
	sess, err := yamux.Server(&coalescer{Conn: tc}, n.yamuxConfig(peer))
	if err != nil {
		tc.Close()
		return
	}
	n.add(ctx, &conn{sess: sess, peer: peer, initiator: peer, since: time.Now(), remote: raw.RemoteAddr().String()})
}

// Dial connects to a peer at addr whose ID must be peerID. If a
// connection to the peer already exists it returns at once.
func (n *Node) Dial(ctx context.Context, addr, peerID string) error {
	if relay, ok := strings.CutPrefix(addr, RelayPrefix); ok {
		return n.dialRelay(ctx, relay, peerID)
	}
	if ok, err := n.dialLocal(addr, peerID); ok {
		return err
	}
	cfg, err := n.clientConfig(peerID)
	if err != nil {
		return err
	}
	raw, err := (&net.Dialer{Timeout: 15 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	raw = metered(raw, &n.sent)
	tc := tlsbatch.Client(raw, cfg) // large frames leave in few socket writes
	hctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = tc.HandshakeContext(hctx)
	cancel()
	if errors.Is(err, ErrWrongPeer) {
		n.log.Warn("refused a peer connection: it presented another key", "address", addr, "expected", peerID)
	}
	if err != nil {
		raw.Close()
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	if tc.ConnectionState().NegotiatedProtocol != ALPN {
		tc.Close()
		return fmt.Errorf("dial %s: peer does not speak %s", addr, ALPN)
	}
	sess, err := yamux.Client(&coalescer{Conn: tc}, n.yamuxConfig(peerID))
	if err != nil {
		tc.Close()
		return err
	}
	n.add(context.Background(), &conn{sess: sess, peer: peerID, initiator: n.ID(), since: time.Now(), remote: raw.RemoteAddr().String()})
	return nil
}

// clientConfig is the TLS client configuration that pins peerID's key.
func (n *Node) clientConfig(peerID string) (*tls.Config, error) {
	want, err := keyOfID(peerID)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates:          []tls.Certificate{n.id.cert},
		NextProtos:            []string{ALPN},
		MinVersion:            tls.VersionTLS13,
		InsecureSkipVerify:    true, // the peer's key is pinned below
		VerifyPeerCertificate: pinnedPeer(want),
	}, nil
}

// pinnedPeer verifies, in a TLS handshake, that the peer's certificate
// carries the key want (the peer's node ID): the only check there is, as
// node certificates are self-signed.
func pinnedPeer(want ed25519.PublicKey) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return ErrWrongPeer
		}
		c, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return err
		}
		got, err := peerIDOf([]*x509.Certificate{c})
		if err != nil {
			return err
		}
		if got != IDOf(want) {
			return ErrWrongPeer
		}
		return nil
	}
}

// keeper returns the connection both sides keep of two to the same peer.
func (n *Node) keeper(a, b *conn) (keep, drop *conn) {
	if (a.via == "") != (b.via == "") {
		return preferDirect(a, b) // over.go
	}
	if a.initiator == b.initiator {
		return b, a // a reconnect: the newer replaces the older
	}
	winner := min(n.ID(), a.peer)
	if a.initiator == winner {
		return a, b
	}
	return b, a
}

func (n *Node) add(ctx context.Context, c *conn) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		c.sess.Close()
		return
	}
	n.all[c] = struct{}{}
	var drop *conn
	if old := n.current[c.peer]; old != nil {
		keep, d := n.keeper(old, c)
		n.current[c.peer], drop = keep, d
	} else {
		n.current[c.peer] = c
	}
	n.notifyLocked()
	n.mu.Unlock()
	n.log.Debug("peer connection up", "peer", c.peer, "dialed_by", c.initiator)
	n.wg.Go(func() { n.serveStreams(ctx, c) })
	n.wg.Go(func() { n.keepalive(c) })
	if drop != nil {
		n.wg.Go(func() { n.retire(drop) })
	}
}

// keepalive pings c every KeepAlive and closes it when a ping goes
// unanswered for two intervals (the peer vanished without closing: a
// dropped NAT mapping, a sleeping laptop, a pulled cable).
func (n *Node) keepalive(c *conn) {
	every := n.KeepAlive
	if every <= 0 {
		every = 15 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.sess.CloseChan():
			return
		case <-t.C:
		}
		answered := make(chan error, 1)
		go func() { _, err := c.sess.Ping(); answered <- err }()
		select {
		case err := <-answered:
			if err == nil {
				continue
			}
		case <-time.After(2 * every):
		case <-c.sess.CloseChan():
			return
		}
		n.log.Warn("peer stopped answering; closing its connection", "peer", c.peer, "after", 3*every)
		c.sess.Close()
		return
	}
}

// retire stops new streams on a duplicate connection and closes it once
// its streams have finished (at most 30 s).
func (n *Node) retire(c *conn) {
	c.sess.GoAway()
	deadline := time.Now().Add(30 * time.Second)
	for c.sess.NumStreams() > 0 && time.Now().Before(deadline) && !c.sess.IsClosed() {
		n.closeIdle(c.peer) // streams back from a call must not stay pooled
		time.Sleep(20 * time.Millisecond)
	}
	c.sess.Close()
}

// serveStreams answers the peer's requests on c until it closes.
func (n *Node) serveStreams(ctx context.Context, c *conn) {
	peerCtx := withVia(context.WithValue(ctx, ctxKey{}, c.peer), c.via)
	srv := &http.Server{Handler: n.handler, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 90 * time.Second, ErrorLog: httplog.New(n.log.With("peer", c.peer), "peer streams"),
		BaseContext: func(net.Listener) context.Context { return peerCtx }}
	srv.Serve(&limitListener{Listener: c.sess, sem: make(chan struct{}, n.MaxStreams), full: sync.OnceFunc(func() {
		n.log.Warn("peer reached the stream limit; its further streams wait", "peer", c.peer, "limit", n.MaxStreams)
	})})
	c.sess.Close()
	n.mu.Lock()
	delete(n.all, c)
	if n.current[c.peer] == c {
		delete(n.current, c.peer)
	}
	n.notifyLocked()
	n.mu.Unlock()
	n.log.Debug("peer connection closed", "peer", c.peer)
}

// Connections reports how many open connections the node has to peer (1
// once duplicates are settled).
func (n *Node) Connections(peer string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := 0
	for c := range n.all {
		if c.peer == peer && !c.sess.IsClosed() {
			k++
		}
	}
	return k
}

// Current describes the connection in use to peer: who dialed it.
func (n *Node) Current(peer string) (initiator string, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.current[peer]
	if c == nil {
		return "", false
	}
	return c.initiator, true
}

// ErrNoConnection means there is no connection to the peer.
var ErrNoConnection = errors.New("no connection to peer")

// HTTPClient returns a client whose requests go to peer over the current
// connection, whichever side dialed it. Clients of one peer share a pool
// of idle streams (HTTP keep-alive on yamux streams); a connection being
// retired has its idle streams closed, so nothing pins it.
func (n *Node) HTTPClient(peer string) *http.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	tr := n.pools[peer]
	if tr == nil {
		tr = &http.Transport{
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     60 * time.Second,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				for attempt := 0; attempt < 3; attempt++ {
					n.mu.Lock()
					c := n.current[peer]
					n.mu.Unlock()
					if c == nil {
						return nil, fmt.Errorf("%s: %w", peer, ErrNoConnection)
					}
					s, err := c.sess.OpenStream()
					if err == nil {
						return bulkStream{s}, nil
					}
					time.Sleep(20 * time.Millisecond) // retired meanwhile: take the one that won
				}
				return nil, fmt.Errorf("%s: %w", peer, ErrNoConnection)
			},
		}
		if n.pools == nil {
			n.pools = map[string]*http.Transport{}
		}
		n.pools[peer] = tr
	}
	return &http.Client{Transport: tr}
}

// bulkStream is a stream that net/http sends request bodies to in pieces
// of up to bulkPiece bytes (its ReadFrom) instead of io.Copy's 32 KiB: a
// 100 KiB share write is one yamux frame and one socket write instead of
// four, each of which costs a hand-off to the session's send loop, a TLS
// record batch and a syscall.
type bulkStream struct{ *yamux.Stream }

// bulkPiece is tlsbatch's flush size: one piece, one socket write.
const bulkPiece = 256 << 10

// bulkBufs holds the pieces' buffers between bodies (only a body being
// sent holds one).
var bulkBufs = sync.Pool{New: func() any { b := make([]byte, bulkPiece); return &b }}

// ReadFrom sends what each Read of r gives at once (a body that arrives
// slowly is not held back to fill a piece).
func (s bulkStream) ReadFrom(r io.Reader) (int64, error) {
	bp := bulkBufs.Get().(*[]byte)
	defer bulkBufs.Put(bp)
	var total int64
	for {
		n, err := r.Read(*bp)
		if n > 0 {
			w, werr := s.Stream.Write((*bp)[:n])
			total += int64(w)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// closeIdle closes the idle streams pooled for peer.
func (n *Node) closeIdle(peer string) {
	n.mu.Lock()
	tr := n.pools[peer]
	n.mu.Unlock()
	if tr != nil {
		tr.CloseIdleConnections()
	}
}

// Close closes every connection and waits for the node's goroutines.
func (n *Node) Close() {
	n.mu.Lock()
	n.closed = true
	for c := range n.all {
		c.sess.Close()
	}
	n.mu.Unlock()
	n.wg.Wait()
}

// limitListener bounds concurrently served streams (a flood of streams
// waits, it does not exhaust the node).
type limitListener struct {
	net.Listener
	sem  chan struct{}
	full func() // called when the limit is first reached
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	default:
		l.full()
		l.sem <- struct{}{}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &releaseConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem })}, nil
}

type releaseConn struct {
	net.Conn
	release func()
}

func (c *releaseConn) Close() error { c.release(); return c.Conn.Close() }

// oneConn is a listener that yields a single connection, to serve plain
// HTTPS on an accepted TLS connection. Accept then blocks until that
// connection or the listener is closed.
type oneConn struct {
	c        net.Conn
	mu       sync.Mutex // guards given
	given    bool
	finished chan struct{}
	finish   func()
}

func newOneConn(c net.Conn) *oneConn {
	o := &oneConn{c: c, finished: make(chan struct{})}
	o.finish = sync.OnceFunc(func() { close(o.finished) })
	return o
}

func (o *oneConn) Accept() (net.Conn, error) {
	o.mu.Lock()
	if !o.given {
		o.given = true
		o.mu.Unlock()
		return &releaseConn{Conn: o.c, release: o.finish}, nil
	}
	o.mu.Unlock()
	<-o.finished
	return nil, net.ErrClosed
}

func (o *oneConn) Close() error   { o.finish(); return nil }
func (o *oneConn) Addr() net.Addr { return o.c.LocalAddr() }

// logWriter turns yamux's log lines into warnings about a peer.
type logWriter struct {
	log  *slog.Logger
	peer string
}

func (w logWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	// A connection closing, not a misbehaving peer; io.ErrClosedPipe is
	// an in-process session's (local.go) closed net.Pipe.
	for _, benign := range []string{"use of closed network connection", "connection reset by peer", "broken pipe", "EOF", "session shutdown", "i/o timeout", io.ErrClosedPipe.Error()} {
		if strings.Contains(line, benign) {
			level = slog.LevelDebug
		}
	}
	w.log.Log(context.Background(), level, "peer connection error", "peer", w.peer, "detail", line)
	return len(p), nil
}
