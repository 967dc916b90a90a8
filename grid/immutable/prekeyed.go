package immutable

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/grid/taghash"
)

// Upload in one pass over the input, for callers that see the plaintext
// go by once before they can upload it (the web API receiving a PUT body
// whose length it knows): they feed a KeyHasher while they keep the bytes,
// then UploadKeyed reads them once more. Upload's own first pass is the
// same hash, so the caps are the same.
// Both end in the same encodeAndPlace.

// KeyHasher computes the convergent key Upload would derive for a file of
// a given size, as its bytes are written to it.
type KeyHasher struct {
	h    *taghash.Hasher // nil without a convergence secret: random key
	size int64
	n    int64
}

// NewKeyHasher starts the key of a size-byte file under c's parameters
// and convergence secret.
func (c *Client) NewKeyHasher(size int64) (*KeyHasher, error) {
	if err := c.Params.validate(); err != nil {
		return nil, err
	}
	k := &KeyHasher{size: size}
	if c.Convergence == nil || size <= chk.LITThreshold {
		return k, nil
	}
	l, err := chk.NewLayout(size, c.Params.K, c.Params.N, c.Params.MaxSegmentSize)
	if err != nil {
		return nil, err
	}
	if k.h, err = taghash.NewConvergence(l.K, l.N, int(l.SegmentSize), c.Convergence); err != nil {
		return nil, err
	}
	return k, nil
}

// Write hashes p.
func (k *KeyHasher) Write(p []byte) (int, error) {
	k.n += int64(len(p))
	if k.h != nil {
		k.h.Write(p)
	}
	return len(p), nil
}

// Key is the file's key: convergent, or random when the client has no
// convergence secret (as Upload does). It fails unless exactly the
// announced size was written.
func (k *KeyHasher) Key() ([16]byte, error) {
	var key [16]byte
	if k.n != k.size {
		return key, fmt.Errorf("upload: %w: %d bytes announced, %d hashed", ErrSourceChanged, k.size, k.n)
	}
	if k.h != nil {
		return k.h.Key(), nil
	}
	_, err := rand.Read(key[:])
	return key, err
}

// UploadKeyed is Upload without its key pass: r yields exactly size bytes
// whose key is key (from a KeyHasher over the same bytes, or any key for a
// non-convergent upload). r is read once, sequentially.
func (c *Client) UploadKeyed(ctx context.Context, r io.Reader, size int64, key [16]byte) (*UploadResult, error) {
	start := time.Now()
	if err := c.Params.validate(); err != nil {
		return nil, err
	}
	if size <= chk.LITThreshold {
		return uploadLIT(r, size, start)
	}
	l, err := chk.NewLayout(size, c.Params.K, c.Params.N, c.Params.MaxSegmentSize)
	if err != nil {
		return nil, err
	}
	return c.encodeAndPlace(ctx, r, l, key, start, func(err error) error {
		if err == nil {
			var one [1]byte
			if n, _ := io.ReadFull(r, one[:]); n > 0 {
				return fmt.Errorf("%w: more than the %d bytes announced", ErrSourceChanged, size)
			}
		} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: fewer than the %d bytes announced: %w", ErrSourceChanged, size, err)
		}
		return err
	})
}
