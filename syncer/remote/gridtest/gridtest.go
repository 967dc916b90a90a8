// Package gridtest is an in-memory grid for the folder sync's tests: n
// grid/storage/mem servers behind a remote.Grid, with hooks to take servers
// away (Health follows) and access to the servers (read counts, faults).
//
// Creating a mutable file needs a 2048-bit RSA key, which takes 100 ms or
// more to generate; a sync test makes dozens of directories. The grid
// therefore hands out keys from a set generated once and embedded
// (keys.bin: 400 keys as raw primes p‖q, 128 bytes each), each key once per
// grid (two grids share keys harmlessly: their servers are apart), and
// generates more only when a test uses up the set. The keys are test keys:
// never use them for real data.
package gridtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	_ "embed"
	"fmt"
	"log/slog"
	"math/big"
	"sync"

	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
	"github.com/lafssync/lafssync/syncer/remote"
)

//go:embed keys.bin
var keysBin []byte

const primeLen = 128 // bytes of each prime of a 2048-bit key

var (
	keysMu sync.Mutex // guards parsed
	parsed = map[int]*rsa.PrivateKey{}
)

// numFixed is how many keys keys.bin holds.
func numFixed() int { return len(keysBin) / (2 * primeLen) }

// fixedKey parses embedded key i (once per process).
func fixedKey(i int) (*rsa.PrivateKey, error) {
	keysMu.Lock()
	defer keysMu.Unlock()
	if k := parsed[i]; k != nil {
		return k, nil
	}
	off := i * 2 * primeLen
	p := new(big.Int).SetBytes(keysBin[off : off+primeLen])
	q := new(big.Int).SetBytes(keysBin[off+primeLen : off+2*primeLen])
	k, err := keyFromPrimes(p, q)
	if err != nil {
		return nil, fmt.Errorf("gridtest: embedded key %d: %w", i, err)
	}
	parsed[i] = k
	return k, nil
}

func keyFromPrimes(p, q *big.Int) (*rsa.PrivateKey, error) {
	one := big.NewInt(1)
	e := big.NewInt(65537)
	n := new(big.Int).Mul(p, q)
	pm, qm := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
	phi := new(big.Int).Mul(pm, qm)
	d := new(big.Int).ModInverse(e, phi)
	if d == nil {
		return nil, fmt.Errorf("e is not invertible")
	}
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: n, E: 65537},
		D:         d,
		Primes:    []*big.Int{p, q},
	}
	// The keys are ours, made by crypto/rsa: Precompute, not the slower
	// Validate (the mutable code signs and verifies with each anyway).
	k.Precompute()
	return k, nil
}

// Grid is n in-memory storage servers as a remote.Grid.
type Grid struct {
	// Servers are the servers, by index (s0…s(n-1)).
	Servers []*mem.Server
	// Logger gets the grid clients' logs (set it before use); nil discards
	// them, which keeps test output to the failures.
	Logger *slog.Logger
	params immutable.Params

	mu      sync.Mutex // guards offline and next
	offline []bool
	next    int // index of the next embedded key to hand out
}

// New returns a grid of n (≥ 1) servers with parameters scaled from Tahoe's
// 3-of-10, happy 7: N = n (at most 10), K ≈ 3N/10, Happy ≈ 7N/10 (so 10
// servers give 3/7/10, 5 give 2/3/5, 1 gives 1/1/1).
func New(n int) *Grid {
	if n < 1 {
		n = 1
	}
	ms, _ := mem.NewGrid(n)
	p := immutable.DefaultParams()
	p.N = min(n, 10)
	p.K = max(1, (p.N*3+5)/10)
	p.Happy = max(p.K, p.N*7/10)
	return &Grid{Servers: ms, params: p, offline: make([]bool, n)}
}

// Params are the encoding parameters uploads use.
func (g *Grid) Params() immutable.Params { return g.params }

// SetOffline takes server i away (off) or brings it back: its calls fail
// as a network client's would, the clients Immutable and Dirs return
// from now on leave it out, and Health counts it unreachable.
func (g *Grid) SetOffline(i int, off bool) {
	g.mu.Lock()
	g.offline[i] = off
	g.mu.Unlock()
	g.Servers[i].SetOffline(off)
}

// Offline takes the first k servers away and brings the others back.
func (g *Grid) Offline(k int) {
	for i := range g.Servers {
		g.SetOffline(i, i < k)
	}
}

// Reads is the number of read calls all servers have served so far.
func (g *Grid) Reads() int {
	n := 0
	for _, s := range g.Servers {
		n += s.Reads()
	}
	return n
}

// online lists the servers that are not offline.
func (g *Grid) online() []storage.Server {
	g.mu.Lock()
	defer g.mu.Unlock()
	var ss []storage.Server
	for i, s := range g.Servers {
		if !g.offline[i] {
			ss = append(ss, s)
		}
	}
	return ss
}

// Immutable implements remote.Grid: a client over the online servers.
func (g *Grid) Immutable() *immutable.Client {
	return &immutable.Client{
		Servers:     g.online(),
		Params:      g.params,
		Convergence: []byte("gridtest convergence secret....."),
		LeaseSecret: []byte("gridtest lease secret..........."),
		Logger:      g.logger(),
	}
}

func (g *Grid) logger() *slog.Logger {
	if g.Logger != nil {
		return g.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Dirs implements remote.Grid: a directory client over the online
// servers. Package remote takes the keys of the files it makes from NewKey;
// a test calling Create on this client directly waits for a fresh key.
func (g *Grid) Dirs() *dirnode.Client {
	return &dirnode.Client{
		Servers: g.online(),
		Options: mutable.Options{K: g.params.K, N: g.params.N,
			LeaseSecret: []byte("gridtest lease secret..........."), Logger: g.logger()},
	}
}

// Health implements remote.Grid.
func (g *Grid) Health() remote.Health {
	return remote.Health{Reachable: len(g.online()), Known: len(g.Servers), Happy: g.params.Happy}
}

// NewKey implements remote.KeySource: the next embedded key, then freshly
// generated ones.
func (g *Grid) NewKey(ctx context.Context) (*rsa.PrivateKey, error) {
	g.mu.Lock()
	i := g.next
	g.next++
	g.mu.Unlock()
	if i < numFixed() {
		return fixedKey(i)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return rsa.GenerateKey(rand.Reader, mutable.KeyBits)
}
