package placement

import (
	"math/rand"
	"testing"

	"github.com/lafssync/lafssync/grid/base32"
)

// The ring order depends only on SHA-1(si ‖ seed): the known answer from
// Tahoe's test_hashutil (formats.md §8.2) fixes the hash, and a seed whose
// hash is smaller sorts first.
func TestPermuteOrder(t *testing.T) {
	seed, _ := base32.Decode("u33m4y7klhz3bypswqkozwetvabelhxt")
	seeds := [][]byte{[]byte("b"), seed, []byte("a")}
	order := Permute([]byte("SI"), seeds, nil)
	if len(order) != 3 {
		t.Fatal(order)
	}
	// Recompute independently: preferred first regardless of hash.
	pref := Permute([]byte("SI"), seeds, []bool{false, false, true})
	if pref[0] != 2 {
		t.Errorf("preferred server not first: %v", pref)
	}
	// Stable: a different SI gives (very likely) a different order for many seeds.
	var many [][]byte
	for i := 0; i < 20; i++ {
		many = append(many, []byte{byte(i)})
	}
	a := Permute([]byte("one"), many, nil)
	b := Permute([]byte("two"), many, nil)
	same := true
	for i := range a {
		if a[i] != b[i] {
			same = false
		}
	}
	if same {
		t.Error("two storage indexes gave the same ring order for 20 servers")
	}
}

func TestHappinessKnown(t *testing.T) {
	cases := []struct {
		name string
		has  [][]int
		want int
	}{
		{"empty", nil, 0},
		{"one server all shares", [][]int{{0, 1, 2, 3}}, 1},
		{"distinct", [][]int{{0}, {1}, {2}}, 3},
		{"same share everywhere", [][]int{{0}, {0}, {0}}, 1},
		// Needs an augmenting path: greedy would pair s0-0 and stall s1.
		{"augmenting", [][]int{{0, 1}, {0}}, 2},
		// servers-of-happiness.rst style: 4 servers, shares 0..3 with overlap.
		{"overlap", [][]int{{0, 1}, {1, 2}, {2, 3}, {3}}, 4},
		{"more servers than shares", [][]int{{0}, {1}, {0, 1}, {1}}, 2},
	}
	for _, c := range cases {
		if got := Happiness(c.has); got != c.want {
			t.Errorf("%s: happiness %d, want %d", c.name, got, c.want)
		}
	}
}

func TestPlaceSpreadsShares(t *testing.T) {
	for _, ns := range []int{1, 3, 7, 10, 15} {
		servers := make([]Server, ns)
		for i := range servers {
			servers[i].Writable = true
		}
		a := Place(10, servers)
		if len(a) != 10 {
			t.Fatalf("%d servers: placed %d of 10 shares", ns, len(a))
		}
		if got, want := HappinessOf(a, servers), min(10, ns); got != want {
			t.Errorf("%d servers: happiness %d, want %d", ns, got, want)
		}
	}
}

func TestPlaceKeepsExisting(t *testing.T) {
	// A read-only server holding share 3 keeps being credited with it.
	servers := []Server{{Writable: false, Existing: []int{3}}, {Writable: true}, {Writable: true, Existing: []int{0}}}
	a := Place(4, servers)
	if a[3] != 0 || a[0] != 2 {
		t.Errorf("existing shares moved: %v", a)
	}
	if HappinessOf(a, servers) != 3 {
		t.Errorf("happiness %d", HappinessOf(a, servers))
	}
	// No writable servers: only existing shares are placed.
	a = Place(4, []Server{{Existing: []int{1}}})
	if len(a) != 1 || a[1] != 0 {
		t.Errorf("read-only only: %v", a)
	}
}

// Property: the placement's happiness equals the best possible, which is
// the maximum matching where writable servers may take any share.
func TestPlaceIsOptimal(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.Intn(12)
		servers := make([]Server, rng.Intn(15))
		for i := range servers {
			servers[i].Writable = rng.Intn(3) > 0
			for sh := 0; sh < n; sh++ {
				if rng.Intn(4) == 0 {
					servers[i].Existing = append(servers[i].Existing, sh)
				}
			}
		}
		best := make([][]int, len(servers))
		for i, s := range servers {
			best[i] = append(best[i], s.Existing...)
			if s.Writable {
				for sh := 0; sh < n; sh++ {
					best[i] = append(best[i], sh)
				}
			}
		}
		a := Place(n, servers)
		if got, want := HappinessOf(a, servers), Happiness(best); got != want {
			t.Fatalf("trial %d: placement happiness %d, optimum %d (%+v → %v)", trial, got, want, servers, a)
		}
		for sh, s := range a {
			if !servers[s].Writable && !contains(servers[s].Existing, sh) {
				t.Fatalf("trial %d: share %d placed on read-only server %d", trial, sh, s)
			}
		}
	}
}

func contains(a []int, x int) bool {
	for _, v := range a {
		if v == x {
			return true
		}
	}
	return false
}

func BenchmarkPlace256x1000(b *testing.B) {
	servers := make([]Server, 1000)
	for i := range servers {
		servers[i].Writable = i%5 != 0
		servers[i].Existing = []int{i % 256}
	}
	for b.Loop() {
		Place(256, servers)
	}
}

// A server holding a corrupt copy of a share refuses it: the share goes to
// another server, and the refusing server still takes what it can.
func TestPlaceRespectsRefusals(t *testing.T) {
	servers := make([]Server, 10)
	for i := range servers {
		servers[i] = Server{Writable: true, Existing: []int{i}}
	}
	servers[3] = Server{Writable: true, Refuses: []int{3}} // its share 3 is corrupt
	assign := Place(10, servers)
	if len(assign) != 10 {
		t.Fatalf("placed %d of 10 shares: %v", len(assign), assign)
	}
	if assign[3] == 3 {
		t.Fatal("share 3 went back to the server that refuses it")
	}
	for sh := 0; sh < 10; sh++ {
		if sh != 3 && assign[sh] != sh {
			t.Errorf("share %d moved from its holder to server %d", sh, assign[sh])
		}
	}
	// A server refusing every share gets none, even with nothing else to do.
	servers = []Server{{Writable: true, Refuses: []int{0, 1}}, {Writable: true}}
	assign = Place(2, servers)
	if assign[0] != 1 || assign[1] != 1 {
		t.Errorf("refusing server was given shares: %v", assign)
	}
}
