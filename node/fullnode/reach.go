package fullnode

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/ini.v1"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/portmap"
	"github.com/lafssync/lafssync/node/transport"
)

// Reachability (docs/reachability.md). The node checks how others can
// reach it at start (once a peer is connected), every 30 minutes, when
// this computer's addresses change, and — while nobody could check —
// when its connections change. With [node] reachability = auto (the
// default) the verdict decides what it announces: the addresses a peer's
// dial-back reached, or none (outbound-only) when none was reached. Until
// the first verdict it announces tub.location as written, so the first
// node of a grid, and grids of older nodes, work as before.

// newMapper makes the node's own port mapper when Node.Mapper is not set:
// node/portmap's NATMapper (UPnP-IGD, NAT-PMP).
func newMapper(log *slog.Logger) nat.Mapper {
	return portmap.NewNATMapper(portmap.Options{Logger: log})
}

// Timing of the checks; tests shorten them.
var (
	reachEvery        = 30 * time.Minute
	reachFirstWait    = 20 * time.Second // for a first peer before checking anyway
	reachSettle       = 2 * time.Second  // after the first connection: let the others come up
	reachPoll         = 30 * time.Second // interface addresses
	reachRetryEvery   = 30 * time.Second // when nobody could check, at most this often
	reachAdviceSettle = time.Second      // after a connection change, before the advice is decided again
)

// reachState is the node's latest reachability.
type reachState struct {
	mu          sync.Mutex // guards all below
	report      *nat.Report
	inputs      *nat.Inputs // the facts report was decided from (refreshAdvice)
	announce    []string
	provisional bool
	changed     chan struct{} // closed and replaced at each change
	server      *nat.Server
	mapper      nat.Mapper // Node.Mapper, or the default one (runReach)
}

// reachMode is [node] reachability: as a reload took it, or as the run
// started (reach_reload_live.go).
func (n *Node) reachMode() nat.Mode {
	if m := n.reload.mode.Load(); m != nil {
		return *m
	}
	return modeOf(n.Config)
}

// announcedAddrs is what the node announces now: its reachability and
// addresses.
func (n *Node) announcedAddrs() (string, []string) {
	switch n.reachMode() {
	case nat.ModeOutboundOnly:
		return introducer.OutboundOnly, nil
	case nat.ModePublic:
		return introducer.Public, n.addresses()
	}
	n.reach.mu.Lock()
	defer n.reach.mu.Unlock()
	return n.autoAnnouncedLocked()
}

// autoAnnouncedLocked is what an auto-mode node announces; n.reach.mu is
// held.
func (n *Node) autoAnnouncedLocked() (string, []string) {
	if n.reach.report == nil {
		return introducer.Public, n.addresses() // not checked yet: tub.location
	}
	if len(n.reach.announce) == 0 {
		return introducer.OutboundOnly, nil
	}
	return introducer.Public, slices.Clone(n.reach.announce)
}

// outboundOnly says whether the node announces no address now (it is
// reached only over the connections it opens, or through a relay).
func (n *Node) outboundOnly() bool {
	r, _ := n.announcedAddrs()
	return r == introducer.OutboundOnly
}

// reservationCandidates are the relays to reserve on: relayCandidates
// while the node announces no address, none while others can dial it.
func (n *Node) reservationCandidates() []string {
	if !n.outboundOnly() {
		return nil
	}
	return n.relayCandidates()
}

// Reach is the latest reachability report; before the first check its
// verdict is unknown.
func (n *Node) Reach() nat.Report {
	n.reach.mu.Lock()
	defer n.reach.mu.Unlock()
	if n.reach.report == nil {
		return nat.Report{Verdict: nat.VerdictUnknown, Mode: n.reachMode(), Evidence: []string{"not checked yet"},
			Advice: []nat.Advice{}, Announce: []string{}, Local: []nat.LocalAddress{}, Candidates: []nat.Candidate{}, Observed: []nat.Observation{}}
	}
	return *n.reach.report
}

// ReachChanged returns a channel closed at the next change of the verdict
// or of the announced addresses.
func (n *Node) ReachChanged() <-chan struct{} {
	n.reach.mu.Lock()
	defer n.reach.mu.Unlock()
	if n.reach.changed == nil {
		n.reach.changed = make(chan struct{})
	}
	return n.reach.changed
}

// reachHandler answers peers' reachability requests (the peer mux's
// /reach/).
func (n *Node) reachHandler() http.Handler {
	s := &nat.Server{
		PeerOf: func(r *http.Request) string { return transport.PeerID(r.Context()) },
		RemoteOf: func(r *http.Request) (netip.AddrPort, error) {
			return n.peerRemote(transport.PeerID(r.Context()))
		},
		Probe: n.T.Probe,
	}
	n.reach.mu.Lock()
	n.reach.server = s
	n.reach.mu.Unlock()
	return s.Handler()
}

// errNoOwnAddress: the peer's connection has no address of its own (it
// runs through a relay), so it is never dialed back.
type errNoOwnAddress string

func (e errNoOwnAddress) Error() string { return "connection " + string(e) + " has no direct address" }

