// Package bufpool recycles byte buffers in power-of-two size classes, for
// hot paths that would otherwise allocate (and have the kernel zero) a
// fresh buffer per segment or per request: the CHK encoder's segment
// buffers, a storage server's request body buffer. Idle buffers are the
// sync.Pools' to drop at any garbage collection, so the pool holds no
// memory of its own that a bound elsewhere does not already count —
// provided the caller counts Size(n), the capacity it really holds, not n.
package bufpool

import (
	"math/bits"
	"sync"
)

// minClass is the smallest class: 4 KiB.
const minClass = 12

var pools [48]sync.Pool // class c holds *[]byte of capacity 1<<c

func class(n int) int { return max(minClass, bits.Len(uint(max(n, 1)-1))) }

// Size is the capacity of the buffer Get(n) returns: n rounded up to a
// power of two, at least 4 KiB.
func Size(n int) int {
	c := class(n)
	if c >= len(pools) {
		return n
	}
	return 1 << c
}

// Get returns a buffer of length n and capacity Size(n); its contents are
// garbage.
func Get(n int) []byte {
	c := class(n)
	if c >= len(pools) {
		return make([]byte, n)
	}
	if b, ok := pools[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<c)
}

// Put recycles a buffer from Get. Nothing may use b afterwards. A buffer
// not from Get (its capacity is no class size) is left to the garbage
// collector.
func Put(b []byte) {
	c := class(cap(b))
	if c >= len(pools) || cap(b) != 1<<c {
		return
	}
	b = b[:0]
	pools[c].Put(&b)
}
