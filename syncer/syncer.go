// Package syncer keeps local folders and grid directories in step: the
// Manager owns the folders of one node (their list and caps in the node's
// secret store, one engine per folder from syncer/folder) and serves
// syncer/api. It never opens sockets: it reaches the grid through
// remote.Grid, which the app builds over the running node.
//
// CONTRACT for Config/New/Run (the coordinator builds the Manager).
package syncer

import (
	"context"
	"errors"
	"log/slog"

	"github.com/lafssync/lafssync/internal/clock"
	"github.com/lafssync/lafssync/syncer/remote"
)

// Config is what a Manager needs.
type Config struct {
	// NodeDir is the node's directory: the database is
	// NodeDir/private/sync.db, the folder list NodeDir/private/sync-folders.json
	// (through Secrets).
	NodeDir string
	// Device identifies this install in version vectors and conflict
	// names (the first 10 characters of the node ID after "v0-").
	Device string
	Grid   remote.Grid
	// Secrets keeps the folder list and caps; nil: a 0600 file under
	// NodeDir/private.
	Secrets SecretStore
	Log     *slog.Logger
	Clock   clock.Clock // nil: clock.Real
}

// SecretStore keeps the folder list with its caps. The tray app moves it
// to the OS keyring; the default is a 0600 file.
type SecretStore interface {
	Load() ([]byte, error) // nil, nil when nothing was saved yet
	Save([]byte) error
}

// Manager is the folder sync of one node. It implements api.Manager.
type Manager struct {
	cfg Config
}

// New opens the database and the folder list; Run starts the folders.
func New(cfg Config) (*Manager, error) {
	return nil, errors.New("syncer.New: not built yet")
}

// Run syncs every folder until ctx ends, then closes the database.
func (m *Manager) Run(ctx context.Context) error { return errors.New("not built") }
