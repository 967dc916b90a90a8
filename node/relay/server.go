package relay

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
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
	// MaxDuration and MaxBytes end a circuit (both directions together
	// for MaxBytes). The two nodes' transport then redials.
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
	pending  map[string]*pendingConn // by token
	circuits int
	perPeer  map[string]int
	live     map[*circuit]struct{}
	closed   bool
	stats    Stats
	wg       sync.WaitGroup // hijacked streams' handlers
	// tap, if set (tests), sees every circuit's bytes (circuit.tap).
	tap func(from, to string, toTarget bool, p []byte)
}

// Stats count what the relay did since it started.
type Stats struct {
	Reservations int   `json:"reservations"`  // held now
	Circuits     int   `json:"circuits"`      // open or pending now
	Relayed      int   `json:"circuits_made"` // spliced since start
	Refused      int   `json:"refused"`       // requests refused since start
	Bytes        int64 `json:"bytes"`         // relayed by finished circuits
}

type reservation struct {
	peer string
	c    net.Conn
	wmu  sync.Mutex // one signal written at a time
}

type pendingConn struct {
	from, to string
	res      *reservation
	ch       chan net.Conn // the accept stream, at most one
}

// NewServer makes a relay for members with limits lim.
func NewServer(members Members, lim Limits, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{members: members, lim: lim.withDefaults(), log: log,
		res: map[string]*reservation{}, pending: map[string]*pendingConn{}, perPeer: map[string]int{}, live: map[*circuit]struct{}{}}
}

// Limits are the limits in force.
func (s *Server) Limits() Limits { return s.lim }

// Stats reports the relay's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Reservations, st.Circuits = len(s.res), s.circuits
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
// connection, asking for an upgrade.
func (s *Server) caller(w http.ResponseWriter, r *http.Request) (string, bool) {
	peer := transport.PeerID(r.Context())
	switch {
	case peer == "":
		s.refuse(w, r, http.StatusForbidden, "the relay serves only nodes over the transport")
	case transport.Via(r.Context()) != "":
		s.refuse(w, r, http.StatusForbidden, "the relay is not used over a relayed connection")
	case !strings.EqualFold(r.Header.Get("Upgrade"), Protocol):
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
	peer, ok := s.caller(w, r)
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
// accepts through its reservation.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	from, ok := s.caller(w, r)
	if !ok {
		return
	}
	to := r.URL.Query().Get("peer")
	if !validID(to) || to == from {
		s.refuse(w, r, http.StatusBadRequest, "want ?peer=NODEID of another node")
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
	s.circuits++
	s.perPeer[from]++
	s.perPeer[to]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, token)
		s.circuits--
		for _, id := range []string{from, to} {
			if s.perPeer[id]--; s.perPeer[id] <= 0 {
				delete(s.perPeer, id)
			}
		}
		s.mu.Unlock()
	}()

	if err := res.signal(signal{Token: token, From: from}); err != nil {
		s.refuse(w, r, http.StatusBadGateway, "the peer's reservation is gone")
		return
	}
	peerConn, err := s.awaitAccept(r.Context(), token, p)
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
	circ := newCircuit(c, peerConn, from, to)
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
	s.log.Debug("relay circuit open", "from", from, "to", to)
	circ.run(s.lim)
	s.mu.Lock()
	delete(s.live, circ)
	s.stats.Bytes += circ.bytes.Load()
	s.mu.Unlock()
	s.wg.Done()
	s.log.Debug("relay circuit closed", "from", from, "to", to, "bytes", circ.bytes.Load(), "lasted", time.Since(circ.since).Round(time.Millisecond))
}

// awaitAccept waits for the peer's accept stream for token.
func (s *Server) awaitAccept(ctx context.Context, token string, p *pendingConn) (net.Conn, error) {
	t := time.NewTimer(s.lim.AcceptTimeout)
	defer t.Stop()
	select {
	case c := <-p.ch:
		return c, nil
	case <-ctx.Done():
	case <-t.C:
	}
	s.mu.Lock()
	_, waiting := s.pending[token]
	delete(s.pending, token)
	s.mu.Unlock()
	if waiting {
		return nil, fmt.Errorf("the peer did not accept within %s", s.lim.AcceptTimeout)
	}
	return <-p.ch, nil // accept took it just now: it is on its way
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
	if upgraded(c) != nil {
		c.Close()
		return
	}
	s.mu.Lock()
	taken := s.pending[token] != p
	delete(s.pending, token)
	s.mu.Unlock()
	if taken {
		c.Close() // timed out meanwhile
		return
	}
	p.ch <- c // buffered: never blocks
}
