package storage

import (
	"reflect"
	"testing"
)

func TestRanges(t *testing.T) {
	var rs Ranges
	steps := []struct {
		start, end, added uint64
	}{{0, 10, 10}, {5, 15, 5}, {20, 30, 10}, {15, 20, 5}, {0, 30, 0}, {40, 40, 0}}
	for _, s := range steps {
		if got := rs.Add(s.start, s.end); got != s.added {
			t.Errorf("Add(%d,%d) added %d, want %d", s.start, s.end, got, s.added)
		}
	}
	if !reflect.DeepEqual(rs, Ranges{{0, 30}}) {
		t.Errorf("set %v", rs)
	}
	rs.Add(35, 40)
	if got := rs.Missing(50); !reflect.DeepEqual(got, []Range{{30, 35}, {40, 50}}) {
		t.Errorf("missing %v", got)
	}
	var parts [][2]uint64
	rs.Overlaps(25, 38, func(lo, hi uint64) error { parts = append(parts, [2]uint64{lo, hi}); return nil })
	if !reflect.DeepEqual(parts, [][2]uint64{{25, 30}, {35, 38}}) {
		t.Errorf("overlaps %v", parts)
	}
}
