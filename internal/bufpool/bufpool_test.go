package bufpool

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestSizesAndReuse(t *testing.T) {
	for _, c := range []struct{ n, size int }{{0, 4096}, {1, 4096}, {4096, 4096}, {4097, 8192}, {1 << 20, 1 << 20}, {1<<20 + 1, 2 << 20}} {
		if got := Size(c.n); got != c.size {
			t.Errorf("Size(%d) = %d, want %d", c.n, got, c.size)
		}
		b := Get(c.n)
		if len(b) != c.n || cap(b) != c.size {
			t.Errorf("Get(%d): len %d cap %d, want %d and %d", c.n, len(b), cap(b), c.n, c.size)
		}
		Put(b)
	}
	// A buffer that is not a class size is not pooled: Get never hands
	// out a short one.
	Put(make([]byte, 5000))
	for range 100 {
		if b := Get(4500); cap(b) != 8192 {
			t.Fatalf("Get(4500) has capacity %d", cap(b))
		}
	}
}

// Recycled buffers are reused: 100 Get/Put rounds of a 64 KiB buffer
// allocate a few buffers at most (one each time the goroutine moves to
// another P, whose pool is empty, and Put's small slice headers), not 100
// buffers (6.5 MB). The GC is off meanwhile so that it cannot empty the
// pool.
func TestRecycledBuffersAreReused(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	Put(Get(64 << 10))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		Put(Get(64 << 10))
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 4*64<<10 {
		t.Errorf("100 rounds of a recycled 64 KiB buffer allocated %d bytes, want at most 4 buffers' worth", n)
	}
}
