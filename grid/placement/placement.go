// Package placement decides which storage servers hold which shares: the
// permuted ring that gives every file its own server order, and Tahoe's
// "servers of happiness" measure and share placement
// (docs/formats.md "Server selection").
//
// Happiness is the size of a maximum matching between servers and shares:
// the number of servers that could each be credited with a different
// share. A file stays recoverable while any k of those servers remain.
package placement

import (
	"bytes"
	"sort"

	"github.com/lafssync/lafssync/grid/taghash"
)

// Permute returns the indexes of servers (by permutation seed) in ring
// order for a storage index: preferred servers first, then ascending
// SHA-1(si ‖ seed).
func Permute(si []byte, seeds [][]byte, preferred []bool) []int {
	type pos struct {
		i    int
		pref bool
		h    [20]byte
	}
	ps := make([]pos, len(seeds))
	for i, s := range seeds {
		ps[i] = pos{i: i, h: taghash.PermuteServer(si, s)}
		if i < len(preferred) {
			ps[i].pref = preferred[i]
		}
	}
	sort.SliceStable(ps, func(a, b int) bool {
		if ps[a].pref != ps[b].pref {
			return ps[a].pref
		}
		return bytes.Compare(ps[a].h[:], ps[b].h[:]) < 0
	})
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.i
	}
	return out
}

// Happiness is the size of a maximum matching in the bipartite graph
// where server s holds the shares has[s].
func Happiness(has [][]int) int {
	m := newMatcher(len(has))
	copy(m.adj, has)
	return m.run()
}

// matcher finds maximum bipartite matchings by augmenting paths
// (Kuhn's algorithm): ample at Tahoe's sizes (≤ 256 shares).
type matcher struct {
	adj     [][]int     // server → shares it may take
	shareTo map[int]int // share → matched server
	seen    map[int]bool
}

func newMatcher(servers int) *matcher {
	return &matcher{adj: make([][]int, servers), shareTo: map[int]int{}}
}

func (m *matcher) try(s int) bool {
	for _, sh := range m.adj[s] {
		if m.seen[sh] {
			continue
		}
		m.seen[sh] = true
		if t, ok := m.shareTo[sh]; !ok || m.try(t) {
			m.shareTo[sh] = s
			return true
		}
	}
	return false
}

func (m *matcher) run() int {
	n := 0
	for s := range m.adj {
		m.seen = map[int]bool{}
		if m.try(s) {
			n++
		}
	}
	return n
}

// serverOf returns server → its matched share.
func (m *matcher) serverOf() map[int]int {
	out := map[int]int{}
	for sh, s := range m.shareTo {
		out[s] = sh
	}
	return out
}

// Server is one candidate for an upload, in ring order.
type Server struct {
	// Writable servers accept new shares; read-only ones only keep what
	// they have.
	Writable bool
	// Existing shares of this file the server already holds.
	Existing []int
	// Refuses are shares this server must not be given: it holds a copy
	// that failed verification, and a complete immutable share cannot be
	// overwritten, so a repairer places the replacement elsewhere.
	Refuses []int
}

func (s Server) refuses(sh int) bool {
	for _, r := range s.Refuses {
		if r == sh {
			return true
		}
	}
	return false
}

// Place assigns each of shares 0…n-1 to a server (by index into servers,
// which are in ring order), following Tahoe's share placement: first keep
// as many existing shares as a maximum matching can credit (read-only
// servers first, then the others), then give every still-unmatched writable
// server one remaining share in ring order, then spread the leftover
// shares over the writable servers, fewest-first. A share that already
// sits on its assigned server needs no upload. Shares with no possible
// server are absent from the result; a share is never given to a server
// that refuses it.
func Place(n int, servers []Server) map[int]int {
	assign := map[int]int{}      // share → server
	usedServer := map[int]bool{} // servers credited with a share
	match := func(only func(s Server) bool) {
		m := newMatcher(len(servers))
		for i, s := range servers {
			if usedServer[i] || !only(s) {
				continue
			}
			for _, sh := range s.Existing {
				if sh >= 0 && sh < n {
					if _, taken := assign[sh]; !taken {
						m.adj[i] = append(m.adj[i], sh)
					}
				}
			}
		}
		m.run()
		for s, sh := range m.serverOf() {
			assign[sh] = s
			usedServer[s] = true
		}
	}
	match(func(s Server) bool { return !s.Writable })
	match(func(s Server) bool { return s.Writable })
	// Unmatched writable servers each get one unplaced share (the first,
	// in share order, that the server does not refuse).
	freeFor := func(s Server) int {
		for sh := 0; sh < n; sh++ {
			if _, ok := assign[sh]; !ok && !s.refuses(sh) {
				return sh
			}
		}
		return -1
	}
	for i, s := range servers {
		if !s.Writable || usedServer[i] {
			continue
		}
		sh := freeFor(s)
		if sh < 0 {
			continue
		}
		assign[sh] = i
		usedServer[i] = true
	}
	// Homeless shares: to the writable servers holding the fewest.
	load := map[int]int{}
	for _, s := range assign {
		load[s]++
	}
	var writable []int
	for i, s := range servers {
		if s.Writable {
			writable = append(writable, i)
		}
	}
	for sh := 0; sh < n; sh++ {
		if _, ok := assign[sh]; ok {
			continue
		}
		best := -1
		for _, w := range writable {
			if !servers[w].refuses(sh) && (best < 0 || load[w] < load[best]) {
				best = w
			}
		}
		if best < 0 {
			continue // no server may take it
		}
		assign[sh] = best
		load[best]++
	}
	return assign
}

// HappinessOf measures a placement plus the shares servers already hold.
func HappinessOf(assign map[int]int, servers []Server) int {
	has := make([][]int, len(servers))
	for i, s := range servers {
		has[i] = append(has[i], s.Existing...)
	}
	for sh, s := range assign {
		has[s] = append(has[s], sh)
	}
	return Happiness(has)
}
