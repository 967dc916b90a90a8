package transport

import (
	"context"
	"math/rand/v2"
	"sort"
	"time"
)

// Backoff is the reconnect schedule: the first retry after Min, doubling up
// to Max, each wait scaled by a random factor in [0.5, 1.5) so that many
// nodes that lost the same peer do not all come back at the same moment.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff retries after about 1 s, then 2, 4, … up to about 5 min.
var DefaultBackoff = Backoff{Min: time.Second, Max: 5 * time.Minute}

// Wait is the pause before retry number attempt (0-based).
func (b Backoff) Wait(attempt int) time.Duration {
	d := b.Min
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// Keep holds a connection to peer until ctx ends: whenever there is none
// (never dialed, dropped, or the peer's keepalives stopped), it dials the
// addresses addrs returns, in order, with backoff between rounds. A
// connection the peer dialed to us counts: Keep then only waits. With no
// addresses (a peer behind NAT) it only waits for the peer to call.
func (n *Node) Keep(ctx context.Context, peer string, addrs func() []string, b Backoff) {
	attempt := 0
	for ctx.Err() == nil {
		changed := n.Changed()
		if n.Connections(peer) > 0 {
			attempt = 0
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			continue
		}
		var err error
		list := addrs()
		for _, a := range list {
			dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			err = n.Dial(dctx, a, peer)
			cancel()
			if err == nil {
				break
			}
		}
		if len(list) > 0 && err == nil {
			attempt = 0
			continue
		}
		if err != nil {
			n.log.Debug("peer unreachable", "peer", peer, "attempt", attempt+1, "err", err)
		}
		wait := b.Wait(attempt)
		attempt++
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-changed: // the peer called us, or something else changed
			t.Stop()
		case <-t.C:
		}
	}
}

// PeerState describes the connection in use to one peer.
type PeerState struct {
	ID string `json:"id"`
	// Inbound is true when the peer dialed us (it may be behind NAT).
	Inbound bool      `json:"inbound"`
	Remote  string    `json:"remote_address"`
	Since   time.Time `json:"connected_since"`
	Streams int       `json:"open_streams"`
	// Via is the relay the connection runs through ("" when direct).
	Via string `json:"via_relay,omitempty"`
}

// Peers lists the connections in use, by peer ID.
func (n *Node) Peers() []PeerState {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]PeerState, 0, len(n.current))
	for id, c := range n.current {
		out = append(out, PeerState{ID: id, Inbound: c.initiator != n.ID(), Remote: c.remote, Since: c.since, Streams: c.sess.NumStreams(), Via: c.via})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Ping measures the round trip to peer over the connection in use.
func (n *Node) Ping(peer string) (time.Duration, error) {
	n.mu.Lock()
	c := n.current[peer]
	n.mu.Unlock()
	if c == nil {
		return 0, ErrNoConnection
	}
	return c.sess.Ping()
}
