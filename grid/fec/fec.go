// Package fec is Reed-Solomon erasure coding that produces exactly the
// shares zfec (and so Tahoe-LAFS) produces, built on klauspost/reedsolomon
// with zfec's generator matrix (docs/formats.md "Erasure coding").
//
// zfec's matrix is a Vandermonde matrix over the points 0, 1, α, α², …
// made systematic by multiplying with the inverse of its top k×k block:
// shares 0…k-1 are the input pieces, shares k…n-1 are parity.
package fec

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// Code encodes k pieces into n shares and decodes any k of them.
// A Code is safe for concurrent use.
type Code struct {
	K, N int
	enc  reedsolomon.Encoder // nil when k == n (no parity)
}

var cache sync.Map // [2]int → *Code

// New returns the code for k-of-n, 1 ≤ k ≤ n ≤ 256. Codes are cached.
func New(k, n int) (*Code, error) {
	if k < 1 || k > n || n > 256 {
		return nil, fmt.Errorf("fec: need 1 <= k <= n <= 256, got k=%d n=%d", k, n)
	}
	key := [2]int{k, n}
	if c, ok := cache.Load(key); ok {
		return c.(*Code), nil
	}
	c := &Code{K: k, N: n}
	if n > k {
		enc, err := reedsolomon.New(k, n-k, reedsolomon.WithCustomMatrix(ParityRows(k, n)))
		if err != nil {
			return nil, fmt.Errorf("fec: %d-of-%d: %w", k, n, err)
		}
		c.enc = enc
	}
	actual, _ := cache.LoadOrStore(key, c)
	return actual.(*Code), nil
}

// Encode fills shares[k:n] with parity computed from shares[0:k]. All n
// slices must have the same length; shares[k:] are overwritten.
func (c *Code) Encode(shares [][]byte) error {
	if len(shares) != c.N {
		return fmt.Errorf("fec: encode needs %d shares, got %d", c.N, len(shares))
	}
	if c.enc == nil {
		return nil
	}
	return c.enc.Encode(shares)
}

// ErrTooFewShares means fewer than k distinct shares were given to Decode.
var ErrTooFewShares = errors.New("fec: fewer than k shares")

// Decode restores the k data pieces in place: shares has length n, missing
// shares are nil, and on return shares[0:k] hold the data. Parity shares
// are not rebuilt.
func (c *Code) Decode(shares [][]byte) error {
	if len(shares) != c.N {
		return fmt.Errorf("fec: decode needs a slice of %d shares, got %d", c.N, len(shares))
	}
	have := 0
	for _, s := range shares {
		if s != nil {
			have++
		}
	}
	if have < c.K {
		return fmt.Errorf("%w: have %d of %d", ErrTooFewShares, have, c.K)
	}
	if c.enc == nil {
		return nil
	}
	return c.enc.ReconstructData(shares)
}

// ParityRows returns zfec's parity rows (n-k rows of k bytes) for k-of-n.
func ParityRows(k, n int) [][]byte {
	// Vandermonde rows: row 0 = [1 0 … 0]; row r ≥ 1 = α^((r-1)·c).
	v := make([][]byte, n)
	for r := range v {
		v[r] = make([]byte, k)
		if r == 0 {
			v[0][0] = 1
			continue
		}
		for c := 0; c < k; c++ {
			v[r][c] = gfExp[((r-1)*c)%255]
		}
	}
	inv := invert(v[:k])
	out := make([][]byte, n-k)
	for i := range out {
		out[i] = mulRow(v[k+i], inv)
	}
	return out
}

// GF(2^8) with polynomial x^8+x^4+x^3+x^2+1 (0x11d) and generator 2, as zfec.
var gfExp, gfLog = func() (e [510]byte, l [256]byte) {
	x := 1
	for i := 0; i < 255; i++ {
		e[i] = byte(x)
		l[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11d
		}
	}
	for i := 255; i < 510; i++ {
		e[i] = e[i-255]
	}
	return
}()

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

func gfInv(a byte) byte { return gfExp[255-int(gfLog[a])] }

// mulRow multiplies row vector r by square matrix m.
func mulRow(r []byte, m [][]byte) []byte {
	out := make([]byte, len(m[0]))
	for j := range out {
		var acc byte
		for i := range r {
			acc ^= gfMul(r[i], m[i][j])
		}
		out[j] = acc
	}
	return out
}

// invert returns the inverse of a square Vandermonde block by Gauss-Jordan
// elimination. The block is always invertible (distinct evaluation points).
func invert(in [][]byte) [][]byte {
	k := len(in)
	a := make([][]byte, k)
	inv := make([][]byte, k)
	for i := range a {
		a[i] = append([]byte(nil), in[i]...)
		inv[i] = make([]byte, k)
		inv[i][i] = 1
	}
	for col := 0; col < k; col++ {
		p := col
		for a[p][col] == 0 {
			p++
		}
		a[col], a[p] = a[p], a[col]
		inv[col], inv[p] = inv[p], inv[col]
		s := gfInv(a[col][col])
		for j := 0; j < k; j++ {
			a[col][j] = gfMul(a[col][j], s)
			inv[col][j] = gfMul(inv[col][j], s)
		}
		for r := 0; r < k; r++ {
			if r == col || a[r][col] == 0 {
				continue
			}
			f := a[r][col]
			for j := 0; j < k; j++ {
				a[r][j] ^= gfMul(f, a[col][j])
				inv[r][j] ^= gfMul(f, inv[col][j])
			}
		}
	}
	return inv
}
