package reach

import (
	"context"
	"slices"
	"time"

	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/nat"
)

// checkTimeout bounds a "Check again" run (dial-backs have their own
// shorter limits; this only ends a stuck one).
const checkTimeout = 2 * time.Minute

// NodeSource is the running node n as the window's Source: its report
// (Reach), its check (CheckReach), and nat.Apply on its directory for the
// advice of its current report, as lafs reachability --apply does.
func NodeSource(n *fullnode.Node) Source { return nodeSource{n} }

type nodeSource struct{ n *fullnode.Node }

func (s nodeSource) Report() nat.Report { return s.n.Reach() }

func (s nodeSource) Check(ctx context.Context) nat.Report {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	return s.n.CheckReach(ctx)
}

func (s nodeSource) Apply(id string) (nat.Advice, error) {
	a, err := s.n.Reach().Find(id)
	if err != nil {
		return nat.Advice{}, err
	}
	if err := nat.Apply(s.n.Dir, a); err != nil {
		return nat.Advice{}, err
	}
	return a, nil
}

// Grid counts the storage servers usable now (connected ones, the
// static list, this node's own) against those known; the relays are the
// ones the node's connections run through now (the relays holding this
// node's reservations are not exported by fullnode).
func (s nodeSource) Grid() Grid {
	n := s.n
	g := Grid{Connected: len(n.Servers()), Known: n.KnownServers(), Helper: n.HelperInUse()}
	if n.Client() != nil {
		g.K, g.Happy, g.N = n.Config.SharesNeeded, n.Config.SharesHappy, n.Config.SharesTotal
	}
	if n.T != nil {
		for _, p := range n.T.Peers() {
			if p.Via != "" && !slices.Contains(g.Relays, p.Via) {
				g.Relays = append(g.Relays, p.Via)
			}
		}
	}
	slices.Sort(g.Relays)
	return g
}
