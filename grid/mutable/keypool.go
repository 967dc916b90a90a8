package mutable

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"sync"
)

// KeyPool generates RSA keys in the background so creating a file does
// not wait 100 ms or more for one. It keeps at most size keys ready and
// runs one generator goroutine, stopped by Close.
type KeyPool struct {
	keys   chan *rsa.PrivateKey
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewKeyPool starts a pool holding up to size (≥ 1) ready keys.
func NewKeyPool(size int) *KeyPool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &KeyPool{keys: make(chan *rsa.PrivateKey, max(size, 1)), cancel: cancel}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for ctx.Err() == nil {
			k, err := rsa.GenerateKey(rand.Reader, KeyBits)
			if err != nil {
				return
			}
			select {
			case p.keys <- k:
			case <-ctx.Done():
				return
			}
		}
	}()
	return p
}

// Get returns a ready key, waiting for one if the pool is empty.
func (p *KeyPool) Get(ctx context.Context) (*rsa.PrivateKey, error) {
	select {
	case k := <-p.keys:
		return k, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops the generator and waits for it.
func (p *KeyPool) Close() {
	p.cancel()
	p.wg.Wait()
}
