package relay

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/node/transport"
)

// Members answers whether a node is announced on the grid (the node's
// introducer client's view); only members may use the relay.
type Members interface {
	Announced(id string) bool
}

// MembersFunc makes a function a Members.
type MembersFunc func(id string) bool

// Announced calls f.
func (f MembersFunc) Announced(id string) bool { return f(id) }

// Limits bound what the relay's users can make it hold. Zero fields take
// DefaultLimits' values, except Rate, MaxDuration and MaxBytes, where a
// negative value means no limit.
type Limits struct {
	// MaxReservations bounds reservations held at once. A node holds at
	// most one: a new one replaces its old one.
	MaxReservations int
	// MaxCircuits bounds circuits (spliced or still waiting for the
	// peer to accept) at once; MaxCircuitsPerPeer bounds those one node
	// is an end of, as requester or as target.
	MaxCircuits, MaxCircuitsPerPeer int
	// Rate is each circuit's bandwidth, in bytes a second each way, with
	// bursts of up to Burst bytes.
	Rate, Burst int64
	// MaxDuration and MaxBytes end a circuit (MaxBytes: once either
	// direction carried that many). The two nodes' transport then redials.
	MaxDuration time.Duration
	MaxBytes    int64
	// AcceptTimeout is how long a requester waits for the peer to accept.
	AcceptTimeout time.Duration
}

// DefaultLimits are a public storage node's, where relaying is on unless
// turned off: enough for a home grid's NATted nodes (a few dozen, each
// with a few peers), far from exhausting a small server — at most
// 64 circuits × 2 copy buffers of 128 KiB, and 8 MiB/s (67 Mbit/s) each
// way per circuit.
func DefaultLimits() Limits {
	return Limits{MaxReservations: 128, MaxCircuits: 64, MaxCircuitsPerPeer: 8,
		Rate: 8 << 20, Burst: 1 << 20, MaxDuration: 24 * time.Hour, MaxBytes: 64 << 30, AcceptTimeout: 10 * time.Second}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxReservations <= 0 {
		l.MaxReservations = d.MaxReservations
	}
	if l.MaxCircuits <= 0 {
		l.MaxCircuits = d.MaxCircuits
	}
	if l.MaxCircuitsPerPeer <= 0 {
		l.MaxCircuitsPerPeer = d.MaxCircuitsPerPeer
	}
	if l.AcceptTimeout <= 0 {
		l.AcceptTimeout = d.AcceptTimeout
	}
	unlimited := func(v, def int64) int64 {
		switch {
		case v < 0:
			return 0
		case v == 0:
			return def
		}
		return v
	}
	l.Rate = unlimited(l.Rate, d.Rate)
	if l.Rate > 0 && l.Burst <= 0 {
		l.Burst = min(d.Burst, max(l.Rate, 64<<10))
	}
	l.MaxBytes = unlimited(l.MaxBytes, d.MaxBytes)
	l.MaxDuration = time.Duration(unlimited(int64(l.MaxDuration), int64(d.MaxDuration)))
	return l
}

// Server is a relay. Mount Handler under /relay/ in the transport's peer
// handler.
type Server struct {
	members Members
	lim     Limits
	log     *slog.Logger

	mu       sync.Mutex // guards everything below
	res      map[string]*reservation
	pending  map[string]*pendingConn // by the target's token
	joining  map[string]*pendingConn // tcp mode: by the requester's token
	circuits int
	perPeer  map[string]int
	live     map[*circuit]struct{}
	closed   bool
	stats    Stats
	// rendezvous says ServeRendezvous gets the relay port's rendezvous
	// connections (EnableRendezvous), so tcp mode is offered.
	rendezvous atomic.Bool
	wg         sync.WaitGroup // hijacked streams' handlers
	// tap, if set (tests), sees every circuit's bytes (circuit.tap).
	tap func(from, to string, toTarget bool, p []byte)
}

// Stats count what the relay did since it started.
type Stats struct {
	Reservations int   `json:"reservations"`  // held now
	Circuits     int   `json:"circuits"`      // open or pending now
	Relayed      int   `json:"circuits_made"` // spliced since start
	Refused      int   `json:"refused"`       // requests refused since start
	Bytes        int64 `json:"bytes"`         // relayed, both directions, open circuits included
}

type reservation struct {
	peer string
	c    net.Conn
	wmu  sync.Mutex // one signal written at a time
}

