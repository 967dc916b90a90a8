package fullnode

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/relay"
	"github.com/lafssync/lafssync/node/transport"
)

// Relaying (docs/relay.md): a public storage node serves as a relay unless
// [relay] enabled = false; every node dials "relay:NODEID" hints through
// the relay named; a node that is outbound-only holds reservations on up
// to two relays it is connected to and announces them.

// maxReservations is how many relays a NATted node reserves on.
const maxReservations = 2

// relayState is this node's relaying: the server it runs, if any, and the
// relays holding its reservations.
type relayState struct {
	mu       sync.Mutex // guards all below
	srv      *relay.Server
	h        http.Handler      // srv's handler (serveRelay)
	ended    bool              // the run ended: no relay server starts any more
	reserved []string          // relays holding a reservation now, sorted
	latest   introducer.Signed // the announcement naming them
	changed  bool              // latest is set
}

// relayServes says whether this node runs a relay (in the mode it runs
// in now: a reload may have changed it, reach_reload_live.go).
func (n *Node) relayServes() bool {
	r, err := config.LoadRelay(n.Dir)
	return err == nil && r.Serves(n.Config.StorageEnabled, n.reachMode() == nat.ModeOutboundOnly)
}

// reservedRelays are the relays to announce.
func (n *Node) reservedRelays() []string {
	n.relay.mu.Lock()
	defer n.relay.mu.Unlock()
	return slices.Clone(n.relay.reserved)
}

// ownAnnouncement is the newest announcement: first, and
// after each change in reservations.
func (n *Node) ownAnnouncement(first introducer.Signed) introducer.Signed {
	n.relay.mu.Lock()
	defer n.relay.mu.Unlock()
	if n.relay.changed {
		return n.relay.latest
	}
	return first
}

// RelayServer is the relay this node runs (nil if none).
func (n *Node) RelayServer() *relay.Server {
	n.relay.mu.Lock()
	defer n.relay.mu.Unlock()
	return n.relay.srv
}

// relayHints are the dial addresses of a node's announced relays, tried
// after its own addresses. At most four, never this node itself.
func relayHints(self string, a introducer.Announcement) []string {
	var out []string
	for _, r := range a.Relays {
		if len(out) == 4 {
			break
		}
		if r != self && len(r) == 55 {
			out = append(out, transport.RelayPrefix+r)
		}
	}
	return out
}

// relayAddrs are where a relay listens, from its announcement.
func (n *Node) relayAddrs(id string) []string {
	if n.Sub == nil {
		return nil
	}
	k, ok := n.Sub.Nodes()[id]
	if !ok || k.Ann.Reachability == introducer.OutboundOnly {
		return nil
	}
	return k.Ann.Addresses
}

// announced says whether id is a node of this grid: heard of from an
// introducer (or announced to this node, if it is one).
func (n *Node) announced(id string) bool {
	if n.Sub != nil {
		if _, ok := n.Sub.Nodes()[id]; ok {
			return true
		}
	}
	if n.Intro != nil {
		for _, s := range n.Intro.Nodes() {
			if s.ID == id {
				return true
			}
		}
	}
	return false
}

// startRelay starts relaying once the introducer client exists: the relay
// server (the peer handler's /relay/ serves the one running now), the
// relay dialer, the reservations of an outbound-only node, and the switch
// to direct connections when they become possible.
func (n *Node) startRelay(ctx context.Context, wg *sync.WaitGroup, peerMux *http.ServeMux) error {
	n.T.SetRelayDialer((&relay.Dialer{T: n.T, Addrs: n.relayAddrs, Log: n.log}).Dial)
	rc, err := config.LoadRelay(n.Dir)
	if err != nil {
		return err
	}
	peerMux.Handle("/relay/", http.HandlerFunc(n.serveRelay))
	if rc.Serves(n.Config.StorageEnabled, n.Config.OutboundOnly) {
		n.startRelayServer(rc)
	}
	wg.Go(func() { <-ctx.Done(); n.stopRelayServer(true) })
	if n.Sub != nil {
		// Also in public mode: a reload may make the node outbound-only
		// (reach_reload_live.go); until then it reserves nowhere.
		wg.Go(func() { n.keepReservations(ctx) })
		wg.Go(func() { n.preferDirect(ctx) })
	}
	return nil
}

