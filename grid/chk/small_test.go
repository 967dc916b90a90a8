package chk

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// A one-segment (1 MiB) file's encode allocates well under its own size:
// its segment buffers come from the pool the previous encodes returned
// them to. On 49dcbdd each 1 MiB encode allocated 5.6 MB (a fresh 1 MiB
// ciphertext buffer, ten 350 KB blocks, a 1 MiB plaintext buffer).
func TestSmallFileEncodeRecyclesBuffers(t *testing.T) {
	const size = 1 << 20
	l, err := NewLayout(size, 3, 10, DefaultMaxSegmentSize)
	if err != nil {
		t.Fatal(err)
	}
	enc := func() {
		if _, err := Encode(&patternReader{left: size}, [16]byte{1}, l, nullSink{}); err != nil {
			t.Fatal(err)
		}
	}
	enc() // fills the pool
	const runs = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		enc()
	}
	runtime.ReadMemStats(&after)
	per := (after.TotalAlloc - before.TotalAlloc) / runs
	t.Logf("%d bytes allocated per 1 MiB encode", per)
	if per > 3<<20 {
		t.Errorf("a 1 MiB encode allocates %d bytes, want < 3 MiB (buffers recycled)", per)
	}
}

// shareDigest hashes every share's bytes.
func shareDigest(m *memShares, n int) [32]byte {
	h := sha256.New()
	for sh := 0; sh < n; sh++ {
		h.Write(m.data[sh])
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// Encoders running at once, of files of different sizes and segment
// counts, share the recycled buffers and still produce exactly the shares
// and caps that each gives on its own (a buffer handed to two encoders,
// or reused before its hashes were done, would change them).
func TestConcurrentEncodersProduceTheSameShares(t *testing.T) {
	sizes := []int{1 << 20, 1<<20 + 1, 200_000, 3<<20 + 5, 4096, 57}
	type want struct {
		ref    Ref
		digest [32]byte
	}
	data := make([][]byte, len(sizes))
	wants := make([]want, len(sizes))
	for i, n := range sizes {
		data[i] = make([]byte, n)
		(&patternReader{left: int64(n + i)}).Read(data[i])
		res, m := encode(t, data[i], 3, 10, DefaultMaxSegmentSize)
		wants[i] = want{res.Ref, shareDigest(m, 10)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(sizes))
	for round := range 4 {
		for i := range sizes {
			wg.Go(func() {
				l, err := NewLayout(int64(len(data[i])), 3, 10, DefaultMaxSegmentSize)
				if err != nil {
					errs <- err
					return
				}
				m := newMem()
				res, err := Encode(bytes.NewReader(data[i]), wants[i].ref.Key, l, m)
				switch {
				case err != nil:
					errs <- err
				case res.Ref != wants[i].ref || shareDigest(m, 10) != wants[i].digest:
					errs <- fmt.Errorf("round %d, %d-byte file: shares or cap differ from a lone encode", round, len(data[i]))
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
