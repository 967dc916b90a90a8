package immutable

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
)

// Upload in one pass over the input, for callers that see the plaintext
// go by once before they can upload it (the web API receiving a PUT body
// whose length it knows): they feed a KeyHasher while they keep the bytes,
// then UploadKeyed reads them once more. Upload's own first pass is the
// same hash, so the caps are the same.
//
// (Added by the web API's owner as a separate file; Upload could become
// "NewKeyHasher, copy, rewind, UploadKeyed" so that there is one path.)

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
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("upload: read input: %w", err)
		}
		return &UploadResult{Cap: &cap.LIT{Data: data}, Bytes: size, Elapsed: time.Since(start)}, nil
	}
	p := c.Params
	l, err := chk.NewLayout(size, p.K, p.N, p.MaxSegmentSize)
	if err != nil {
		return nil, err
	}
	si := storage.SI(taghash.StorageIndex(key))
	uebLen := len((&chk.UEB{CodecName: "crs",
		CodecParams:     fmt.Sprintf("%d-%d-%d", l.SegmentSize, l.K, l.N),
		TailCodecParams: fmt.Sprintf("%d-%d-%d", l.PaddedTail, l.K, l.N),
		NeededShares:    l.K, TotalShares: l.N, NumSegments: l.NumSegments, SegmentSize: l.SegmentSize, Size: l.Size,
	}).Pack())
	var uploadSecret storage.Secret
	if _, err := rand.Read(uploadSecret[:]); err != nil {
		return nil, err
	}
	targets, happiness, err := c.allocate(ctx, si, l.ShareLen(uebLen), uploadSecret, nil)
	if err != nil {
		return nil, err
	}
	c.logger().With("si", si.String()).Debug("upload placed", "happiness", happiness, "size", size)
	abortAll := func() {
		for _, t := range targets {
			if !t.present {
				actx, cancel := c.call(context.WithoutCancel(ctx))
				_ = t.srv.AbortShare(actx, si, t.shnum, uploadSecret)
				cancel()
			}
		}
	}
	w := &serverWriter{c: c, si: si, secret: uploadSecret, targets: targets, happy: p.Happy}
	res, err := chk.Encode(r, key, l, w)
	if err == nil {
		err = w.flushErr()
	}
	if err == nil {
		var one [1]byte
		if n, _ := io.ReadFull(r, one[:]); n > 0 {
			err = fmt.Errorf("%w: more than the %d bytes announced", ErrSourceChanged, size)
		}
	} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: fewer than the %d bytes announced: %w", ErrSourceChanged, size, err)
	}
	if err == nil && int64(len(res.UEB)) != int64(uebLen) {
		err = fmt.Errorf("UEB is %d bytes, expected %d", len(res.UEB), uebLen)
	}
	if err != nil {
		abortAll()
		return nil, fmt.Errorf("upload %s: %w", si, err)
	}
	out := &UploadResult{Placement: map[int]string{}, Bytes: size, Happiness: happinessOfTargets(targets)}
	for sh, t := range targets {
		if t.failed != nil {
			continue
		}
		out.Placement[sh] = t.srv.Info().ID
		if !t.present {
			out.Uploaded++
		}
	}
	ref := res.Ref
	out.Cap = &cap.CHK{Key: ref.Key, UEBHash: ref.UEBHash, K: ref.K, N: ref.N, Size: ref.Size}
	out.Elapsed = time.Since(start)
	return out, nil
}
