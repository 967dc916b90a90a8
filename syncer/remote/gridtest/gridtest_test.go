package gridtest

import (
	"context"
	"testing"
)

func TestParams(t *testing.T) {
	for n, want := range map[int][3]int{10: {3, 7, 10}, 5: {2, 3, 5}, 1: {1, 1, 1}, 20: {3, 7, 10}} {
		p := New(n).Params()
		if got := [3]int{p.K, p.Happy, p.N}; got != want {
			t.Errorf("New(%d): k/happy/n %v, want %v", n, got, want)
		}
	}
}

func TestOfflineAndHealth(t *testing.T) {
	g := New(10)
	if h := g.Health(); !h.OK() || h.Reachable != 10 || h.Known != 10 || h.Happy != 7 {
		t.Fatalf("health %+v", h)
	}
	g.Offline(4)
	if h := g.Health(); h.OK() || h.Reachable != 6 {
		t.Fatalf("health with 4 offline %+v", h)
	}
	if n := len(g.Dirs().Servers); n != 6 {
		t.Fatalf("dirs client has %d servers, want the 6 online", n)
	}
	if _, err := g.Servers[0].Version(context.Background()); err == nil {
		t.Fatal("an offline server answered")
	}
	g.SetOffline(0, false)
	if h := g.Health(); h.Reachable != 7 || !h.OK() {
		t.Fatalf("health %+v", h)
	}
}

func TestKeysDistinctAndValid(t *testing.T) {
	g := New(1)
	seen := map[string]bool{}
	for i := 0; i < 400; i++ {
		k, err := g.NewKey(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if k.N.BitLen() != 2048 {
			t.Fatalf("key %d has %d bits", i, k.N.BitLen())
		}
		if seen[k.N.String()] {
			t.Fatalf("key %d handed out twice", i)
		}
		seen[k.N.String()] = true
	}
}
