package chk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"testing"
)

// nullSink discards share bytes; the encoder's own work is what is measured.
type nullSink struct{}

func (nullSink) WriteAt(int, int64, []byte) error { return nil }

// patternReader yields size deterministic bytes without holding them.
type patternReader struct{ left int64 }

var pattern = func() []byte {
	p := make([]byte, 1<<20+7)
	for i := range p {
		p[i] = byte(i*7 + i>>11)
	}
	return p
}()

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.left))
	for done := 0; done < n; {
		start := int(r.left % 7)
		done += copy(p[done:n], pattern[start:])
	}
	r.left -= int64(n)
	return n, nil
}

var benchSizes = func() []int64 {
	s := []int64{1 << 20, 64 << 20}
	// scripts/bench.sh adds the 1 GiB case (it needs ~4 GB of RAM for the
	// in-memory decode benchmark).
	if os.Getenv("LAFSSYNC_BENCH_1GIB") != "" {
		s = append(s, 1<<30)
	}
	return s
}()

// BenchmarkEncode measures a full CHK encode (AES-CTR, FEC k=3 n=10,
// block/segment/whole hashes, trees, UEB) at the default segment size.
func BenchmarkEncode(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			l, _ := NewLayout(size, 3, 10, DefaultMaxSegmentSize)
			b.SetBytes(size)
			for b.Loop() {
				if _, err := Encode(&patternReader{left: size}, [16]byte{1}, l, nullSink{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeWithKey adds the convergence pass (hash of the plaintext)
// that a real upload does first.
func BenchmarkEncodeWithKey(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			l, _ := NewLayout(size, 3, 10, DefaultMaxSegmentSize)
			b.SetBytes(size)
			for b.Loop() {
				key, err := ConvergentKey(&patternReader{left: size}, []byte("s"), l)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Encode(&patternReader{left: size}, key, l, nullSink{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBaseline is the yardstick of the issue: one plain SHA-256 pass
// plus one AES-128-CTR pass over the same bytes.
func BenchmarkBaseline(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			buf := make([]byte, DefaultMaxSegmentSize)
			b.SetBytes(size)
			for b.Loop() {
				h := sha256.New()
				s := NewCTR([16]byte{1}, 0)
				r := &patternReader{left: size}
				for {
					n, err := r.Read(buf)
					if n > 0 {
						h.Write(buf[:n])
						s.XORKeyStream(buf[:n], buf[:n])
					}
					if err != nil {
						break
					}
				}
				h.Sum(nil)
			}
		})
	}
}

// BenchmarkDecode measures verifying and decoding from shares in memory,
// using the parity-heavy worst case (shares 7, 8, 9).
func BenchmarkDecode(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			l, _ := NewLayout(size, 3, 10, DefaultMaxSegmentSize)
			m := newMem()
			res, err := Encode(&patternReader{left: size}, [16]byte{1}, l, m)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.SetBytes(size)
			for b.Loop() {
				d, _ := NewDecoder(res.Ref)
				var shares []*Share
				for _, sh := range []int{7, 8, 9} {
					s, err := d.OpenShare(ctx, sh, src(m.data[sh]))
					if err != nil {
						b.Fatal(err)
					}
					shares = append(shares, s)
				}
				if err := d.LoadCrypttextTree(ctx, shares[0]); err != nil {
					b.Fatal(err)
				}
				for seg := 0; seg < l.NumSegments; seg++ {
					blocks := map[int][]byte{}
					for _, s := range shares {
						blk, err := s.ReadBlock(ctx, seg)
						if err != nil {
							b.Fatal(err)
						}
						blocks[s.Num] = blk
					}
					if _, err := d.DecodeSegment(seg, blocks); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestEncodeMemoryFlat streams 1 GiB through the encoder and checks the
// heap stays small: the encoder holds one segment, not the file.
func TestEncodeMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 1 GiB; skipped in -short")
	}
	const size = 1 << 30
	l, _ := NewLayout(size, 3, 10, DefaultMaxSegmentSize)
	var peak uint64
	sink := &heapWatch{peak: &peak}
	res, err := Encode(&patternReader{left: size}, [16]byte{9}, l, sink)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref.Size != size {
		t.Fatalf("size %d", res.Ref.Size)
	}
	t.Logf("peak heap in use while encoding 1 GiB: %.1f MB", float64(peak)/1e6)
	if peak > 64<<20 {
		t.Errorf("heap reached %d bytes while encoding 1 GiB; want < 64 MiB", peak)
	}
}

type heapWatch struct {
	peak  *uint64
	calls int
	hash  [10]uint64
}

func (h *heapWatch) WriteAt(sh int, _ int64, p []byte) error {
	h.hash[sh] += uint64(len(p)) + uint64(bytes.IndexByte(p, 0xff)+1)
	h.calls++
	if h.calls%5000 == 0 {
		*h.peak = max(*h.peak, heapInUse())
	}
	return nil
}