type pendingConn struct {
	from, to string
	res      *reservation
	ch       chan net.Conn // the target's end, at most one
	fromCh   chan net.Conn // tcp mode: the requester's end
}

// NewServer makes a relay for members with limits lim.
func NewServer(members Members, lim Limits, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{members: members, lim: lim.withDefaults(), log: log,
		res: map[string]*reservation{}, pending: map[string]*pendingConn{}, joining: map[string]*pendingConn{}, perPeer: map[string]int{}, live: map[*circuit]struct{}{}}
}

// EnableRendezvous offers tcp mode: the caller routes the relay port's
// rendezvous connections to ServeRendezvous (transport.SetRendezvous).
func (s *Server) EnableRendezvous() { s.rendezvous.Store(true) }

// Limits are the limits in force.
func (s *Server) Limits() Limits { return s.lim }

// Stats reports the relay's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Reservations, st.Circuits = len(s.res), s.circuits
	for c := range s.live {
		st.Bytes += c.bytes.Load()
	}
	return st
}

// Handler serves the relay's API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ReservePath, s.reserve)
	mux.HandleFunc("GET "+ConnectPath, s.connect)
	mux.HandleFunc("GET "+AcceptPath, s.accept)
	return mux
}

// Close ends every reservation and circuit and waits for their handlers.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for _, r := range s.res {
		r.c.Close()
	}
	for c := range s.live {
		c.close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code int, reason string) {
	s.mu.Lock()
	s.stats.Refused++
	s.mu.Unlock()
	s.log.Debug("relay request refused", "peer", transport.PeerID(r.Context()), "path", r.URL.Path, "status", code, "reason", reason)
	http.Error(w, reason, code)
}

// caller checks who may use the relay: a grid member over a direct
// connection, asking for an upgrade if upgrade.
func (s *Server) caller(w http.ResponseWriter, r *http.Request, upgrade bool) (string, bool) {
	peer := transport.PeerID(r.Context())
	switch {
	case peer == "":
		s.refuse(w, r, http.StatusForbidden, "the relay serves only nodes over the transport")
	case transport.Via(r.Context()) != "":
		s.refuse(w, r, http.StatusForbidden, "the relay is not used over a relayed connection")
	case upgrade && !strings.EqualFold(r.Header.Get("Upgrade"), Protocol):
		s.refuse(w, r, http.StatusUpgradeRequired, "want Upgrade: "+Protocol)
	case !s.members.Announced(peer):
		s.refuse(w, r, http.StatusForbidden, "this node is not announced on the grid")
	default:
		return peer, true
	}
	return "", false
}

func hijack(w http.ResponseWriter) (net.Conn, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, fmt.Errorf("connection cannot be taken over")
	}
	c, brw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	return withBuffered(c, brw.Reader), nil
}

// reserve holds a reservation for the caller while its stream is open.
func (s *Server) reserve(w http.ResponseWriter, r *http.Request) {
	peer, ok := s.caller(w, r, true)
	if !ok {
		return
	}
	s.mu.Lock()
	old := s.res[peer]
	full := old == nil && len(s.res) >= s.lim.MaxReservations
	closed := s.closed
	s.mu.Unlock()
	if closed {
		s.refuse(w, r, http.StatusServiceUnavailable, "the relay is shutting down")
		return
	}
	if full {
		s.refuse(w, r, http.StatusTooManyRequests, fmt.Sprintf("the relay holds its limit of %d reservations", s.lim.MaxReservations))
		return
	}
	c, err := hijack(w)
	if err != nil {
		return
	}
	res := &reservation{peer: peer, c: c}
	s.mu.Lock()
	old = s.res[peer]
	if s.closed || (old == nil && len(s.res) >= s.lim.MaxReservations) {
		s.mu.Unlock()
		c.Close() // lost a race with Close or another node
		return
	}
	s.res[peer] = res
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	if old != nil {
		old.c.Close() // a new reservation replaces the old one
	}
	defer func() {
		s.mu.Lock()
		if s.res[peer] == res {
			delete(s.res, peer)
		}
		s.mu.Unlock()
		c.Close()
		s.log.Debug("relay reservation ended", "peer", peer)
	}()
	if upgraded(c) != nil {
		return
	}
	s.log.Debug("relay reservation held", "peer", peer)
	// The holder sends nothing: the reservation lasts until its stream
	// closes (or it sends a byte).
	var b [1]byte
	c.Read(b[:])
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base32.Encode(b)
}