// serveRelay serves the relay this node runs now; without one it answers
// 404, as a node that never ran one.
func (n *Node) serveRelay(w http.ResponseWriter, r *http.Request) {
	n.relay.mu.Lock()
	h := n.relay.h
	n.relay.mu.Unlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h.ServeHTTP(w, r)
}

// startRelayServer starts relaying with the limits of rc, unless a relay
// runs already or the run ended: at the start of a run, or when a reload
// makes the node serve one (reach_reload_live.go).
func (n *Node) startRelayServer(rc config.Relay) {
	n.relay.mu.Lock()
	defer n.relay.mu.Unlock()
	if n.relay.srv != nil || n.relay.ended {
		return
	}
	srv := relay.NewServer(relay.MembersFunc(n.announced), relay.Limits{
		MaxReservations: rc.Reservations, MaxCircuits: rc.Circuits, MaxCircuitsPerPeer: rc.CircuitsPerPeer,
		Rate: rc.Rate, MaxDuration: rc.MaxDuration, MaxBytes: rc.MaxBytes,
	}, n.log.With("role", "relay"))
	srv.EnableRendezvous() // circuits on sockets of their own to tub.port
	n.relay.srv, n.relay.h = srv, srv.Handler()
	n.T.SetRendezvous(srv.ServeRendezvous)
	lim := srv.Limits()
	n.log.Info("relaying for the grid's nodes", "reservations", lim.MaxReservations, "circuits", lim.MaxCircuits,
		"circuits_per_peer", lim.MaxCircuitsPerPeer, "rate_per_circuit", lim.Rate, "max_duration", lim.MaxDuration)
}

// stopRelayServer stops the relay, if one runs: its reservations and the
// circuits it carries end (the nodes' own connections to this one stay).
// final: the run ends, and no relay starts after.
func (n *Node) stopRelayServer(final bool) {
	n.relay.mu.Lock()
	srv := n.relay.srv
	n.relay.srv, n.relay.h = nil, nil
	n.relay.ended = n.relay.ended || final
	if srv != nil {
		n.T.SetRendezvous(nil)
	}
	n.relay.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Close()
	if !final {
		n.log.Info("relay stopped: this node no longer relays for the grid's nodes")
	}
}

