package remote

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"

	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

// testGrid is a minimal Grid for the package's internal tests (gridtest
// imports this package, so they cannot use it).
type testGrid struct {
	servers []storage.Server
}

func newTestGrid(n int) *testGrid {
	_, ss := mem.NewGrid(n)
	return &testGrid{servers: ss}
}

func (g *testGrid) Immutable() *immutable.Client {
	return &immutable.Client{Servers: g.servers, Params: immutable.DefaultParams(), Convergence: []byte("c"), Logger: slog.New(slog.DiscardHandler)}
}

func (g *testGrid) Dirs() *dirnode.Client {
	return &dirnode.Client{Servers: g.servers, Options: mutable.Options{Logger: slog.New(slog.DiscardHandler)}}
}

func (g *testGrid) Health() Health {
	return Health{Reachable: len(g.servers), Known: len(g.servers), Happy: 7}
}

func (g *testGrid) NewKey(ctx context.Context) (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, mutable.KeyBits)
}
