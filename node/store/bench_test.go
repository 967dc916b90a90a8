package store

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/grid/storage"
)

// BenchmarkShareWrite is the immutable write path as the local grid sees
// it: one file's 10 shares of 32 KiB, each allocated, written and made
// durable on its own store, the 10 stores in one directory tree on one
// disk and written at once. One op is one file. "one request": each
// share in one write; "chk": as our CHK uploader sends a one-segment
// file through node/gbs, the blocks, then the header at 0, then the
// hashes at the end, each request checked first with a zero-byte write.
func BenchmarkShareWrite(b *testing.B) {
	const servers, size = 10, 32 << 10
	type piece struct{ from, to int }
	for _, bc := range []struct {
		name   string
		pieces []piece
		check  bool
	}{
		{"one request", []piece{{0, size}}, false},
		{"chk", []piece{{68, size - 2048}, {0, 68}, {size - 2048, size}}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			stores := make([]*Store, servers)
			for i := range stores {
				s, err := Open(filepath.Join(dir, strconv.Itoa(i)), Options{FreeSpace: func(string) (uint64, error) { return 1 << 40, nil }})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				stores[i] = s
			}
			data := make([]byte, size)
			ls := storage.LeaseSecrets{Renew: sec(1), Cancel: sec(2)}
			b.SetBytes(servers * size)
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				var si storage.SI
				binary.BigEndian.PutUint64(si[:], uint64(n))
				var wg sync.WaitGroup
				errs := make([]error, servers)
				for i, s := range stores {
					wg.Go(func() {
						if _, err := s.AllocateBuckets(ctx, si, ls, sec(9), []int{i}, size); err != nil {
							errs[i] = err
							return
						}
						done := false
						for _, p := range bc.pieces {
							if bc.check {
								if _, err := s.WriteShare(ctx, si, i, sec(9), uint64(p.to), nil); err != nil {
									errs[i] = err
									return
								}
							}
							var err error
							if done, err = s.WriteShare(ctx, si, i, sec(9), uint64(p.from), data[p.from:p.to]); err != nil {
								errs[i] = err
								return
							}
						}
						if !done {
							errs[i] = errors.New("share not complete after all its bytes")
						}
					})
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
