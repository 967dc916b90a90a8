// Package vv is the version vector the folder sync uses to tell, without
// clocks, whether one version of a file descends from another or whether
// two devices changed it independently (a conflict). docs/sync-format.md.
package vv

import (
	"maps"
	"slices"
	"strings"
)

// Vector counts, per device, the changes that led to a version. The zero
// value (nil) is the empty vector: "no version yet".
type Vector map[string]uint64

// Order is how two vectors relate.
type Order int

const (
	Equal      Order = iota // the same version
	Before                  // the receiver is an ancestor of the other
	After                   // the receiver descends from the other
	Concurrent              // neither descends from the other: a conflict
)

func (o Order) String() string {
	return [...]string{"equal", "before", "after", "concurrent"}[o]
}

// Compare says how v relates to o.
func (v Vector) Compare(o Vector) Order {
	less, more := false, false
	for d, n := range v {
		if m := o[d]; n < m {
			less = true
		} else if n > m {
			more = true
		}
	}
	for d, m := range o {
		if _, ok := v[d]; !ok && m > 0 {
			less = true
		}
	}
	switch {
	case less && more:
		return Concurrent
	case less:
		return Before
	case more:
		return After
	}
	return Equal
}

// Bump returns a copy of v with device's counter one higher: the vector of
// a change device makes to the version v.
func (v Vector) Bump(device string) Vector {
	out := v.Clone()
	if out == nil {
		out = Vector{}
	}
	out[device]++
	return out
}

// Merge returns the least vector that descends from both v and o.
func (v Vector) Merge(o Vector) Vector {
	out := v.Clone()
	if out == nil {
		out = Vector{}
	}
	for d, m := range o {
		if m > out[d] {
			out[d] = m
		}
	}
	return out
}

// Clone copies v (nil stays nil).
func (v Vector) Clone() Vector {
	if v == nil {
		return nil
	}
	return maps.Clone(v)
}

// IsZero says whether v is the empty vector.
func (v Vector) IsZero() bool {
	for _, n := range v {
		if n > 0 {
			return false
		}
	}
	return true
}

// String is "A:3,B:1" in device order, for logs.
func (v Vector) String() string {
	keys := slices.Sorted(maps.Keys(v))
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(uitoa(v[k]))
	}
	return b.String()
}

func uitoa(n uint64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}
