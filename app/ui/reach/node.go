package reach

import (
	"context"
	"errors"
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
func NodeSource(n *fullnode.Node) Source { return NodeSourceFunc(func() *fullnode.Node { return n }) }

// NodeSourceFunc is NodeSource for whatever node cur returns at each
// call, for a node that restarts (appnode.Runner): nil while none runs.
func NodeSourceFunc(cur func() *fullnode.Node) Source { return nodeSource{cur} }

type nodeSource struct{ cur func() *fullnode.Node }

// notRunning is the report while no node runs.
func notRunning() nat.Report {
	return nat.Report{Verdict: nat.VerdictUnknown, Reason: "the node is not running (it is starting or restarting)",
		Evidence: []string{"the node is not running (it is starting or restarting)"}, Advice: []nat.Advice{}, Announce: []string{}}
}

// Changed is the running node's ReachChanged (nil while none runs: the
// window then finds the next node at its next poll).
func (s nodeSource) Changed() <-chan struct{} {
	if n := s.cur(); n != nil {
		return n.ReachChanged()
	}
	return nil
}

func (s nodeSource) Report() nat.Report {
	n := s.cur()
	if n == nil {
		return notRunning()
	}
	return n.Reach()
}

func (s nodeSource) Check(ctx context.Context) nat.Report {
	n := s.cur()
	if n == nil {
		return notRunning()
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	return n.CheckReach(ctx)
}

func (s nodeSource) Apply(id string) (nat.Advice, error) {
	n := s.cur()
	if n == nil {
		return nat.Advice{}, errors.New("the node is not running now (it is starting or restarting); try again once it runs")
	}
	a, err := n.Reach().Find(id)
	if err != nil {
		return nat.Advice{}, err
	}
	if err := nat.Apply(n.Dir, a); err != nil {
		return nat.Advice{}, err
	}
	return a, nil
}

// Grid counts the storage servers usable now (connected ones, the
// static list, this node's own) against those known; the relays are the
// ones the node's connections run through now (the relays holding this
// node's reservations are not exported by fullnode).
func (s nodeSource) Grid() Grid {
	n := s.cur()
	if n == nil {
		return Grid{}
	}
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
