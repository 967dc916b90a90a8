package fullnode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/transport"
)

// Direct-connection upgrade (DCUtR-style): two nodes connected through a
// relay try to make a direct connection by TCP simultaneous open
// (transport.Punch), coordinated over the relayed connection, so that
// their traffic stops crossing the relay (its rate and byte limits, its
// uplink). The node with the smaller ID starts:
//
//  1. A reserves a local port and POSTs punchConnect with its addresses
//     (the public address its peers observe, its own interface
//     addresses; each with the reserved port, which a port-preserving NAT
//     keeps). B reserves a port and answers with its own.
//  2. A measures that round trip, POSTs punchSync, and starts dialing half
//     a round trip later; B starts dialing when the sync comes, so both
//     SYNs leave at about the same moment.
//  3. Both dial every address of the other from their reserved port (A
//     then speaks TLS as the client, B as the server). The direct
//     connection replaces the relayed one; calls in flight finish on it.
//
// A failed attempt is tried again after punchRetry, doubling up to
// punchRetryMax. docs/relay.md has what it cannot do (symmetric NATs,
// CGNAT that changes ports).
const (
	punchConnect = "/punch/v1/connect"
	punchSync    = "/punch/v1/sync"
	// punchWindow bounds one attempt, and how long B keeps a reserved
	// port waiting for the sync.
	punchWindow = 10 * time.Second
	// punchMaxPending bounds B's attempts, waiting for their sync or
	// under way, for all peers together.
	punchMaxPending = 8
	// punchMaxAddrs bounds the addresses a side offers and takes.
	punchMaxAddrs = 8
	punchRetry    = 5 * time.Second
	// punchEvery is the least time between two attempts B makes for one
	// peer: a peer asking again and again cannot make this node send SYNs
	// to addresses of its choosing faster than that.
	punchEvery    = punchRetry
	punchRetryMax = 30 * time.Minute
	// punchScan is how often relayed peers are looked at besides when the
	// connections change.
	punchScan = 30 * time.Second
)

// punchState is the node's hole punching: B's reserved ports waiting for
// a sync, and A's next attempt per peer.
type punchState struct {
	mu      sync.Mutex
	pending map[string]*pendingPunch // by peer (B's side)
	running int                      // B's attempts under way
	runs    sync.WaitGroup           // B's attempts under way, waited for at shutdown
	closed  bool                     // shutting down: no new attempt starts
	served  map[string]time.Time     // by peer: B's last attempt's start
	retry   map[string]punchBackoff  // by peer (A's side)
}

type pendingPunch struct {
	sock    *transport.PunchSocket
	remotes []netip.AddrPort
	timer   *time.Timer
}

type punchBackoff struct {
	next  time.Time
	delay time.Duration
}

// punchMsg is the body of punchConnect and of its answer.
type punchMsg struct {
	Addrs []string `json:"addrs"`
}

// punchCandidates are this node's addresses for a punch from port: the
// public addresses peers observe, then its own interface addresses (a
// peer on the same network), IPv4 only, at most punchMaxAddrs.
func (n *Node) punchCandidates(port int) []string {
	var ips []netip.Addr
	for _, o := range n.Reach().Observed {
		if a := o.Address.Addr().Unmap(); o.Address.IsValid() && a.Is4() && !slices.Contains(ips, a) {
			ips = append(ips, a)
		}
	}
	own, _ := nat.InterfaceAddrs()
	for _, a := range own {
		if a = a.Unmap(); a.Is4() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !slices.Contains(ips, a) {
			ips = append(ips, a)
		}
	}
	out := []string{}
	for _, a := range ips[:min(len(ips), punchMaxAddrs)] {
		out = append(out, netip.AddrPortFrom(a, uint16(port)).String())
	}
	return out
}