// peerRemote is the address of the direct connection to peer.
func (n *Node) peerRemote(peer string) (netip.AddrPort, error) {
	for _, p := range n.T.Peers() {
		if p.ID != peer {
			continue
		}
		a, err := netip.ParseAddrPort(p.Remote)
		if err != nil {
			return netip.AddrPort{}, errNoOwnAddress(p.Remote)
		}
		return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), nil
	}
	return netip.AddrPort{}, transport.ErrNoConnection
}

// directPeers are the peers connected directly now.
func (n *Node) directPeers() []nat.Peer {
	var out []nat.Peer
	for _, p := range n.T.Peers() {
		if _, err := netip.ParseAddrPort(p.Remote); err == nil {
			out = append(out, nat.HTTPPeer{NodeID: p.ID, Client: n.T.HTTPClient(p.ID)})
		}
	}
	return out
}

// reachInputs are the facts the node knows without asking anyone.
func (n *Node) reachInputs() nat.Inputs {
	_, port, _ := net.SplitHostPort(n.Addr())
	p, _ := strconv.Atoi(port)
	in := nat.Inputs{Mode: n.reachMode(), ListenPort: uint16(p), Configured: n.addresses(), Connected: len(n.directPeers()),
		Storage: n.Config.StorageEnabled, K: n.Config.SharesNeeded, N: n.Config.SharesTotal, Happy: n.Config.SharesHappy}
	n.mu.Lock()
	in.Client = n.cl != nil
	n.mu.Unlock()
	if in.Client {
		in.ServersReached, in.ServersKnown = n.serverCounts()
		in.UplinkBps, in.UplinkMeasured = n.uplink.Estimate(time.Now()) // uplink.go
	}
	known := map[string]bool{}
	if n.Sub != nil {
		for _, u := range n.Sub.Introducers {
			known[u.ID] = true
		}
		for id, k := range n.Sub.Nodes() {
			known[id] = true
			if k.Ann.Helper && id != n.T.ID() && n.T.Connections(id) > 0 {
				in.Helpers = append(in.Helpers, id)
			}
			if k.Ann.Relay && k.Ann.Reachability != introducer.OutboundOnly && id != n.T.ID() && n.T.Connections(id) > 0 {
				in.Relays = append(in.Relays, id)
			}
		}
		slices.Sort(in.Helpers) // the one helper.go's auto picks comes first
	}
	for _, s := range n.static {
		known[s.Info().ID] = true
	}
	delete(known, n.T.ID())
	in.Known = len(known)
	if h, err := config.LoadHelper(n.Dir); err == nil {
		in.HelperUse = h.Use
	}
	if f, err := ini.LoadSources(ini.LoadOptions{Loose: true}, filepath.Join(n.Dir, config.File)); err == nil {
		switch strings.ToLower(strings.TrimSpace(f.Section("node").Key("upnp").String())) {
		case "false", "no", "off", "0":
			in.UPnPDisabled = true
		}
	}
	return in
}

// serverCounts are the storage servers the client can use now (direct,
// relayed, or through its helper: what an upload would be offered) and
// the storage servers it knows of, reachable or not.
func (n *Node) serverCounts() (reached, known int) {
	ids := map[string]bool{}
	for _, s := range n.Servers() {
		ids[s.Info().ID] = true
	}
	reached = len(ids)
	if n.Broker != nil {
		for _, id := range n.Broker.storageIDs() {
			ids[id] = true
		}
	}
	return reached, len(ids)
}

