package hashtree

import (
	"errors"
	"reflect"
	"testing"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/taghash"
)

// The example of ../shared/reference/formats.md §8.2, computed there from
// Tahoe's hashtree.py.
func TestTahoeExample(t *testing.T) {
	leaves := []Hash{}
	for i := 0; i < 3; i++ {
		leaves = append(leaves, taghash.Tagged("x", []byte{byte(i)}))
	}
	tr := New(leaves)
	if len(tr) != 7 {
		t.Fatalf("tree has %d nodes, want 7", len(tr))
	}
	root := tr.Root()
	if got := base32.Encode(root[:]); got != "zksbqqkilgn62ue2exfuf4ojx4q3lzn624675sp7g2u6bx2b2trq" {
		t.Errorf("root = %s", got)
	}
	if got := Needed(7, 0, true); !reflect.DeepEqual(got, []int{2, 3, 4}) {
		t.Errorf("Needed(7,0) = %v", got)
	}
	if got := Needed(31, 0, true); !reflect.DeepEqual(got, []int{2, 4, 8, 15, 16}) {
		t.Errorf("Needed(31,0) = %v", got)
	}
	if got := Needed(31, 9, true); !reflect.DeepEqual(got, []int{1, 6, 12, 23, 24}) {
		t.Errorf("Needed(31,9) = %v", got)
	}
}

func TestSingleLeafIsRoot(t *testing.T) {
	l := taghash.Tagged("x", nil)
	if New([]Hash{l}).Root() != l {
		t.Error("single-leaf tree root is not the leaf")
	}
}

func TestPartial(t *testing.T) {
	var leaves []Hash
	for i := 0; i < 10; i++ {
		leaves = append(leaves, taghash.Tagged("leaf", []byte{byte(i)}))
	}
	tr := New(leaves)
	for j := 0; j < 10; j++ {
		p := NewPartial(10, tr.Root())
		cand := map[int]Hash{}
		for _, i := range Needed(len(tr), j, true) {
			cand[i] = tr[i]
		}
		if err := p.Add(cand); err != nil {
			t.Fatalf("leaf %d: %v", j, err)
		}
		if h, ok := p.Leaf(j); !ok || h != leaves[j] {
			t.Fatalf("leaf %d not trusted after Add", j)
		}
		// Tamper with one node: rejected and nothing new trusted.
		p2 := NewPartial(10, tr.Root())
		bad := map[int]Hash{}
		for i, h := range cand {
			bad[i] = h
		}
		li := LeafIndex(len(tr), j)
		bad[li] = taghash.Tagged("evil", nil)
		if err := p2.Add(bad); !errors.Is(err, ErrBadHash) {
			t.Fatalf("leaf %d: tampered add gave %v", j, err)
		}
		if _, ok := p2.Leaf(j); ok {
			t.Fatalf("leaf %d trusted after a failed add", j)
		}
	}
	// Missing sibling is an error, not a silent success.
	p := NewPartial(10, tr.Root())
	if err := p.Add(map[int]Hash{LeafIndex(len(tr), 0): leaves[0]}); err == nil {
		t.Error("leaf without siblings accepted")
	}
	if err := p.Add(map[int]Hash{99: leaves[0]}); err == nil {
		t.Error("out-of-range index accepted")
	}
}
