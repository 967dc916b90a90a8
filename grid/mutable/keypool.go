package mutable

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
)

// errPoolClosed answers a Get on a closed pool with no key left in it.
var errPoolClosed = errors.New("the key pool is closed (the node is stopping)")

// KeyPool generates RSA keys in the background so creating a file does
// not wait 100 ms or more for one. It keeps at most size keys ready and
// runs one generator goroutine, stopped by Close.
//
// The generator starts with the first Get (or Warm), not with the pool: a
// node that never creates a mutable file (a storage server, a client
// with no folders) spends no CPU on keys. Filling a pool of 8 costs about
// a second of CPU on a 2-core machine, and every node process used to
// pay it at start.
type KeyPool struct {
	keys   chan *rsa.PrivateKey
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	started bool // the generator runs or ran; guarded by mu
	closed  bool // guarded by mu
	wg      sync.WaitGroup
}

// NewKeyPool makes a pool holding up to size (≥ 1) ready keys. It
// generates none until the first Get or Warm.
func NewKeyPool(size int) *KeyPool {
	ctx, cancel := context.WithCancel(context.Background())
	return &KeyPool{keys: make(chan *rsa.PrivateKey, max(size, 1)), ctx: ctx, cancel: cancel}
}

// Warm starts filling the pool, for a caller that knows keys will be
// wanted soon. Get does it too.
func (p *KeyPool) Warm() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closed {
		return
	}
	p.started = true
	p.wg.Go(p.generate)
}

func (p *KeyPool) generate() {
	for p.ctx.Err() == nil {
		k, err := rsa.GenerateKey(rand.Reader, KeyBits)
		if err != nil {
			return
		}
		select {
		case p.keys <- k:
		case <-p.ctx.Done():
			return
		}
	}
}

// Get returns a ready key, waiting for one if the pool is empty.
func (p *KeyPool) Get(ctx context.Context) (*rsa.PrivateKey, error) {
	p.Warm()
	select {
	case k := <-p.keys:
		return k, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.ctx.Done():
		return nil, errPoolClosed
	}
}

// Close stops the generator and waits for it.
func (p *KeyPool) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
}