// punchRemotes checks the addresses a peer offered: at most
// punchMaxAddrs, each an IPv4 address and port a node could have and this
// node could reach: a global unicast address, or a private or CGNAT one on
// one of this node's own networks (a peer on the same LAN; any other
// private address would only send SYNs into this node's LAN for the
// peer). No loopback, link-local (the cloud metadata address among them),
// multicast, broadcast, reserved or unspecified address, no port 0.
// Duplicates are dropped.
func punchRemotes(addrs []string, own []netip.Prefix) ([]netip.AddrPort, error) {
	if len(addrs) == 0 || len(addrs) > punchMaxAddrs {
		return nil, fmt.Errorf("%d addresses, want 1 to %d", len(addrs), punchMaxAddrs)
	}
	var out []netip.AddrPort
	for _, s := range addrs {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return nil, fmt.Errorf("address %.60q: %w", s, err)
		}
		a := ap.Addr().Unmap()
		if !a.Is4() || !a.IsGlobalUnicast() || a.IsLinkLocalUnicast() || reserved4.Contains(a) || thisNet4.Contains(a) || ap.Port() == 0 {
			return nil, fmt.Errorf("address %s cannot be a node's", ap)
		}
		if (a.IsPrivate() || cgnat4.Contains(a)) && !slices.ContainsFunc(own, func(p netip.Prefix) bool { return p.Contains(a) }) {
			continue // on a network this node is not on: unreachable, and not to be probed
		}
		if ap = netip.AddrPortFrom(a, ap.Port()); !slices.Contains(out, ap) {
			out = append(out, ap)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("none of the addresses is one this node can reach")
	}
	return out, nil
}

var (
	reserved4 = netip.MustParsePrefix("240.0.0.0/4") // and 255.255.255.255
	thisNet4  = netip.MustParsePrefix("0.0.0.0/8")
	cgnat4    = netip.MustParsePrefix("100.64.0.0/10")
)

// ownPrefixes are the IPv4 networks of this computer's interfaces.
func ownPrefixes() []netip.Prefix {
	ps, _ := nat.InterfacePrefixes()
	return slices.DeleteFunc(ps, func(p netip.Prefix) bool { return !p.Addr().Is4() })
}

// relayedTo says whether the connection in use to peer runs through a
// relay.
func (n *Node) relayedTo(peer string) bool {
	for _, p := range n.T.Peers() {
		if p.ID == peer {
			return p.Via != ""
		}
	}
	return false
}

