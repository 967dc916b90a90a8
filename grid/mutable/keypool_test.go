package mutable

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// generators counts the goroutines running KeyPool.generate.
func generators() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return bytes.Count(buf, []byte("mutable.(*KeyPool).generate")) + bytes.Count(buf, []byte("mutable.NewKeyPool.func"))
}

// A pool generates nothing until a key is wanted: a node that never makes
// a mutable file pays no RSA key generation (each pool of 8 cost every
// node process about a second of CPU at start).
func TestKeyPoolIsLazy(t *testing.T) {
	if testing.Short() {
		t.Skip("generates RSA keys")
	}
	before := generators()
	p := NewKeyPool(2)
	if n := generators() - before; n != 0 {
		t.Fatalf("%d key generators run before any key was asked for", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k, err := p.Get(ctx)
	if err != nil || k == nil || k.N.BitLen() != KeyBits {
		t.Fatalf("Get: %v, %v", k, err)
	}
	if n := generators() - before; n != 1 {
		t.Errorf("%d key generators after the first Get, want 1 (keeping the pool full)", n)
	}
	p.Close()
	if n := generators() - before; n != 0 {
		t.Errorf("%d key generators left after Close", n)
	}
	p.Warm() // after Close: starts nothing
	if n := generators() - before; n != 0 {
		t.Errorf("Warm after Close started %d generators", n)
	}
	// A Get on a closed, drained pool fails rather than waiting forever.
	for range cap(p.keys) + 1 {
		if _, err = p.Get(ctx); err != nil {
			break
		}
	}
	if !errors.Is(err, errPoolClosed) {
		t.Errorf("Get on a closed pool: %v, want errPoolClosed", err)
	}
}
