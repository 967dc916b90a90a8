package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/webapi"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/remote"
)

// nodeGrid is the folder sync's view of a running node: each call takes
// the servers usable at that moment.
type nodeGrid struct{ n *fullnode.Node }

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

// startSync starts the folder sync of node n (from Run's ready callback):
// the Manager runs in a goroutine in wg until ctx ends, and its API is
// mounted in the node's web API. If it cannot start, the node runs on
// without it and the API says why.
func startSync(ctx context.Context, wg *sync.WaitGroup, n *fullnode.Node, log *slog.Logger) {
	if n.Client() == nil {
		n.MountWeb(webapi.SyncPrefix, api.Unavailable("this node is an introducer only: it has no folder sync (sync folders on a client node)"))
		return
	}
	slog := log.With("part", "folder sync")
	m, err := syncer.New(syncer.Config{NodeDir: n.Dir, Device: deviceID(n.T.ID()), Grid: nodeGrid{n}, Log: slog})
	if err != nil {
		slog.Warn("the folder sync could not start; the node runs without it", "err", err)
		n.MountWeb(webapi.SyncPrefix, api.Unavailable(fmt.Sprintf("the folder sync could not start: %v (the node's log has more)", err)))
		return
	}
	// Until syncer.Manager has every api.Manager method, it is checked
	// here rather than by the compiler.
	am, ok := any(m).(api.Manager)
	if !ok {
		slog.Warn("the folder sync is not complete in this build; the node runs without it")
		n.MountWeb(webapi.SyncPrefix, api.Unavailable("the folder sync is not complete in this build of LAFS Sync"))
		return
	}
	wg.Go(func() {
		if err := m.Run(ctx); err != nil && ctx.Err() == nil {
			slog.Error("the folder sync stopped; the node runs on without it", "err", err)
		}
	})
	n.MountWeb(webapi.SyncPrefix, api.Handler(am))
	slog.Info("folder sync running", "device", deviceID(n.T.ID()))
}
