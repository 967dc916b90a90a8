package vv

import "testing"

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		a, b Vector
		want Order
	}{
		{nil, nil, Equal},
		{nil, Vector{"A": 0}, Equal},
		{nil, Vector{"A": 1}, Before},
		{Vector{"A": 1}, nil, After},
		{Vector{"A": 1, "B": 2}, Vector{"A": 1, "B": 2}, Equal},
		{Vector{"A": 1}, Vector{"A": 1, "B": 1}, Before},
		{Vector{"A": 2}, Vector{"A": 1, "B": 1}, Concurrent},
		{Vector{"A": 2, "B": 1}, Vector{"A": 1, "B": 1}, After},
	} {
		if got := c.a.Compare(c.b); got != c.want {
			t.Errorf("%v vs %v: %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestBumpMerge(t *testing.T) {
	base := Vector{"A": 1}
	a, b := base.Bump("A"), base.Bump("B")
	if base["A"] != 1 || len(base) != 1 {
		t.Fatalf("Bump changed its receiver: %v", base)
	}
	if a.Compare(b) != Concurrent {
		t.Fatalf("independent changes %v and %v are not concurrent", a, b)
	}
	m := a.Merge(b).Bump("A")
	if m.Compare(a) != After || m.Compare(b) != After {
		t.Fatalf("merge %v does not descend from both", m)
	}
	if s := m.String(); s != "A:3,B:1" {
		t.Fatalf("String = %q", s)
	}
}