// connect splices the caller to the peer it names, once the peer
// accepts through its reservation. With ?mode=tcp the relay answers at
// once with a token and the caller joins the circuit with a connection of
// its own to the relay's port (ServeRendezvous); otherwise the caller's
// stream, upgraded, is its end.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	tcp := r.URL.Query().Get("mode") == "tcp"
	from, ok := s.caller(w, r, !tcp)
	if !ok {
		return
	}
	to := r.URL.Query().Get("peer")
	if !validID(to) || to == from {
		s.refuse(w, r, http.StatusBadRequest, "want ?peer=NODEID of another node")
		return
	}
	if tcp && !s.rendezvous.Load() {
		s.refuse(w, r, http.StatusNotImplemented, "this relay splices streams only")
		return
	}
	token := newToken()
	s.mu.Lock()
	res := s.res[to]
	var why string
	code := http.StatusTooManyRequests
	switch {
	case s.closed:
		why, code = "the relay is shutting down", http.StatusServiceUnavailable
	case res == nil:
		why, code = "the peer holds no reservation on this relay", http.StatusNotFound
	case s.circuits >= s.lim.MaxCircuits:
		why = fmt.Sprintf("the relay carries its limit of %d circuits", s.lim.MaxCircuits)
	case s.perPeer[from] >= s.lim.MaxCircuitsPerPeer:
		why = fmt.Sprintf("this node has its limit of %d circuits on the relay", s.lim.MaxCircuitsPerPeer)
	case s.perPeer[to] >= s.lim.MaxCircuitsPerPeer:
		why = fmt.Sprintf("the peer has its limit of %d circuits on the relay", s.lim.MaxCircuitsPerPeer)
	}
	if why != "" {
		s.mu.Unlock()
		s.refuse(w, r, code, why)
		return
	}
	p := &pendingConn{from: from, to: to, res: res, ch: make(chan net.Conn, 1)}
	s.pending[token] = p
	var join string
	if tcp {
		join = newToken()
		p.fromCh = make(chan net.Conn, 1)
		s.joining[join] = p
	}
	s.circuits++
	s.perPeer[from]++
	s.perPeer[to]++
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		delete(s.pending, token)
		delete(s.joining, join)
		s.circuits--
		for _, id := range []string{from, to} {
			if s.perPeer[id]--; s.perPeer[id] <= 0 {
				delete(s.perPeer, id)
			}
		}
		s.mu.Unlock()
	}
	if err := res.signal(signal{Token: token, From: from, TCP: tcp}); err != nil {
		release()
		s.refuse(w, r, http.StatusBadGateway, "the peer's reservation is gone")
		return
	}
	if tcp {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			release()
			s.refuse(w, r, http.StatusServiceUnavailable, "the relay is shutting down")
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer release()
			s.meet(token, join, p)
		}()
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, join+"\n")
		return
	}
	defer release()
	peerConn, err := s.await(r.Context(), p.ch, token)
	if err != nil {
		s.refuse(w, r, http.StatusGatewayTimeout, err.Error())
		return
	}
	c, err := hijack(w)
	if err != nil {
		peerConn.Close()
		return
	}
	if upgraded(c) != nil {
		c.Close()
		peerConn.Close()
		return
	}
	s.splice(c, peerConn, from, to)
}

// meet waits for both ends of a tcp-mode circuit, then splices them.
func (s *Server) meet(token, join string, p *pendingConn) {
	ctx, cancel := context.WithTimeout(context.Background(), s.lim.AcceptTimeout)
	defer cancel()
	var fromConn, toConn net.Conn
	var err error
	if fromConn, err = s.await(ctx, p.fromCh, join); err == nil {
		toConn, err = s.await(ctx, p.ch, token)
	}
	if err != nil {
		s.mu.Lock()
		s.stats.Refused++
		delete(s.pending, token) // nothing more can arrive…
		delete(s.joining, join)
		s.mu.Unlock()
		for _, ch := range []chan net.Conn{p.ch, p.fromCh} {
			select {
			case c := <-ch: // …and what did is closed
				c.Close()
			default:
			}
		}
		if fromConn != nil {
			fromConn.Close()
		}
		s.log.Debug("relay circuit not made", "from", p.from, "to", p.to, "err", err)
		return
	}
	s.splice(fromConn, toConn, p.from, p.to)
}

