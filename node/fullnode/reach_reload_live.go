package fullnode

import (
	"context"
	"net"
	"strconv"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/nat"
)

// The keys a running node takes in place (docs/reachability.md, "Taking
// effect"), each without touching a connection:
//
//   - [client] helper: read at each upload.
//   - [storage] readonly and reserved_space: the store puts both in force
//     at once for the next allocation and mutable write
//     (store.Store.SetLimits); uploads already allocated complete. Only
//     while [storage] enabled stays as it was: a server that starts or
//     stops changes the listener's Tahoe-HTTPS fallback, the announcement
//     and the relay, which a run sets up at its start.
//   - [node] upnp: runReach, which owns the port mapper, starts or stops
//     it (stopping removes the router's mapping) and checks again.
//   - [node] reachability (the advice use-relay and reachability-auto):
//     what the node announces follows at once (reachMode), it announces
//     anew, runReach starts or stops the mapper (only auto mode maps) and
//     checks again, and keepReservations takes a reservation on a relay
//     while the node announces no address and gives it up when it
//     announces one. This node's own relay server starts or stops with it
//     ([relay] enabled = auto serves on a storage node that is not
//     outbound-only): stopping ends the reservations and circuits it
//     carries for others, never a connection of this node.
//   - [relay] enabled: the relay server starts or stops, as above.
//   - [node] tub.location (port-forward and few-servers, with tub.port and
//     reachability): the addresses the node announces and checks, and the
//     storage NURL and FURL in its announcement, follow at once
//     (tubLocation); it announces anew and checks again. Connected peers
//     keep their connection (a node's broker dials only while it has none).
//   - [node] tub.port only when the listener already is what it asks for:
//     the same interface, and the port it listens on (a tcp:0 listener's
//     port written down; tcp:PORT from port-forward on a node that
//     listens on every interface already). Nothing changes then.
//
// Everything else needs a restart: tub.port that moves the listener;
// [storage] enabled (storage-readonly, storage-off), [helper] and
// [introducer] start servers mounted at the start of a run; the relay's
// limits are the running server's own; the others (nickname, shares.*,
// web.port) are read once, at the start.

// liveKey says whether this run can take key k ("section.key") in place,
// as tahoe.cfg now has it (cfg).
func (n *Node) liveKey(k string, cfg config.Config) bool {
	switch k {
	case "client.helper", "node.upnp", "node.reachability", "relay.enabled", "node.tub.location":
		return true
	case "storage.readonly", "storage.reserved_space":
		return cfg.StorageEnabled == n.Config.StorageEnabled
	case "node.tub.port":
		return n.listensAs(cfg.TubPort)
	}
	return false
}

// listensAs says whether the node's listener is what tub.port asks for:
// the interface it was started with, and the port it got.
func (n *Node) listensAs(tubPort string) bool {
	host, port, err := config.ParseTubPort(tubPort)
	if err != nil {
		return false
	}
	was, _, err := config.ParseTubPort(n.Config.TubPort)
	if err != nil || host != was {
		return false
	}
	_, p, err := net.SplitHostPort(n.Addr())
	return err == nil && p == strconv.Itoa(port)
}

// tubLocation is [node] tub.location: as a reload took it, or as the run
// started.
func (n *Node) tubLocation() string {
	if l := n.reload.location.Load(); l != nil {
		return *l
	}
	return n.Config.TubLocation
}

// limitSetter is the store's hook for [storage] readonly and
// reserved_space (store.Store).
type limitSetter interface {
	SetLimits(readOnly bool, reserved uint64)
}