// relayCandidates are announced public relays this node is directly
// connected to, by ID.
func (n *Node) relayCandidates() []string {
	direct := map[string]bool{}
	for _, p := range n.T.Peers() {
		if p.Via == "" {
			direct[p.ID] = true
		}
	}
	var out []string
	for id, k := range n.Sub.Nodes() {
		if k.Ann.Relay && k.Ann.Reachability != introducer.OutboundOnly && direct[id] && id != n.T.ID() {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// reservationBackoff spaces the attempts at a relay that dropped or
// refused a reservation (it may not have heard of this node yet).
var reservationBackoff = transport.Backoff{Min: time.Second, Max: 5 * time.Minute}

// keepReservations holds reservations on up to two relays and announces
// them while the node announces no address, gives them up when it
// announces one, until ctx ends.
func (n *Node) keepReservations(ctx context.Context) {
	type event struct {
		relay string
		up    bool
		err   error
	}
	events := make(chan event, 2*maxReservations)
	active := map[string]context.CancelFunc{} // reserving or reserved: ends its Reserver
	dropped := map[string]bool{}              // ended here: no back-off when it returns
	up := map[string]bool{}
	failures := map[string]int{}
	retry := map[string]time.Time{} // no attempt at a relay before
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		next := time.Now().Add(time.Minute) // candidates may have come
		if !n.outboundOnly() && len(active) > len(dropped) {
			// Others can dial the node now (a check confirmed an
			// address, or a reload changed [node] reachability): the
			// relays are not needed. Connections made through them stay.
			for id, stop := range active {
				if !dropped[id] {
					stop()
					dropped[id] = true
					delete(up, id)
				}
			}
			n.log.Info("relay reservations given up: the node announces an address")
			n.announceRelays(ctx, up)
		}
		for _, id := range n.reservationCandidates() { // reach.go: none while the node is reachable
			if len(active) >= maxReservations {
				break
			}
			if _, ok := active[id]; ok {
				continue
			}
			if at := retry[id]; time.Now().Before(at) {
				if at.Before(next) {
					next = at
				}
				continue
			}
			rctx, stop := context.WithCancel(ctx)
			active[id] = stop
			r := &relay.Reserver{T: n.T, Relay: id, Log: n.log, Addrs: func() []string { return n.relayAddrs(id) },
				OnReserved: func() { events <- event{relay: id, up: true} }}
			wg.Go(func() { events <- event{relay: id, err: r.Run(rctx)} })
		}
		changed := n.T.Changed()
		wake := time.NewTimer(time.Until(next))
		var e event
		var got bool
		select {
		case <-ctx.Done():
		case <-changed:
		case <-n.ReachChanged():
		case <-n.Broker.Changed(): // a relay announced or gone
		case <-wake.C:
		case e = <-events:
			got = true
		}
		wake.Stop()
		if ctx.Err() != nil {
			return
		}
		if got && dropped[e.relay] {
			if !e.up { // its Reserver has returned
				active[e.relay]()
				delete(active, e.relay)
				delete(dropped, e.relay)
			}
		} else if got {
			if e.up {
				up[e.relay] = true
				delete(failures, e.relay)
				n.log.Info("reachable through a relay", "relay", e.relay)
			} else {
				active[e.relay]()
				delete(active, e.relay)
				retry[e.relay] = time.Now().Add(reservationBackoff.Wait(failures[e.relay]))
				failures[e.relay]++
				if up[e.relay] {
					n.log.Info("relay reservation ended", "relay", e.relay, "err", e.err)
				} else {
					n.log.Debug("relay reservation refused", "relay", e.relay, "err", e.err)
				}
				delete(up, e.relay)
			}
			n.announceRelays(ctx, up)
		}
	}
}

// announceRelays republishes this node's announcement when the relays
// holding its reservations changed.
func (n *Node) announceRelays(ctx context.Context, up map[string]bool) {
	list := make([]string, 0, len(up))
	for id := range up {
		list = append(list, id)
	}
	sort.Strings(list)
	n.relay.mu.Lock()
	same := slices.Equal(list, n.relay.reserved)
	n.relay.reserved = list
	n.relay.mu.Unlock()
	if same {
		return
	}
	n.republish(ctx) // reach.go
}

// directRetry is how often relayed peers with addresses are dialed
// directly.
var directRetry = 2 * time.Minute

// preferDirect dials relayed peers that announce addresses directly, now
// and then: a direct connection replaces the relayed one (the transport
// keeps the direct one of two).
func (n *Node) preferDirect(ctx context.Context) {
	t := time.NewTicker(directRetry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		known := n.Sub.Nodes()
		for _, p := range n.T.Peers() {
			k, ok := known[p.ID]
			if p.Via == "" || !ok || k.Ann.Reachability == introducer.OutboundOnly {
				continue
			}
			for _, a := range k.Ann.Addresses {
				dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := n.T.Dial(dctx, a, p.ID)
				cancel()
				if err == nil {
					n.log.Info("relayed peer now connected directly", "peer", p.ID, "relay", p.Via, "address", a)
					break
				}
			}
		}
	}
}
