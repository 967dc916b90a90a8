// Package status declares the node's status document, the JSON the web
// API serves at GET /status and that `lafs status` and the tray app read.
// It is declared here once, with snake_case keys throughout; its shape is
// written down in docs/webapi.md. The producers fill it in (node/webapi
// the servers and parameters, node/fullnode the node part); this package
// holds no logic beyond the types.
package status

import (
	"time"

	"github.com/lafssync/lafssync/node/helper"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/relay"
	"github.com/lafssync/lafssync/node/transport"
)

// Document is GET /status.
type Document struct {
	// Servers are the storage servers the node's client would use now,
	// each asked for its version (bounded by a few seconds). Empty, never
	// null, on an introducer-only node.
	Servers []Server `json:"servers"`
	// Params are the client's encoding parameters; absent on an
	// introducer-only node (it has no client).
	Params *Params `json:"params,omitempty"`
	// Node is the running node itself; absent when the web API serves a
	// bare client (tests, embedded use).
	Node *Node `json:"node,omitempty"`
}

// Server is one storage server as the client sees it.
type Server struct {
	ID        string `json:"id"`
	Nickname  string `json:"nickname"`
	Connected bool   `json:"connected"`
	// Available is the free space the server reported, in bytes (absent
	// when it did not answer or reported none).
	Available uint64 `json:"available_space,omitempty"`
	// Error is why the server did not answer.
	Error string `json:"error,omitempty"`
}

// Params are the encoding parameters of the node's uploads (Tahoe's
// shares.needed, shares.happy, shares.total).
type Params struct {
	K     int `json:"shares_needed"`
	Happy int `json:"shares_happy"`
	N     int `json:"shares_total"`
}

// Reachability is how other nodes can reach a node.
type Reachability string

// Reachability values: what a node announces. A node's own value follows
// its verdict (Node.Reach) unless tahoe.cfg's [node] reachability sets it.
const (
	// Unknown: not configured and not measured yet.
	Unknown Reachability = "unknown"
	// Public: others can dial the node's announced addresses.
	Public Reachability = introducer.Public
	// OutboundOnly: behind NAT; the node dials out and others use its
	// connection.
	OutboundOnly Reachability = introducer.OutboundOnly
)

// Node is what the running node reports about itself.
type Node struct {
	ID           string       `json:"id"`
	Nickname     string       `json:"nickname"`
	Addresses    []string     `json:"addresses"`
	Reachability Reachability `json:"reachability"`
	Storage      bool         `json:"storage_server"`
	Introducer   bool         `json:"introducer"`
	// Introducers are the introducers this node follows.
	Introducers []introducer.IntroducerStatus `json:"introducers"`
	// Announced lists the nodes that announced to this node's introducer
	// (only on an introducer).
	Announced []introducer.NodeSummary `json:"announced,omitempty"`
	// Peers are the nodes this node knows of, by ID.
	Peers []Peer `json:"peers"`
	// Connections are the transport connections in use.
	Connections []transport.PeerState `json:"connections"`
	// Reach is the node's reachability: the verdict ("public", "public
	// via port mapping", "port-forwarded", "behind NAT", "behind double
	// NAT / CGNAT", "offline", "unknown"), the evidence in plain words,
	// and advice with IDs (lafs reachability; docs/reachability.md).
	Reach *nat.Report `json:"reach,omitempty"`
	// Helper counts what the upload helper this node runs did (absent
	// when it runs none; docs/helper.md).
	Helper *helper.Stats `json:"helper,omitempty"`
	// Relay counts what the relay this node runs did (absent when it runs
	// none; docs/relay.md).
	Relay *relay.Stats `json:"relay,omitempty"`
	// Uses are the helper and relays this node uses now.
	Uses Uses `json:"uses"`
}

// Uses are the helper and relays a node uses now.
type Uses struct {
	// Helper is the node ID of the upload helper this node's client uses
	// now ("" when none); HelperNickname is its nickname.
	Helper         string `json:"helper,omitempty"`
	HelperNickname string `json:"helper_nickname,omitempty"`
	// Relayed are the connections that run through a relay now.
	Relayed []Relayed `json:"relayed"`
	// Reservations are the relays holding a reservation for this node:
	// nodes that cannot dial it reach it through them.
	Reservations []string `json:"relay_reservations"`
}

// Relayed is one connection through a relay.
type Relayed struct {
	Peer         string `json:"peer"`
	PeerNickname string `json:"peer_nickname,omitempty"`
	Relay        string `json:"relay"`
}

// Peer is one node the node knows of (from announcements).
type Peer struct {
	ID       string `json:"id"`
	Nickname string `json:"nickname"`
	Service  string `json:"service"`
	// Reachability is what the peer announced; absent for nodes that
	// announce none (Tahoe-LAFS servers, which are dialable).
	Reachability Reachability  `json:"reachability,omitempty"`
	Connected    bool          `json:"connected"`
	Inbound      bool          `json:"inbound,omitempty"`
	Remote       string        `json:"remote_address,omitempty"`
	Since        time.Time     `json:"connected_since,omitzero"`
	KnownSince   time.Time     `json:"known_since"`
	LastSeen     time.Time     `json:"last_seen,omitzero"`
	RTT          time.Duration `json:"rtt_ns,omitempty"`
}
