package relay

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/transport"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// tnode is a transport node for the tests; addr is "" for one that
// cannot be dialed (it does not listen: behind NAT).
type tnode struct {
	*transport.Node
	name string
	addr string
	mux  *http.ServeMux
}

// newNode starts a node whose peers may call /whoami (the caller's ID)
// and /echo (the request body back). listen says whether it accepts
// connections.
func newNode(t testing.TB, name string, listen bool) *tnode {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	id, err := transport.NewIdentity(key)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s sees %s via %q", name, transport.PeerID(r.Context()), transport.Via(r.Context()))
	})
	mux.HandleFunc("/sink", func(w http.ResponseWriter, r *http.Request) {
		k, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, k)
	})
	n := transport.New(id, mux, nil, nil)
	tn := &tnode{Node: n, name: name, mux: mux}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if listen {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tn.addr = ln.Addr().String()
		go func() { n.Serve(ctx, ln); close(done) }()
	} else {
		close(done)
	}
	n.SetRelayDialer((&Dialer{T: n, Addrs: lookup}).Dial)
	if tn.addr != "" {
		book.Store(n.ID(), tn.addr)
	}
	t.Cleanup(func() { cancel(); <-done; n.Close(); book.Delete(n.ID()) })
	return tn
}

// book holds the addresses of the tests' listening nodes, as
// announcements would.
var book sync.Map

func lookup(id string) []string {
	if a, ok := book.Load(id); ok {
		return []string{a.(string)}
	}
	return nil
}

// grid is a set of announced node IDs.
type grid struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (g *grid) Announced(id string) bool { g.mu.Lock(); defer g.mu.Unlock(); return g.ids[id] }
func (g *grid) add(ns ...*tnode) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ids == nil {
		g.ids = map[string]bool{}
	}
	for _, n := range ns {
		g.ids[n.ID()] = true
	}
}

// startRelay makes r a relay for g's members; tcp offers tcp mode.
func startRelay(t testing.TB, r *tnode, g Members, lim Limits, tcp bool) *Server {
	t.Helper()
	s := NewServer(g, lim, nil)
	r.mux.Handle("/relay/", s.Handler())
	if tcp {
		s.EnableRendezvous()
		r.SetRendezvous(s.ServeRendezvous)
	}
	t.Cleanup(s.Close)
	return s
}

// modes runs f with a relay offering tcp mode and with one splicing
// streams only (the Dialer then falls back to in-band).
func modes(t *testing.T, f func(t *testing.T, tcp bool)) {
	t.Run("tcp", func(t *testing.T) { f(t, true) })
	t.Run("in-band", func(t *testing.T) { f(t, false) })
}

func dial(t testing.TB, from, to *tnode) {
	t.Helper()
	if err := from.Dial(context.Background(), to.addr, to.ID()); err != nil {
		t.Fatalf("%s dials %s: %v", from.name, to.name, err)
	}
}

// reserve holds n's reservation on relay until the test ends.
func reserve(t testing.TB, n, relay *tnode) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan struct{})
	done := make(chan error, 1)
	r := &Reserver{T: n.Node, Relay: relay.ID(), Addrs: func() []string { return lookup(relay.ID()) }, OnReserved: func() { close(up) }}
	go func() { done <- r.Run(ctx) }()
	select {
	case <-up:
	case err := <-done:
		cancel()
		t.Fatalf("%s reserves on %s: %v", n.name, relay.name, err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("%s reserves on %s: no answer in 10 s", n.name, relay.name)
	}
	t.Cleanup(func() { cancel(); <-done })
}

