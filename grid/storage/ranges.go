package storage

import "slices"

// Range is the byte range [Start, End).
type Range struct{ Start, End uint64 }

// Ranges is a set of byte ranges, kept sorted and merged. Servers use it
// to track which bytes of an upload have arrived.
type Ranges []Range

// Add inserts [start, end) and returns how many bytes were not yet covered.
func (rs *Ranges) Add(start, end uint64) uint64 {
	if end <= start {
		return 0
	}
	before := rs.Covered()
	n := Range{start, end}
	out := (*rs)[:0:0]
	for _, r := range *rs {
		if r.End < n.Start || r.Start > n.End {
			out = append(out, r)
			continue
		}
		n = Range{min(r.Start, n.Start), max(r.End, n.End)}
	}
	out = append(out, n)
	slices.SortFunc(out, func(a, b Range) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	*rs = out
	return rs.Covered() - before
}

// Covered is the number of bytes in the set.
func (rs Ranges) Covered() uint64 {
	var n uint64
	for _, r := range rs {
		n += r.End - r.Start
	}
	return n
}

// Overlaps calls fn for each part of [start, end) already in the set.
func (rs Ranges) Overlaps(start, end uint64, fn func(lo, hi uint64) error) error {
	for _, r := range rs {
		if lo, hi := max(r.Start, start), min(r.End, end); lo < hi {
			if err := fn(lo, hi); err != nil {
				return err
			}
		}
	}
	return nil
}

// Missing lists the parts of [0, size) not in the set.
func (rs Ranges) Missing(size uint64) []Range {
	out := []Range{}
	pos := uint64(0)
	for _, r := range rs {
		if r.Start > pos {
			out = append(out, Range{pos, min(r.Start, size)})
		}
		pos = max(pos, r.End)
	}
	if pos < size {
		out = append(out, Range{pos, size})
	}
	return out
}
