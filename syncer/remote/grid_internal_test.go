package remote

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"math/big"
	"os"
	"sync"

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
	mu      sync.Mutex // guards next
	next    int
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

// NewKey takes the keys gridtest embeds (read from its directory), each
// once per grid, then generates.
func (g *testGrid) NewKey(ctx context.Context) (*rsa.PrivateKey, error) {
	keyFileOnce.Do(func() { keyFile, _ = os.ReadFile("gridtest/keys.bin") })
	g.mu.Lock()
	i := g.next
	g.next++
	g.mu.Unlock()
	if off := i * 256; off+256 <= len(keyFile) {
		p := new(big.Int).SetBytes(keyFile[off : off+128])
		q := new(big.Int).SetBytes(keyFile[off+128 : off+256])
		pm, qm := new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Sub(q, big.NewInt(1))
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537},
			D: new(big.Int).ModInverse(big.NewInt(65537), new(big.Int).Mul(pm, qm)), Primes: []*big.Int{p, q}}
		k.Precompute()
		return k, nil
	}
	return rsa.GenerateKey(rand.Reader, mutable.KeyBits)
}

var (
	keyFileOnce sync.Once
	keyFile     []byte
)