func get(t testing.TB, from, to *tnode, path string) string {
	t.Helper()
	resp, err := from.HTTPClient(to.ID()).Get("http://peer" + path)
	if err != nil {
		t.Fatalf("%s calls %s%s: %v", from.name, to.name, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func via(n *tnode, peer string) (string, bool) {
	for _, p := range n.Peers() {
		if p.ID == peer {
			return p.Via, true
		}
	}
	return "", false
}

// threeNodes is the relay R and two nodes, A and B, that cannot be
// dialed; each is connected to R, A holds a reservation on R.
func threeNodes(t *testing.T, lim Limits, tcp bool) (r, a, b *tnode, s *Server, g *grid) {
	r, a, b = newNode(t, "R", true), newNode(t, "A", false), newNode(t, "B", false)
	g = &grid{}
	g.add(r, a, b)
	s = startRelay(t, r, g, lim, tcp)
	dial(t, a, r)
	dial(t, b, r)
	reserve(t, a, r)
	return
}

func TestNATtedNodesConnectThroughRelay(t *testing.T) { modes(t, testNATtedNodesConnect) }

func testNATtedNodesConnect(t *testing.T, tcp bool) {
	r, a, b, s, _ := threeNodes(t, Limits{}, tcp)
	if err := b.Dial(context.Background(), transport.RelayPrefix+r.ID(), a.ID()); err != nil {
		t.Fatal(err)
	}
	// Both directions over the one relayed connection, each side
	// knowing the other by its pinned key and knowing it is relayed.
	if got, want := get(t, b, a, "/whoami"), fmt.Sprintf("A sees %s via %q", b.ID(), r.ID()); got != want {
		t.Errorf("B→A: %q, want %q", got, want)
	}
	if got, want := get(t, a, b, "/whoami"), fmt.Sprintf("B sees %s via %q", a.ID(), r.ID()); got != want {
		t.Errorf("A→B: %q, want %q", got, want)
	}
	if v, _ := via(a, b.ID()); v != r.ID() {
		t.Errorf("A's connection to B: via %q, want R", v)
	}
	if v, _ := via(b, a.ID()); v != r.ID() {
		t.Errorf("B's connection to A: via %q, want R", v)
	}
	// In tcp mode the circuit is the two nodes' own sockets to the relay
	// (its meet goroutine runs it); in-band, a stream of each connection.
	if got := goroutinesIn("relay.(*Server).meet("); (got > 0) != tcp {
		t.Errorf("tcp mode %v, but %d circuits run on sockets of their own", tcp, got)
	}
	if st := s.Stats(); st.Relayed != 1 || st.Circuits != 1 || st.Reservations != 1 {
		t.Errorf("relay stats %+v, want 1 circuit made, 1 open, 1 reservation", st)
	}
}

// The relay forwards TLS records only: what it sees starts with a TLS
// handshake and never contains what the two nodes said.
func TestRelaySeesOnlyTLS(t *testing.T) { modes(t, testRelaySeesOnlyTLS) }

func testRelaySeesOnlyTLS(t *testing.T, tcp bool) {
	r, a, b := newNode(t, "R", true), newNode(t, "A", false), newNode(t, "B", false)
	g := &grid{}
	g.add(r, a, b)
	s := startRelay(t, r, g, Limits{}, tcp)
	var mu sync.Mutex
	seen := map[bool]*bytes.Buffer{true: {}, false: {}}
	s.tap = func(_, _ string, toTarget bool, p []byte) {
		mu.Lock()
		seen[toTarget].Write(p)
		mu.Unlock()
	}
	dial(t, a, r)
	dial(t, b, r)
	reserve(t, a, r)
	if err := b.Dial(context.Background(), transport.RelayPrefix+r.ID(), a.ID()); err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("the plaintext the relay must not see ", 2000)
	resp, err := b.HTTPClient(a.ID()).Post("http://peer/sink", "text/plain", strings.NewReader(secret))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != fmt.Sprint(len(secret)) {
		t.Fatalf("A received %s bytes, want %d", body, len(secret))
	}
	mu.Lock()
	defer mu.Unlock()
	toA, toB := seen[true].Bytes(), seen[false].Bytes()
	if len(toA) < len(secret) {
		t.Fatalf("relay saw %d bytes towards A, fewer than the %d sent", len(toA), len(secret))
	}
	for name, b := range map[string][]byte{"towards A": toA, "towards B": toB} {
		if bytes.Contains(b, []byte("plaintext the relay")) || bytes.Contains(b, []byte("/sink")) {
			t.Errorf("relay saw plaintext %s", name)
		}
		if err := tlsRecords(b); err != nil {
			t.Errorf("bytes %s are not a sequence of TLS records: %v", name, err)
		}
	}
	// B speaks first: a TLS handshake record (ClientHello).
	if toA[0] != 0x16 || toA[5] != 0x01 {
		t.Errorf("first bytes towards A % x, want a TLS handshake record with a ClientHello", toA[:6])
	}
}

// tlsRecords checks that b is whole TLS records: type, version 3.x, length.
func tlsRecords(b []byte) error {
	k := 0
	for len(b) > 0 {
		if len(b) < 5 {
			return fmt.Errorf("record %d: %d bytes left, short of a header", k, len(b))
		}
		typ, major, n := b[0], b[1], int(b[3])<<8|int(b[4])
		if typ < 20 || typ > 23 || major != 3 || n > 16384+256 {
			return fmt.Errorf("record %d: header % x", k, b[:5])
		}
		if k > 2 && typ != 23 {
			return fmt.Errorf("record %d: type %d after the handshake, want application data (23)", k, typ)
		}
		if len(b) < 5+n {
			return fmt.Errorf("record %d: truncated", k)
		}
		b = b[5+n:]
		k++
	}
	return nil
}

// A relay that answers for the peer itself cannot pass for it: the
// requester pins the peer's key.
func TestRelayCannotImpersonatePeer(t *testing.T) {
	r, a, b := newNode(t, "R", true), newNode(t, "A", false), newNode(t, "B", false)
	// R's "relay" splices nothing: it runs the handshake itself.
	r.mux.HandleFunc("GET "+ConnectPath, func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Query().Get("mode") == "tcp" {
			http.Error(w, "no tcp mode", http.StatusNotImplemented)
			return
		}
		c, err := hijack(w)
		if err != nil {
			return
		}
		upgraded(c)
		r.ServeOver(req.Context(), c, "", "")
	})
	dial(t, b, r)
	err := b.Dial(context.Background(), transport.RelayPrefix+r.ID(), a.ID())
	if !errors.Is(err, transport.ErrWrongPeer) {
		t.Fatalf("B dialing A through a lying relay: %v, want ErrWrongPeer", err)
	}
	if b.Connections(a.ID()) != 0 {
		t.Error("B holds a connection it thinks is A's")
	}
}

func TestRelayRefusesNodesNotInGrid(t *testing.T) {
	r, a, b, s, _ := threeNodes(t, Limits{}, true)
	c := newNode(t, "C", false) // connected to R, never announced
	dial(t, c, r)
	var refused *RefusedError
	err := c.Dial(context.Background(), transport.RelayPrefix+r.ID(), a.ID())
	if !errors.As(err, &refused) || refused.Status != http.StatusForbidden {
		t.Errorf("C connecting through R: %v, want 403", err)
	}
	err = (&Reserver{T: c.Node, Relay: r.ID()}).Run(context.Background())
	if !errors.As(err, &refused) || refused.Status != http.StatusForbidden {
		t.Errorf("C reserving on R: %v, want 403", err)
	}
	if a.Connections(c.ID()) != 0 {
		t.Error("C reached A")
	}
	// A member asking for a node with no reservation is told so.
	if _, err := Dial(context.Background(), a.Node, r.ID(), c.ID()); !errors.As(err, &refused) || refused.Status != http.StatusNotFound {
		t.Errorf("A connecting to C (no reservation): %v, want 404", err)
	}
	if st := s.Stats(); st.Relayed != 0 || st.Refused != 3 {
		t.Errorf("relay stats %+v, want nothing relayed and 3 refusals", st)
	}
	_ = b
}

// A flood of requests from a member: the relay holds at most its limits
// and answers the rest at once; its goroutines stay bounded, and it
// serves normally after.
func TestRelayLimitsHoldUnderFlood(t *testing.T) {
	lim := Limits{MaxCircuitsPerPeer: 3, MaxCircuits: 5, MaxReservations: 2, AcceptTimeout: 2 * time.Second}
	r, a, b := newNode(t, "R", true), newNode(t, "A", false), newNode(t, "B", false)
	g := &grid{}
	g.add(r, a, b)
	s := startRelay(t, r, g, lim, true)
	dial(t, a, r)
	dial(t, b, r)
	// A holds a reservation but never accepts: every request waits for
	// the accept timeout, the worst case for the relay.
	hold, err := open(context.Background(), a.Node, r.ID(), ReservePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	go io.Copy(io.Discard, hold)

	base := runtime.NumGoroutine()
	const flood = 200
	var peak, peakHandlers atomic.Int64
	var refused, other atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() { // watch the relay's state while the flood runs
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if c := int64(s.Stats().Circuits); c > peak.Load() {
				peak.Store(c)
			}
			if h := int64(goroutinesIn("relay.(*Server).connect(")); h > peakHandlers.Load() {
				peakHandlers.Store(h)
			}
		}
	}()
	for range flood {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := Dial(ctx, b.Node, r.ID(), a.ID())
			var re *RefusedError
			if errors.As(err, &re) && (re.Status == http.StatusTooManyRequests || re.Status == http.StatusGatewayTimeout) {
				refused.Add(1)
			} else {
				other.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	if peak.Load() > 3 {
		t.Errorf("relay held %d circuits for B at once, limit 3", peak.Load())
	}
	if refused.Load() != flood || other.Load() != 0 {
		t.Errorf("%d requests refused (429 or 504), %d otherwise answered; want all %d refused", refused.Load(), other.Load(), flood)
	}
	// The relay's handlers for B are bounded by the transport's stream
	// limit per connection (64), whatever the flood; once it is over,
	// nothing is left behind but B's pool of idle streams to R (at most
	// 16, each a client read and write loop and R's server loop).
	if peakHandlers.Load() > 64 {
		t.Errorf("%d relay handlers at once for one peer, want ≤ 64", peakHandlers.Load())
	}
	if !testkit.Poll(5*time.Second, func() bool {
		return goroutinesIn("relay.(*Server).connect(") == 0 && runtime.NumGoroutine() <= base+3*16+8
	}) {
		t.Errorf("after the flood: %d relay handlers, goroutines %d (were %d)", goroutinesIn("relay.(*Server).connect("), runtime.NumGoroutine(), base)
	}
	t.Logf("flood of %d: peak %d circuits pending, %d relay handlers, relay refused %d", flood, peak.Load(), peakHandlers.Load(), s.Stats().Refused)

	// Reservations: two at most; a node's new one replaces its old one.
	c, d := newNode(t, "C", false), newNode(t, "D", false)
	g.add(c, d)
	dial(t, c, r)
	dial(t, d, r)
	reserve(t, b, r) // A (raw) and B: full
	var re *RefusedError
	if err := (&Reserver{T: c.Node, Relay: r.ID()}).Run(context.Background()); !errors.As(err, &re) || re.Status != http.StatusTooManyRequests {
		t.Errorf("third reservation: %v, want 429", err)
	}
	reserve(t, b, r) // B again: replaces its own
	if st := s.Stats(); st.Reservations != 2 {
		t.Errorf("%d reservations held, want 2", st.Reservations)
	}
	// And it still relays once A accepts.
	hold.Close()
	reserve(t, a, r)
	if !testkit.Poll(5*time.Second, func() bool { return s.Stats().Reservations == 2 }) {
		t.Fatalf("reservations: %+v", s.Stats())
	}
	if err := b.Dial(context.Background(), transport.RelayPrefix+r.ID(), a.ID()); err != nil {
		t.Fatalf("after the flood: %v", err)
	}
	if got := get(t, b, a, "/whoami"); !strings.HasPrefix(got, "A sees "+b.ID()) {
		t.Errorf("after the flood: %q", got)
	}
}

// When a direct connection comes up, both sides switch to it; a call in
// flight on the relayed one finishes there.
func TestDirectReplacesRelayed(t *testing.T) {
	r, a, b, _, _ := threeNodes(t, Limits{}, true)
	release := make(chan struct{})
	a.mux.HandleFunc("/slow", func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "started;")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "finished via "+transport.Via(req.Context()))
	})
	if err := b.Dial(context.Background(), transport.RelayPrefix+r.ID(), a.ID()); err != nil {
		t.Fatal(err)
	}
	resp, err := b.HTTPClient(a.ID()).Get("http://peer/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, len("started;"))
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}

	// A can now be dialed: B dials it directly (as a node that learns a
	// new address would).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { a.Serve(ctx, ln); close(served) }()
	defer func() { cancel(); <-served }()
	if err := b.Dial(context.Background(), ln.Addr().String(), a.ID()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*tnode{a, b} {
		other := map[*tnode]*tnode{a: b, b: a}[n]
		if !testkit.Poll(5*time.Second, func() bool { v, ok := via(n, other.ID()); return ok && v == "" }) {
			v, ok := via(n, other.ID())
			t.Errorf("%s's connection to %s: via %q (connected %v), want direct", n.name, other.name, v, ok)
		}
	}
	if got, want := get(t, b, a, "/whoami"), fmt.Sprintf("A sees %s via \"\"", b.ID()); got != want {
		t.Errorf("new call: %q, want %q", got, want)
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "finished via "+r.ID() {
		t.Errorf("call in flight: %q, %v; want it finished on the relayed connection", rest, err)
	}
	if !testkit.Poll(10*time.Second, func() bool { return a.Connections(b.ID()) == 1 && b.Connections(a.ID()) == 1 }) {
		t.Errorf("relayed connection not retired: A has %d, B has %d", a.Connections(b.ID()), b.Connections(a.ID()))
	}
}

// goroutinesIn counts the goroutines whose stack has fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	k := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte(fn)) {
			k++
		}
	}
	return k
}