// splice runs a circuit between the requester's end a and the target's b.
func (s *Server) splice(a, b net.Conn, from, to string) {
	circ := newCircuit(a, b, from, to)
	if s.tap != nil {
		circ.tap = func(toB bool, p []byte) { s.tap(from, to, toB, p) }
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		circ.close()
		return
	}
	s.live[circ] = struct{}{}
	s.wg.Add(1)
	s.stats.Relayed++
	s.mu.Unlock()
	defer s.wg.Done()
	s.log.Debug("relay circuit open", "from", from, "to", to)
	circ.run(s.lim)
	s.mu.Lock()
	delete(s.live, circ)
	s.stats.Bytes += circ.bytes.Load()
	s.mu.Unlock()
	s.log.Debug("relay circuit closed", "from", from, "to", to, "bytes", circ.bytes.Load(), "lasted", time.Since(circ.since).Round(time.Millisecond))
}

// await waits for the end that token admits, up to AcceptTimeout or ctx.
// Ends are handed over under s.mu (the channel has room for one), so once
// the token is withdrawn nothing more can arrive.
func (s *Server) await(ctx context.Context, ch chan net.Conn, token string) (net.Conn, error) {
	t := time.NewTimer(s.lim.AcceptTimeout)
	defer t.Stop()
	select {
	case c := <-ch:
		return c, nil
	case <-ctx.Done():
	case <-t.C:
	}
	s.mu.Lock()
	delete(s.pending, token)
	delete(s.joining, token)
	s.mu.Unlock()
	select {
	case c := <-ch: // handed over just before
		return c, nil
	default:
		return nil, fmt.Errorf("the other end did not arrive within %s", s.lim.AcceptTimeout)
	}
}

// signal tells the reservation's holder of a request.
func (res *reservation) signal(sig signal) error {
	res.wmu.Lock()
	defer res.wmu.Unlock()
	res.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := res.c.Write(sig.encode())
	res.c.SetWriteDeadline(time.Time{})
	if err != nil {
		res.c.Close() // a holder that does not read loses its reservation
	}
	return err
}

// accept hands the caller's stream to the request its token names; only
// the node the request is for may take it.
func (s *Server) accept(w http.ResponseWriter, r *http.Request) {
	peer := transport.PeerID(r.Context())
	token := r.URL.Query().Get("token")
	s.mu.Lock()
	p := s.pending[token]
	s.mu.Unlock()
	if p == nil || peer == "" || p.to != peer || transport.Via(r.Context()) != "" {
		s.refuse(w, r, http.StatusNotFound, "no such request for this node (it may have timed out)")
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), Protocol) {
		s.refuse(w, r, http.StatusUpgradeRequired, "want Upgrade: "+Protocol)
		return
	}
	c, err := hijack(w)
	if err != nil {
		return
	}
	if upgraded(c) != nil || !s.handOver(token, c, peer) {
		c.Close()
	}
}

// handOver gives c to the circuit end token admits: the target's
// (pending; over the transport only the target itself, peer, may take
// it) or, for a rendezvous (peer ""), the requester's (joining). It
// reports false when the token is unknown or withdrawn.
func (s *Server) handOver(token string, c net.Conn, peer string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pending[token]; p != nil && (peer == "" || p.to == peer) {
		delete(s.pending, token)
		p.ch <- c // room for one: never blocks
		return true
	}
	if p := s.joining[token]; p != nil && peer == "" {
		delete(s.joining, token)
		p.fromCh <- c
		return true
	}
	return false
}

// ServeRendezvous takes a connection to the relay's port that opened with
// transport.RelayMagic (transport.SetRendezvous): the rest of its first
// line is a token, which makes it one end of a tcp-mode circuit. The
// token is the only credential (128 random bits, single use, valid for
// AcceptTimeout, given over the authenticated transport to the one node
// it is for); what follows is the two nodes' own TLS.
func (s *Server) ServeRendezvous(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var line [tokenLen + 1]byte
	k := 0
	var err error
	for k < len(line) && err == nil { // byte by byte: what follows the line is TLS
		_, err = c.Read(line[k : k+1])
		if err == nil && line[k] == '\n' {
			break
		}
		k++
	}
	c.SetReadDeadline(time.Time{})
	if err != nil || k != tokenLen || !validToken(string(line[:tokenLen])) || !s.handOver(string(line[:tokenLen]), c, "") {
		s.mu.Lock()
		s.stats.Refused++
		s.mu.Unlock()
		c.Close()
	}
}
