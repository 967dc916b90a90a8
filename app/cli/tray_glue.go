package cli

import (
	"context"
	"log/slog"
	"sync"

	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/syncer"
)

// StartSyncManager is StartSync for a tray that shows the folders: it
// returns the running Manager, or nil when the folder sync could not start
// (the node's web API then says why).
func StartSyncManager(ctx context.Context, wg *sync.WaitGroup, n *fullnode.Node, log *slog.Logger) *syncer.Manager {
	return startSync(ctx, wg, n, log)
}
