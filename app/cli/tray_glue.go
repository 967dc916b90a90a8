package cli

import (
	"context"
	"log/slog"
	"sync"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/invite"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
)

// StartSyncManager is StartSync for a tray that shows the folders: it
// returns the running Manager, or nil when the folder sync could not start
// (the node's web API then says why).
func StartSyncManager(ctx context.Context, wg *sync.WaitGroup, n *fullnode.Node, log *slog.Logger) *syncer.Manager {
	return startSync(ctx, wg, n, log)
}

// FolderRequest is the folder sync's request that adds an invite's
// folder at local: joined for writing (the user's own folder from another
// device) or followed read-only (a friend's).
func FolderRequest(f *invite.Folder, local string) api.AddRequest {
	r := api.AddRequest{Path: local, Name: f.Name}
	if f.Write {
		r.To = f.Cap
	} else {
		r.Follow = f.Cap
	}
	return r
}

// JoinGrid makes the node in dir a client of the invite's grid (created
// when there is none) and takes it off this computer's local grid: the
// tray app's first run joins a grid that way. The local grid's files stay
// on disk under dir/local-grid.
func JoinGrid(dir string, inv invite.Invite) error {
	if _, err := joinNode(dir, inv, "127.0.0.1", ""); err != nil {
		return err
	}
	intros, err := config.LoadIntroducers(dir)
	if err != nil {
		return err
	}
	if _, ok := intros[fullnode.LocalPetname]; !ok {
		return nil
	}
	delete(intros, fullnode.LocalPetname)
	return config.SaveIntroducers(dir, intros)
}

// GridInvite describes the grid of the node in dir as an invite carries
// it (introducers and encoding), for the tray's share window.
func GridInvite(dir string) (invite.Invite, error) { return gridInvite(dir) }

// DeviceID is the folder sync's name for the node n (in conflict copies'
// names and version history).
func DeviceID(n *fullnode.Node) string { return deviceID(n.T.ID()) }
