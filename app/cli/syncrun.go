package cli

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/app/secrets"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/webapi"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/remote"
)

// nodeGrid is the folder sync's view of a running node: each call takes
// the servers usable at that moment.
type nodeGrid struct {
	n    *fullnode.Node
	keys *mutable.KeyPool // RSA keys for new directories, made in the background
}

// NewKey implements remote.KeySource: a new directory does not wait for
// its key (100 ms or more to generate) when the pool has one ready.
func (g nodeGrid) NewKey(ctx context.Context) (*rsa.PrivateKey, error) { return g.keys.Get(ctx) }

func (g nodeGrid) Immutable() *immutable.Client { return g.n.Client().Imm }
func (g nodeGrid) Dirs() *dirnode.Client        { return g.n.Client().Dirs }

func (g nodeGrid) Health() remote.Health {
	h := remote.Health{Reachable: len(g.n.Servers()), Known: g.n.KnownServers()}
	if c := g.n.Client(); c != nil {
		h.Happy = c.Imm.Params.Happy
	}
	h.Known = max(h.Known, h.Reachable)
	return h
}

// deviceID is this install's name in version vectors and conflict copies:
// the first 10 characters of the node ID after "v0-".
func deviceID(nodeID string) string {
	id := strings.TrimPrefix(nodeID, "v0-")
	if len(id) > 10 {
		id = id[:10]
	}
	return id
}

// StartSync is startSync for the tray app (app/cmd/lafsync).
func StartSync(ctx context.Context, wg *sync.WaitGroup, n *fullnode.Node, log *slog.Logger) {
	startSync(ctx, wg, n, log)
}

// startSync starts the folder sync of node n (from Run's ready callback):
// the Manager runs in a goroutine in wg until ctx ends, and its API is
// mounted in the node's web API. If it cannot start, the node runs on
// without it, the API says why, and startSync returns nil.
func startSync(ctx context.Context, wg *sync.WaitGroup, n *fullnode.Node, log *slog.Logger) *syncer.Manager {
	if n.Client() == nil {
		n.MountWeb(webapi.SyncPrefix, api.Unavailable("this node is an introducer only: it has no folder sync (sync folders on a client node)"))
		return nil
	}
	slog := log.With("part", "folder sync")
	g := nodeGrid{n: n, keys: mutable.NewKeyPool(8)}
	wg.Go(func() { <-ctx.Done(); g.keys.Close() })
	m, err := syncer.New(syncer.Config{NodeDir: n.Dir, Device: deviceID(n.T.ID()), Grid: g, Log: slog,
		Secrets: secrets.New(n.Dir, secrets.Options{Log: slog})}) // the OS keyring, else a 0600 file (app/secrets)
	if err != nil {
		slog.Warn("the folder sync could not start; the node runs without it", "err", err)
		n.MountWeb(webapi.SyncPrefix, api.Unavailable(fmt.Sprintf("the folder sync could not start: %v (the node's log has more)", err)))
		return nil
	}
	wg.Go(func() {
		if err := m.Run(ctx); err != nil && ctx.Err() == nil {
			slog.Error("the folder sync stopped; the node runs on without it", "err", err)
		}
	})
	wg.Go(func() { kickOnReconnect(ctx, g, m.Kick, reconnectCheck) })
	n.AddLeaseRoots(m.LeaseRoots)
	n.MountWeb(webapi.SyncPrefix, api.Handler(m))
	slog.Info("folder sync running", "device", deviceID(n.T.ID()))
	return m
}

// reconnectCheck is how often the app looks at the grid's health for
// kickOnReconnect.
const reconnectCheck = time.Second

// kickOnReconnect calls kick whenever the grid becomes healthy again
// (enough servers back for an upload), so the folders check the grid at
// once rather than at their next poll.
func kickOnReconnect(ctx context.Context, g remote.Grid, kick func(), every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	was := g.Health().OK()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok := g.Health().OK()
		if ok && !was {
			kick()
		}
		was = ok
	}
}