// punchHandler serves B's side: punchConnect reserves a port and answers
// with B's addresses; punchSync starts B's dials. Only a peer whose
// connection is relayed may ask (the caller is authenticated by the
// transport), one pending attempt per peer, punchMaxPending in all.
func (n *Node) punchHandler(ctx context.Context) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+punchConnect, func(w http.ResponseWriter, r *http.Request) {
		peer := transport.PeerID(r.Context())
		if peer == "" || !n.relayedTo(peer) {
			http.Error(w, "hole punching is for a peer connected through a relay", http.StatusConflict)
			return
		}
		var m punchMsg
		if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&m); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		remotes, err := punchRemotes(m.Addrs, ownPrefixes())
		if err != nil {
			http.Error(w, "bad addresses: "+err.Error(), http.StatusBadRequest)
			return
		}
		n.punch.mu.Lock()
		if last, ok := n.punch.served[peer]; ok && time.Since(last) < punchEvery {
			n.punch.mu.Unlock()
			http.Error(w, "a hole punch with this peer was tried moments ago; try later", http.StatusTooManyRequests)
			return
		}
		if old := n.punch.pending[peer]; old != nil {
			old.timer.Stop()
			old.sock.Close()
			delete(n.punch.pending, peer)
		}
		if n.punch.closed {
			n.punch.mu.Unlock()
			http.Error(w, "this node is shutting down", http.StatusServiceUnavailable)
			return
		}
		if len(n.punch.pending)+n.punch.running >= punchMaxPending {
			n.punch.mu.Unlock()
			http.Error(w, "too many hole punches under way; try later", http.StatusServiceUnavailable)
			return
		}
		sock, err := transport.ListenPunch()
		if err != nil {
			n.punch.mu.Unlock()
			code := http.StatusServiceUnavailable
			if errors.Is(err, transport.ErrPunchUnsupported) {
				code = http.StatusNotImplemented
			}
			http.Error(w, "could not reserve a port: "+err.Error(), code)
			return
		}
		if n.punch.served == nil {
			n.punch.served = map[string]time.Time{}
			n.punch.pending = map[string]*pendingPunch{}
		}
		for id, at := range n.punch.served { // only the recent ones matter
			if time.Since(at) >= punchEvery {
				delete(n.punch.served, id)
			}
		}
		n.punch.served[peer] = time.Now()
		p := &pendingPunch{sock: sock, remotes: remotes}
		n.punch.pending[peer] = p
		p.timer = time.AfterFunc(punchWindow, func() { n.takePending(peer, p, true) })
		n.punch.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(punchMsg{Addrs: n.punchCandidates(sock.Port)})
	})
	mux.HandleFunc("POST "+punchSync, func(w http.ResponseWriter, r *http.Request) {
		peer := transport.PeerID(r.Context())
		n.punch.mu.Lock()
		p := n.punch.pending[peer]
		n.punch.mu.Unlock()
		if p == nil || !n.takePending(peer, p, false) {
			http.Error(w, "no hole punch is waiting for this peer (it timed out?)", http.StatusConflict)
			return
		}
		go func() {
			defer func() {
				n.punch.mu.Lock()
				n.punch.running--
				n.punch.mu.Unlock()
				n.punch.runs.Done()
			}()
			pctx, cancel := context.WithTimeout(ctx, punchWindow)
			defer cancel()
			if err := n.T.Punch(pctx, p.sock, p.remotes, peer, false); err != nil {
				n.log.Info("could not connect directly to a relayed peer (hole punch, its side)", "peer", peer, "err", err)
				return
			}
			n.log.Info("relayed peer now connected directly (hole punch)", "peer", peer)
		}()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// takePending removes p, peer's pending attempt, if it is still the one
// pending. For the sync (byTimer false) it reports whether the attempt
// may run, counting it as running; the timer's call (nobody synced in
// time), or a sync that comes as the timer fires, releases its port.
func (n *Node) takePending(peer string, p *pendingPunch, byTimer bool) bool {
	n.punch.mu.Lock()
	defer n.punch.mu.Unlock()
	if n.punch.pending[peer] != p {
		return false
	}
	delete(n.punch.pending, peer)
	if byTimer || !p.timer.Stop() || n.punch.closed {
		p.sock.Close()
		return false
	}
	n.punch.running++
	n.punch.runs.Add(1)
	return true
}

// stopPunch ends B's side at shutdown: the ports waiting for a sync are
// released, no attempt starts, and those under way (their context is
// done) are waited for.
func (n *Node) stopPunch() {
	n.punch.mu.Lock()
	n.punch.closed = true
	for peer, p := range n.punch.pending {
		p.timer.Stop()
		p.sock.Close()
		delete(n.punch.pending, peer)
	}
	n.punch.mu.Unlock()
	n.punch.runs.Wait()
}

// runPunch is A's side: it tries to punch a direct connection to every
// relayed peer with a larger ID than this node's, one at a time, when the
// connections change and every punchScan, with backoff after failures.
func (n *Node) runPunch(ctx context.Context) {
	defer n.stopPunch()
	scan := time.NewTicker(punchScan)
	defer scan.Stop()
	for {
		changed, reach := n.T.Changed(), n.ReachChanged()
		// Until a peer has said which address it sees, this node does not
		// know its public one: an attempt now could only work on a shared
		// network. The first verdict comes with the observations.
		observed := slices.ContainsFunc(n.Reach().Observed, func(o nat.Observation) bool { return o.Address.IsValid() })
		relayed := map[string]bool{}
		for _, p := range n.T.Peers() {
			if p.Via != "" {
				relayed[p.ID] = true
			}
		}
		n.punchForget(relayed)
		for _, p := range n.T.Peers() {
			if !observed || p.Via == "" || p.ID <= n.T.ID() || !n.punchDue(p.ID) {
				continue
			}
			err := n.punchOnce(ctx, p.ID)
			if ctx.Err() != nil {
				return
			}
			n.punchDone(p.ID, err)
		}
		wake := time.NewTimer(n.punchNextDue())
		select {
		case <-ctx.Done():
			wake.Stop()
			return
		case <-changed:
		case <-reach:
		case <-scan.C:
		case <-wake.C:
		}
		wake.Stop()
	}
}

// punchNextDue is how long until the earliest retry waiting, punchScan
// if none is.
func (n *Node) punchNextDue() time.Duration {
	n.punch.mu.Lock()
	defer n.punch.mu.Unlock()
	d := punchScan
	for _, b := range n.punch.retry {
		if wait := time.Until(b.next); wait > 0 {
			d = min(d, wait+10*time.Millisecond)
		}
	}
	return d
}

// punchForget drops the backoff of peers no longer relayed (gone, or
// direct some other way): a retry that is due for a peer that is not
// there would wake runPunch at once, again and again.
func (n *Node) punchForget(relayed map[string]bool) {
	n.punch.mu.Lock()
	defer n.punch.mu.Unlock()
	for id := range n.punch.retry {
		if !relayed[id] {
			delete(n.punch.retry, id)
		}
	}
}

func (n *Node) punchDue(peer string) bool {
	n.punch.mu.Lock()
	defer n.punch.mu.Unlock()
	return !time.Now().Before(n.punch.retry[peer].next)
}

// punchDone records an attempt's end: after a failure the next waits
// punchRetry, doubling up to punchRetryMax.
func (n *Node) punchDone(peer string, err error) {
	n.punch.mu.Lock()
	defer n.punch.mu.Unlock()
	if n.punch.retry == nil {
		n.punch.retry = map[string]punchBackoff{}
	}
	if err == nil {
		delete(n.punch.retry, peer)
		n.log.Info("relayed peer now connected directly (hole punch)", "peer", peer)
		return
	}
	b := n.punch.retry[peer]
	b.delay = min(max(2*b.delay, punchRetry), punchRetryMax)
	b.next = time.Now().Add(b.delay)
	n.punch.retry[peer] = b
	n.log.Info("could not connect directly to a relayed peer (hole punch); the connection stays relayed", "peer", peer, "err", err, "next_try_in", b.delay)
}

// punchOnce is one attempt from A's side.
func (n *Node) punchOnce(ctx context.Context, peer string) error {
	ctx, cancel := context.WithTimeout(ctx, punchWindow)
	defer cancel()
	sock, err := transport.ListenPunch()
	if err != nil {
		return err
	}
	body, _ := json.Marshal(punchMsg{Addrs: n.punchCandidates(sock.Port)})
	hc := n.T.HTTPClient(peer)
	t0 := time.Now()
	var theirs punchMsg
	err = punchPost(ctx, hc, punchConnect, body, &theirs)
	rtt := time.Since(t0)
	var remotes []netip.AddrPort
	if err == nil {
		remotes, err = punchRemotes(theirs.Addrs, ownPrefixes())
	}
	if err != nil {
		sock.Close()
		return fmt.Errorf("hole punch: %w", err)
	}
	sync := make(chan error, 1)
	go func() { sync <- punchPost(ctx, hc, punchSync, nil, nil) }()
	if !sleepCtx(ctx, rtt/2) {
		sock.Close()
		return ctx.Err()
	}
	if err := n.T.Punch(ctx, sock, remotes, peer, true); err != nil {
		if serr := <-sync; serr != nil {
			return fmt.Errorf("%w (and the sync: %v)", err, serr)
		}
		return err
	}
	return nil
}

// punchPost POSTs body to the peer's path and decodes a JSON answer into
// out (unless nil).
func punchPost(ctx context.Context, hc *http.Client, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, "POST", "http://peer"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s: %s", path, resp.Status, bytes.TrimSpace(msg))
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(out)
}
