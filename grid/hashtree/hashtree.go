// Package hashtree implements Tahoe-LAFS's Merkle trees (docs/formats.md §2.4):
// leaves are padded to a power of two with tagged "empty leaf" hashes, and
// nodes are stored breadth-first in a flat array, root at index 0.
//
// Tree builds complete trees for writers; Partial holds a tree that a reader
// fills in from untrusted data and checks against a trusted root.
package hashtree

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/lafssync/lafssync/grid/taghash"
)

// Hash is one node of a tree.
type Hash = [taghash.HashSize]byte

// Pow2 is the smallest power of two >= n (1 for n <= 1).
func Pow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// NodeCount is the number of nodes of a tree over n leaves.
func NodeCount(leaves int) int { return 2*Pow2(leaves) - 1 }

// EmptyLeaf is the padding hash for leaf position i.
func EmptyLeaf(i int) Hash {
	return taghash.Tagged(taghash.TagMerkleEmptyLeaf, []byte(strconv.Itoa(i)))
}

// PairHash is the hash of an interior node.
func PairHash(l, r Hash) Hash { return taghash.TaggedPair(taghash.TagMerkleInternal, l[:], r[:]) }

// Tree is a complete tree in breadth-first order.
type Tree []Hash

// New builds the tree over leaves.
func New(leaves []Hash) Tree {
	p := Pow2(len(leaves))
	t := make(Tree, 2*p-1)
	first := p - 1
	for i := 0; i < p; i++ {
		if i < len(leaves) {
			t[first+i] = leaves[i]
		} else {
			t[first+i] = EmptyLeaf(i)
		}
	}
	for i := first - 1; i >= 0; i-- {
		t[i] = PairHash(t[2*i+1], t[2*i+2])
	}
	return t
}

// Root is the tree's root hash.
func (t Tree) Root() Hash { return t[0] }

// LeafIndex is the flat index of leaf j in a tree of nodes nodes.
func LeafIndex(nodes, j int) int { return (nodes+1)/2 - 1 + j }

// Needed lists the flat indexes a reader needs to check leaf j against the
// root: the sibling of every node on the path up (root excluded), plus the
// leaf itself when includeLeaf. The result is in ascending order.
func Needed(nodes, j int, includeLeaf bool) []int {
	i := LeafIndex(nodes, j)
	var out []int
	if includeLeaf {
		out = append(out, i)
	}
	for i > 0 {
		out = append(out, sibling(i))
		i = (i - 1) / 2
	}
	sortInts(out)
	return out
}

func sibling(i int) int {
	if i%2 == 1 {
		return i + 1
	}
	return i - 1
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// ErrBadHash reports that supplied hashes do not chain up to the trusted root.
var ErrBadHash = errors.New("hash tree: hashes do not match the trusted root")

// Partial is a tree known only in part. Nodes become trusted once they are
// proven to chain to the root, which is trusted from the start.
type Partial struct {
	nodes []Hash
	known []bool
}

// NewPartial makes a tree over the given number of leaves with a trusted root.
func NewPartial(leaves int, root Hash) *Partial {
	n := NodeCount(leaves)
	p := &Partial{nodes: make([]Hash, n), known: make([]bool, n)}
	p.nodes[0], p.known[0] = root, true
	return p
}

// Nodes is the flat size of the tree.
func (p *Partial) Nodes() int { return len(p.nodes) }

// Leaf returns leaf j if it is trusted.
func (p *Partial) Leaf(j int) (Hash, bool) {
	i := LeafIndex(len(p.nodes), j)
	if i < 0 || i >= len(p.nodes) {
		return Hash{}, false
	}
	return p.nodes[i], p.known[i]
}

// Known reports whether node i is trusted.
func (p *Partial) Known(i int) bool { return i >= 0 && i < len(p.nodes) && p.known[i] }

// Add checks candidate nodes (flat index → hash) and, if together with
// what is already trusted they chain up to the root, trusts them all. On a
// mismatch nothing is trusted and ErrBadHash (wrapped) is returned.
func (p *Partial) Add(cand map[int]Hash) error {
	n := len(p.nodes)
	tmp := make(map[int]Hash, len(cand))
	for i, h := range cand {
		if i < 0 || i >= n {
			return fmt.Errorf("hash tree: node index %d out of range (tree has %d nodes)", i, n)
		}
		if p.known[i] {
			if p.nodes[i] != h {
				return fmt.Errorf("%w: node %d differs from the trusted value", ErrBadHash, i)
			}
			continue
		}
		tmp[i] = h
	}
	avail := func(i int) (Hash, bool) {
		if p.known[i] {
			return p.nodes[i], true
		}
		h, ok := tmp[i]
		return h, ok
	}
	// A parent's index is always below its children's, so one pass from the
	// bottom computes every parent whose two children are present and
	// compares it with any value already supplied or trusted.
	for l := n - 2; l >= 1; l -= 2 {
		lh, lok := avail(l)
		rh, rok := avail(l + 1)
		if !lok || !rok {
			continue
		}
		parent := (l - 1) / 2
		ph := PairHash(lh, rh)
		if want, ok := avail(parent); ok {
			if want != ph {
				return fmt.Errorf("%w: node %d", ErrBadHash, parent)
			}
			continue
		}
		tmp[parent] = ph
	}
	// Every candidate must reach a trusted node through checked pairs.
	for i := range cand {
		for j := i; !p.known[j]; j = (j - 1) / 2 {
			if _, ok := avail(sibling(j)); !ok {
				return fmt.Errorf("hash tree: node %d cannot be checked: the hash of node %d is missing", i, sibling(j))
			}
		}
	}
	for i, h := range tmp {
		p.nodes[i], p.known[i] = h, true
	}
	return nil
}
