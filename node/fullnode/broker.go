package fullnode

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/node/gbs"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/status"
	"github.com/lafssync/lafssync/node/storagenode"
	"github.com/lafssync/lafssync/node/transport"
)

// Broker connects to every node it hears of and hands the storage servers
// among them to the grid layer. A server with addresses is dialed (and
// redialed with backoff); a server behind NAT is used over the connection
// it opens to us. Either way storage calls travel over the one transport
// connection between the two nodes.
type Broker struct {
	t    *transport.Node
	ctx  context.Context
	log  *slog.Logger
	mu   sync.Mutex // guards byID, changed
	byID map[string]*peerEntry
	// changed is closed (and replaced) when an announcement changes:
	// what keepReservations waits on for relays that come or go.
	changed chan struct{}
}

// Changed returns a channel closed at the next announcement that changes.
func (b *Broker) Changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.changed
}

type peerEntry struct {
	known    introducer.Known
	server   storage.Server // nil unless it offers storage
	cancel   context.CancelFunc
	first    time.Time
	lastSeen time.Time // when it was last connected
	up       bool
}

func newBroker(ctx context.Context, t *transport.Node, log *slog.Logger) *Broker {
	b := &Broker{t: t, ctx: ctx, log: log, byID: map[string]*peerEntry{}}
	go b.watch()
	return b
}

// watch keeps each known node's last-seen time: the moment it was last
// connected, updated whenever connections come or go.
func (b *Broker) watch() {
	for {
		changed := b.t.Changed()
		now := time.Now()
		b.mu.Lock()
		for id, e := range b.byID {
			up := b.t.Connections(id) > 0
			if up || e.up {
				e.lastSeen = now
			}
			e.up = up
		}
		b.mu.Unlock()
		select {
		case <-b.ctx.Done():
			return
		case <-changed:
		}
	}
}

// seen records that e was connected at now, for a connection that came
// and went between two turns of watch (which would otherwise never see
// it up). b.mu is held.
func (b *Broker) seen(e *peerEntry, now time.Time) {
	e.lastSeen, e.up = now, true
}

// Update takes the newest announcements: new nodes are connected to,
// changed ones reconnected with their new addresses.
func (b *Broker) Update(nodes map[string]introducer.Known) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, k := range nodes {
		if id == b.t.ID() {
			continue
		}
		old := b.byID[id]
		if old != nil && old.known.Signed == k.Signed {
			continue
		}
		e := &peerEntry{known: k, first: time.Now()}
		if old != nil {
			old.cancel()
			e.first, e.lastSeen, e.up = old.first, old.lastSeen, old.up
		}
		if k.Ann.ServiceName == introducer.ServiceStorage {
			info, err := storagenode.InfoOf(id, k.Ann.Storage())
			if err == nil {
				var c *gbs.Client
				c, err = gbs.DialOver(k.Ann.NURLs[0], b.t.HTTPClient(id), gbs.ClientOptions{Info: info, Logger: b.log})
				if err == nil {
					e.server = c
				}
			}
			if err != nil {
				b.log.Warn("ignored a storage announcement", "server", id, "err", err)
			}
		}
		var addrs []string
		if k.Ann.Reachability != introducer.OutboundOnly {
			addrs = k.Ann.Addresses
		}
		addrs = append(slices.Clip(addrs), relayHints(b.t.ID(), k.Ann)...) // relay.go
		ctx, cancel := context.WithCancel(b.ctx)
		e.cancel = cancel
		b.byID[id] = e
		go b.t.Keep(ctx, id, func() []string { return addrs }, transport.DefaultBackoff)
		b.log.Debug("following a node", "node", id, "nickname", k.Ann.Nickname, "service", k.Ann.ServiceName, "addresses", len(addrs))
		if b.changed != nil {
			close(b.changed)
			b.changed = nil
		}
	}
}

// Servers returns the storage servers connected now.
func (b *Broker) Servers() []storage.Server {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []storage.Server
	for id, e := range b.byID {
		if e.server != nil && b.t.Connections(id) > 0 {
			out = append(out, e.server)
			b.seen(e, now)
		}
	}
	return out
}

// storageIDs are the storage servers heard of, connected or not.
func (b *Broker) storageIDs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for id, e := range b.byID {
		if e.server != nil {
			out = append(out, id)
		}
	}
	return out
}

func (b *Broker) isStorage(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.byID[id]
	return e != nil && e.server != nil
}

// Status describes every known node. Free space is not asked here: the
// web API's status asks each usable server once, for all of its page.
func (b *Broker) Status() []status.Peer {
	conns := map[string]transport.PeerState{}
	for _, p := range b.t.Peers() {
		conns[p.ID] = p
	}
	b.mu.Lock()
	out := make([]status.Peer, 0, len(b.byID))
	for id, e := range b.byID {
		p, ok := conns[id]
		st := status.Peer{ID: id, Nickname: e.known.Ann.Nickname, Service: e.known.Ann.ServiceName,
			Reachability: status.Reachability(e.known.Ann.Reachability), Connected: ok, Inbound: p.Inbound, Remote: p.Remote, Since: p.Since,
			KnownSince: e.first, LastSeen: e.lastSeen}
		// Connected now, or until a moment ago: watch has not yet run for
		// the disconnect (its lastSeen is still from the change before,
		// which made TestLastSeen fail now and then under load).
		if ok || e.up {
			st.LastSeen = time.Now()
		}
		if ok {
			b.seen(e, st.LastSeen)
		}
		out = append(out, st)
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	for i := range out {
		if out[i].Connected {
			wg.Go(func() {
				if rtt, err := b.t.Ping(out[i].ID); err == nil {
					out[i].RTT = rtt
				}
			})
		}
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
