package chk

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

// fileShares keeps each share in a file, so a big round trip does not
// hold shares in memory.
type fileShares struct{ files []*os.File }

func (f *fileShares) WriteAt(sh int, off int64, p []byte) error {
	_, err := f.files[sh].WriteAt(p, off)
	return err
}

type fileSrc struct{ f *os.File }

func (s fileSrc) ReadAt(_ context.Context, off, n int64) ([]byte, error) {
	b := make([]byte, n)
	m, err := s.f.ReadAt(b, off)
	if err != nil && m < int(n) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:m], nil
}

// TestRoundTrip1GiB streams 1 GiB through encode and decode (from the
// three parity-heaviest shares) with files as the only storage, and checks
// the heap stays small on both sides. Its peak RSS is what scripts/bench.sh
// reports for the 1 GiB memory goal.
func TestRoundTrip1GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 3.4 GB of shares; skipped in -short")
	}
	if free := freeBytes(os.TempDir()); free < 6<<30 {
		t.Skipf("writes 3.4 GB of shares but %s has only %d MB free", os.TempDir(), free>>20)
	}
	size := int64(1 << 30)
	if s := os.Getenv("LAFSSYNC_BIG_SIZE"); s != "" {
		fmt.Sscan(s, &size)
	}
	dir := t.TempDir()
	l, _ := NewLayout(size, 3, 10, DefaultMaxSegmentSize)
	fs := &fileShares{}
	for i := 0; i < 10; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fs.files = append(fs.files, f)
	}
	in := sha256.New()
	res, err := Encode(teeReader{&patternReader{left: size}, in}, [16]byte{3}, l, fs)
	if err != nil {
		t.Fatal(err)
	}
	heapAfterEncode := heapInUse()
	ctx := context.Background()
	d, _ := NewDecoder(res.Ref)
	var shares []*Share
	for _, sh := range []int{7, 8, 9} {
		s, err := d.OpenShare(ctx, sh, fileSrc{fs.files[sh]})
		if err != nil {
			t.Fatal(err)
		}
		shares = append(shares, s)
	}
	if err := d.LoadCrypttextTree(ctx, shares[0]); err != nil {
		t.Fatal(err)
	}
	out := sha256.New()
	var peak uint64
	for seg := 0; seg < l.NumSegments; seg++ {
		blocks := map[int][]byte{}
		for _, s := range shares {
			b, err := s.ReadBlock(ctx, seg)
			if err != nil {
				t.Fatal(err)
			}
			blocks[s.Num] = b
		}
		p, err := d.DecodeSegment(seg, blocks)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(p)
		if seg%1000 == 0 {
			peak = max(peak, heapInUse())
		}
	}
	if string(in.Sum(nil)) != string(out.Sum(nil)) {
		t.Fatal("1 GiB round trip: output differs from input")
	}
	t.Logf("heap in use: %.1f MB after encoding, peak %.1f MB while decoding", float64(heapAfterEncode)/1e6, float64(peak)/1e6)
	if heapAfterEncode > 64<<20 || peak > 64<<20 {
		t.Errorf("heap grew with the file: %d / %d bytes", heapAfterEncode, peak)
	}
}

type teeReader struct {
	r interface{ Read([]byte) (int, error) }
	h interface{ Write([]byte) (int, error) }
}

func (t teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.h.Write(p[:n])
	return n, err
}

// heapInUse is the live heap: garbage is collected first, so the figure
// measures what the code holds, not when the collector last ran.
func freeBytes(dir string) uint64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0
	}
	return st.Bavail * uint64(st.Bsize)
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