// takeLive puts the live keys (liveKey) of cfg and rc in force;
// n.reload.mu is held.
func (n *Node) takeLive(keys []string, cfg config.Config, rc config.Relay) {
	reach, relays := false, false
	for _, k := range keys {
		switch k {
		case "client.helper":
			n.helper.cfgMu.Lock()
			n.helper.loaded = false // the next upload reads [client] helper anew
			n.helper.cfgMu.Unlock()
		case "storage.readonly", "storage.reserved_space":
			if st, ok := n.local.(limitSetter); ok {
				st.SetLimits(cfg.ReadOnly, cfg.ReservedSpace)
				n.log.Info("storage server limits changed", "readonly", cfg.ReadOnly, "reserved_space", config.FormatSize(cfg.ReservedSpace))
			}
		case "node.reachability":
			m := modeOf(cfg)
			n.reload.mode.Store(&m)
			n.reload.remode.Store(true)
			n.reachNotify() // keepReservations and the status follow the mode
			reach, relays = true, true
		case "relay.enabled":
			n.reload.remode.Store(true) // announce whether it relays
			reach, relays = true, true
		case "node.upnp":
			reach = true
		case "node.tub.location":
			l := cfg.TubLocation
			n.reload.location.Store(&l)
			n.reload.remode.Store(true) // announce it
			n.reachNotify()
			reach = true
		}
	}
	if relays {
		if rc.Serves(n.Config.StorageEnabled, cfg.OutboundOnly) {
			n.startRelayServer(rc) // relay.go
		} else {
			n.stopRelayServer(false)
		}
	}
	if reach {
		select {
		case n.reachPoke() <- struct{}{}:
		default: // runReach has one to take already
		}
	}
}

// modeOf is [node] reachability in c.
func modeOf(c config.Config) nat.Mode {
	switch {
	case c.OutboundOnly:
		return nat.ModeOutboundOnly
	case c.Reachability == string(nat.ModePublic):
		return nat.ModePublic
	}
	return nat.ModeAuto
}

// reachPoke is the channel on which a reload asks runReach to take
// [node] reachability, upnp or tub.location, or [relay] enabled
// (takeReachReload).
func (n *Node) reachPoke() chan struct{} {
	n.reload.pokeOnce.Do(func() { n.reload.poke = make(chan struct{}, 1) })
	return n.reload.poke
}

// reachNotify closes ReachChanged's channel: what the node announces
// changed.
func (n *Node) reachNotify() {
	n.reach.mu.Lock()
	defer n.reach.mu.Unlock()
	if n.reach.changed != nil {
		close(n.reach.changed)
		n.reach.changed = nil
	}
}

// takeReachReload is runReach taking a reload of [node] reachability,
// upnp or tub.location, or [relay] enabled: the mapper as they now want
// it, and a new announcement when what the node announces changed.
// runReach checks again next.
func (n *Node) takeReachReload(ctx context.Context) {
	n.syncMapper()
	if n.reload.remode.Swap(false) {
		n.republish(ctx)
	}
}

// wantsMapper says whether the node should hold a port mapping now:
// Node.Mapper (set by the caller) unless [node] upnp = false; its own
// mapper when mapsPorts says so.
func (n *Node) wantsMapper() bool {
	if n.Mapper != nil {
		return !n.reachInputs().UPnPDisabled
	}
	return n.mapsPorts()
}

// syncMapper starts the port mapper when the node should map a port and
// has none, and stops it, removing the router's mapping, when it should
// not. Only runReach calls it: it owns the mapper.
func (n *Node) syncMapper() {
	want := n.wantsMapper()
	n.reach.mu.Lock()
	m := n.reach.mapper
	switch {
	case want && m == nil:
		m = n.Mapper
		if m == nil {
			m = newMapper(n.log.With("task", "port mapping"))
		}
		n.reach.mapper = m
		n.reach.mu.Unlock()
		n.log.Info("port mapping on: the next reachability check asks the router for a mapping")
	case !want && m != nil:
		n.reach.mapper = nil
		n.reach.mu.Unlock()
		if err := m.Close(); err != nil {
			n.log.Warn("port mapping off, but the router's mapping could not be removed; it expires by itself", "err", err)
		} else {
			n.log.Info("port mapping off: the router's mapping is removed")
		}
	default:
		n.reach.mu.Unlock()
	}
}

// stopMapper removes the router's mapping as the run ends.
func (n *Node) stopMapper() {
	n.reach.mu.Lock()
	m := n.reach.mapper
	n.reach.mapper = nil
	n.reach.mu.Unlock()
	if m != nil {
		m.Close()
	}
}
