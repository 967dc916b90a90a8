package vectors

import (
	"bytes"
	"encoding/base64"
	"io"
	"runtime"
	"testing"
)

// The generated sample is Tahoe's (seed * (length // len(seed) + 1))[:length],
// from any offset.
func TestSampleMatchesRepeat(t *testing.T) {
	for _, seed := range [][]byte{[]byte("a"), []byte("0123456789"), bytes.Repeat([]byte("xyz"), 30000)} {
		for _, n := range []int64{0, 1, 56, 4095, 100000, 300001} {
			want := bytes.Repeat(seed, int(n)/len(seed)+1)[:n]
			s := NewSample(seed, n)
			got, err := io.ReadAll(s)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("seed %d bytes, length %d: differs (%v)", len(seed), n, err)
			}
			for _, off := range []int64{0, 1, n / 3, n - 1} {
				if off < 0 || off > n {
					continue
				}
				if _, err := s.Seek(off, io.SeekStart); err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(io.LimitReader(s, 7777))
				if !bytes.Equal(got, want[off:min(off+7777, n)]) {
					t.Fatalf("seed %d bytes, length %d, from %d: differs", len(seed), n, off)
				}
			}
		}
	}
}

// Computing a large vector's cap does not hold its plaintext in memory.
func TestLargeVectorStreams(t *testing.T) {
	const size = 32 << 20
	v := &Vector{Convergence: base64.StdEncoding.EncodeToString([]byte("aaaaaaaaaaaaaaaa"))}
	v.Sample.Seed, v.Sample.Length = base64.StdEncoding.EncodeToString([]byte("abc")), size
	v.Zfec.Required, v.Zfec.Total, v.Zfec.SegmentSize = 3, 10, 131072
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := ComputeCHK(v); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Errorf("a %d MiB vector allocated %d MiB", size>>20, alloc>>20)
	} else {
		t.Logf("a %d MiB vector allocated %.1f MiB", size>>20, float64(alloc)/(1<<20))
	}
}