// Sockets to the relay's port that present no live token are closed, and
// a tcp-mode flood holds no more than the circuit limits and leaves no
// sockets behind.
func TestRendezvousRefusesUnknownTokensAndFloods(t *testing.T) {
	lim := Limits{MaxCircuitsPerPeer: 3, AcceptTimeout: time.Second}
	r, a, b, s, _ := threeNodes(t, lim, true)
	start := time.Now()
	for _, pre := range []string{
		transport.RelayMagic + strings.Repeat("a", tokenLen) + "\n", // well formed, unknown
		transport.RelayMagic + "short\n",
		"LAFSRELAY/9 " + strings.Repeat("a", tokenLen) + "\n",
	} {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, pre)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if k, err := c.Read(make([]byte, 1)); k != 0 || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%.20q: the relay kept the socket open (%d bytes, %v)", pre, k, err)
		}
		c.Close()
	}
	t.Logf("bad preambles refused in %s", time.Since(start))
	fds := func() int { // sockets open (the runtime keeps a pool of pipes for splice)
		e, _ := os.ReadDir("/proc/self/fd")
		k := 0
		for _, f := range e {
			if l, _ := os.Readlink("/proc/self/fd/" + f.Name()); strings.HasPrefix(l, "socket:") {
				k++
			}
		}
		return k
	}
	base := fds()
	// A never takes its end: every admitted circuit waits out the
	// accept timeout holding B's socket.
	start = time.Now()
	d := &Dialer{T: b.Node, Addrs: lookup}
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			c, err := d.dialTCP(context.Background(), r.ID(), a.ID(), lookup(r.ID()))
			var re *RefusedError
			switch {
			case err == nil:
				admitted.Add(1)
				c.Read(make([]byte, 1)) // until the relay gives up on it
				c.Close()
			case errors.As(err, &re) && re.Status == http.StatusTooManyRequests:
				refused.Add(1)
			default:
				t.Errorf("dial: %v", err)
			}
		})
	}
	wg.Wait()
	t.Logf("flood over in %s", time.Since(start))
	if admitted.Load() > 3*3 || admitted.Load()+refused.Load() != 100 {
		t.Errorf("%d admitted, %d refused; want at most 3 at a time", admitted.Load(), refused.Load())
	}
	if !testkit.Poll(5*time.Second, func() bool { return s.Stats().Circuits == 0 && fds() <= base }) {
		t.Errorf("after the flood: %d circuits, %d fds (were %d)", s.Stats().Circuits, fds(), base)

	}
	t.Logf("tcp-mode flood of 100: %d admitted, %d refused; fds %d → %d", admitted.Load(), refused.Load(), base, fds())
}
