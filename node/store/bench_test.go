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
// it: one file's 10 shares of 32 KiB, each allocated, written in one
// request and made durable on its own store, the 10 stores in one
// directory tree on one disk and written at once. One op is one file.
func BenchmarkShareWrite(b *testing.B) {
	const servers, size = 10, 32 << 10
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
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.AllocateBuckets(ctx, si, ls, sec(9), []int{i}, size); err != nil {
					errs[i] = err
					return
				}
				done, err := s.WriteShare(ctx, si, i, sec(9), 0, data)
				if err == nil && !done {
					err = errors.New("share not complete after all its bytes")
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