// mapsPorts says whether the node asks the router for a port mapping by
// itself: in auto mode, unless [node] upnp = false, when it listens on an
// address a router could forward to (every interface, or a private one;
// never a loopback-only node such as the local grid's).
func (n *Node) mapsPorts() bool {
	if n.reachMode() != nat.ModeAuto || n.reachInputs().UPnPDisabled {
		return false
	}
	host, _, err := config.ParseTubPort(n.Config.TubPort)
	if err != nil {
		return false
	}
	if n.listensEverywhere() {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && nat.Classify(a) == nat.ClassPrivate
}

// listensEverywhere says whether tub.port binds every interface.
func (n *Node) listensEverywhere() bool {
	host, _, err := config.ParseTubPort(n.Config.TubPort)
	return err == nil && (host == "" || host == "0.0.0.0" || host == "::")
}

// CheckReach checks the node's reachability now, keeps the report, and
// announces anew if what it announces changed.
func (n *Node) CheckReach(ctx context.Context) nat.Report {
	d := &nat.Detector{Peers: n.directPeers, ListenWildcard: n.listensEverywhere(), Log: n.log}
	in := n.reachInputs()
	n.reach.mu.Lock()
	if m := n.reach.mapper; m != nil && !in.UPnPDisabled {
		d.Mapper = m
	}
	n.reach.mu.Unlock()
	g := d.Gather(ctx, in)
	r := nat.Decide(g)
	n.reach.mu.Lock()
	n.reach.inputs = &g
	prev := n.reach.report
	beforeR, before := n.autoAnnouncedLocked()
	n.reach.announce, n.reach.provisional = nat.NextAnnounce(prev, r)
	r.Announce, r.Provisional = slices.Clone(n.reach.announce), n.reach.provisional
	n.reach.report = &r
	afterR, after := n.autoAnnouncedLocked()
	moved := beforeR != afterR || !slices.Equal(before, after)
	changed := prev == nil || prev.Verdict != r.Verdict || moved
	if changed && n.reach.changed != nil {
		close(n.reach.changed)
		n.reach.changed = nil
	}
	n.reach.mu.Unlock()
	if prev == nil || prev.Verdict != r.Verdict {
		n.log.Info("reachability", "verdict", string(r.Verdict), "why", r.Summary(), "announces", after)
	}
	if moved && r.Mode == nat.ModeAuto {
		n.republish(ctx)
	}
	return r
}

// refreshAdvice decides the latest report again with what the node's
// connections give now — the helpers, relays and storage servers it
// reaches — and the facts the last check measured. Those connections
// feed only the advice and its evidence, never the verdict or what the
// node announces, so no new check (no peer's dial-back) is needed: the
// advice follows a helper or servers as they connect. It reports whether
// the report changed.
func (n *Node) refreshAdvice() bool {
	now := n.reachInputs()
	n.reach.mu.Lock()
	defer n.reach.mu.Unlock()
	if n.reach.inputs == nil || n.reach.report == nil {
		return false
	}
	in := *n.reach.inputs
	in.HelperUse, in.Helpers, in.Relays = now.HelperUse, now.Helpers, now.Relays
	in.ServersReached, in.ServersKnown = now.ServersReached, now.ServersKnown
	in.UplinkBps, in.UplinkMeasured = now.UplinkBps, now.UplinkMeasured
	r := nat.Decide(in)
	old := n.reach.report
	if r.Verdict != old.Verdict || slices.Equal(r.Evidence, old.Evidence) && slices.EqualFunc(r.Advice, old.Advice, sameAdvice) {
		return false
	}
	r.Announce, r.Provisional = old.Announce, old.Provisional
	n.reach.inputs, n.reach.report = &in, &r
	if n.reach.changed != nil {
		close(n.reach.changed)
		n.reach.changed = nil
	}
	return true
}

func sameAdvice(a, b nat.Advice) bool {
	return a.ID == b.ID && a.Text == b.Text && slices.Equal(a.Changes, b.Changes)
}

// republish sends the node's announcement anew to its introducers.
func (n *Node) republish(ctx context.Context) {
	if n.Sub == nil {
		return
	}
	s, err := n.announcement()
	if err != nil {
		n.log.Warn("could not make the node's new announcement", "err", err)
		return
	}
	n.relay.mu.Lock()
	n.relay.latest, n.relay.changed = s, true
	n.relay.mu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := n.Sub.Republish(pctx); err != nil {
		n.log.Warn("could not announce the node's new reachability now; it is announced at the next reconnection", "err", err)
	}
}

// runReach checks reachability until ctx ends: once a first peer is
// connected (or after reachFirstWait), every reachEvery, when the
// interface addresses change, and on connection changes while no peer
// could check.
func (n *Node) runReach(ctx context.Context) {
	n.syncMapper()       // and again when a reload changes [node] upnp or reachability (reach_reload_live.go)
	defer n.stopMapper() // the router's mapping goes with the node
	poke := n.reachPoke()
	first := time.NewTimer(reachFirstWait)
	defer first.Stop()
	for len(n.directPeers()) == 0 {
		select {
		case <-ctx.Done():
			return
		case <-first.C:
		case <-poke:
			n.takeReachReload(ctx)
			continue
		case <-n.T.Changed():
			continue
		}
		break
	}
	if !sleepCtx(ctx, reachSettle) {
		return
	}
	addrs := localSet()
	last := time.Now()
	r := n.CheckReach(ctx)
	every := time.NewTicker(reachEvery)
	defer every.Stop()
	poll := time.NewTicker(reachPoll)
	defer poll.Stop()
	for {
		conns := n.T.Changed()
		select {
		case <-ctx.Done():
			return
		case <-every.C:
		case <-poke: // a reload changed [node] upnp, reachability or tub.location: check with them
			n.takeReachReload(ctx)
		case <-poll.C:
			now := localSet()
			if now == addrs {
				continue
			}
			n.log.Info("this computer's addresses changed; checking reachability again")
			n.uplink.Reset() // another network: another uplink
			addrs = now
		case <-conns:
			if r.Verdict != nat.VerdictUnknown && r.Verdict != nat.VerdictOffline {
				// A verdict stands until the next check; the advice
				// follows the connections at once (a burst of changes
				// is taken together).
				if !sleepCtx(ctx, reachAdviceSettle) {
					return
				}
				n.refreshAdvice()
				continue
			}
			if wait := reachRetryEvery - time.Since(last); wait > 0 && !sleepCtx(ctx, wait) {
				return
			}
		}
		last = time.Now()
		r = n.CheckReach(ctx)
	}
}

// localSet is the interface addresses as one comparable string.
func localSet() string {
	as, _ := nat.InterfaceAddrs()
	s := make([]string, 0, len(as))
	for _, a := range as {
		s = append(s, a.String())
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
