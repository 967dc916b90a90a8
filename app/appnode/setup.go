package appnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lafssync/lafssync/app/cli"
	"github.com/lafssync/lafssync/app/recovery"
	"github.com/lafssync/lafssync/app/ui/wizard"
	"github.com/lafssync/lafssync/internal/atomicfile"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/invite"
	"github.com/lafssync/lafssync/syncer/api"
)

// SetupDoneFile, in the node directory, records that the first-run
// wizard was finished (it holds the time; nothing secret).
const SetupDoneFile = "app-setup-done"

// NeedsSetup says whether the tray app should show its first-run wizard
// for the node in dir: it was never finished and no folder is synced yet
// (a node set up with `lafs` before does not get it).
func NeedsSetup(dir string, folders int) bool {
	if folders > 0 {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, SetupDoneFile))
	return errors.Is(err, os.ErrNotExist)
}

// Setup is the first-run wizard's backend over a Runner.
type Setup struct {
	R *Runner
	// MailboxURL is the magic-wormhole mailbox server for invite codes
	// ("" is invite.DefaultMailboxURL).
	MailboxURL string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

var _ wizard.Backend = (*Setup)(nil)

// Grid implements wizard.Backend: the local grid runs already; joining a
// grid writes its introducers, leaves the local grid and restarts the
// node, and returns once the node runs again.
func (s *Setup) Grid(ctx context.Context, c wizard.Choice) (wizard.Joined, error) {
	var inv invite.Invite
	switch c.Where {
	case wizard.LocalGrid:
		if !OnLocalGrid(s.R.Dir) {
			return wizard.Joined{}, errors.New("this computer's node already belongs to another grid; choose to join it again, or use a new node directory")
		}
		return wizard.Joined{Summary: fmt.Sprintf("Using this computer's own local grid: an introducer and %d storage servers on this machine.", fullnode.LocalGridSize)}, nil
	case wizard.InviteCode:
		var err error
		inv, err = invite.Accept(ctx, invite.Options{MailboxURL: s.MailboxURL}, c.Code)
		if err != nil {
			return wizard.Joined{}, err
		}
	case wizard.Introducer:
		inv = invite.Invite{Introducer: c.Address}
	default:
		return wizard.Joined{}, fmt.Errorf("unknown grid choice %d", c.Where)
	}
	if err := cli.JoinGrid(s.R.Dir, inv); err != nil {
		return wizard.Joined{}, fmt.Errorf("could not write the grid's settings: %w", err)
	}
	s.R.Restart()
	if _, err := s.R.Manager(ctx); err != nil {
		return wizard.Joined{}, fmt.Errorf("the node did not start on the new grid: %w", err)
	}
	j := wizard.Joined{Summary: "Joined the grid.", Folder: inv.Folder}
	if inv.SharesTotal != 0 {
		j.Summary = fmt.Sprintf("Joined the grid: files are split into %d pieces, any %d of which bring them back.", inv.SharesTotal, inv.SharesNeeded)
	}
	return j, nil
}

// AddFolder implements wizard.Backend. Until the node reaches enough
// storage servers (just after joining a grid) it keeps trying, until ctx
// ends.
func (s *Setup) AddFolder(ctx context.Context, path string, f *invite.Folder) error {
	req := api.AddRequest{Path: path, Name: filepath.Base(path)}
	if f != nil {
		req = cli.FolderRequest(f, path)
	}
	_, err := s.Add(ctx, req)
	return err
}

// Add adds a folder through the running folder sync (a
// recovery.FolderAdder). Until the node reaches enough storage servers
// (just after joining a grid) it keeps trying, once a second, until ctx
// ends.
func (s *Setup) Add(ctx context.Context, req api.AddRequest) (api.FolderStatus, error) {
	for {
		m, err := s.R.Manager(ctx)
		if err != nil {
			return api.FolderStatus{}, err
		}
		st, err := m.Add(ctx, req)
		if err == nil || !errors.Is(err, api.ErrNoGrid) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return api.FolderStatus{}, fmt.Errorf("the grid could not be reached in time: %w", err)
		case <-time.After(time.Second):
		}
	}
}

// Kit implements wizard.Backend: the recovery kit of the folders the
// running folder sync has.
func (s *Setup) Kit(ctx context.Context) (*recovery.Kit, error) {
	m, err := s.R.Manager(ctx)
	if err != nil {
		return nil, err
	}
	return recovery.Collect(ctx, s.R.Dir, recovery.ManagerSource(m), s.now())
}

// Finish implements wizard.Backend.
func (s *Setup) Finish() error {
	return atomicfile.Write(filepath.Join(s.R.Dir, SetupDoneFile), []byte(s.now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

func (s *Setup) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
