package mutable

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/storage"
)

// BenchmarkMDMFReadTail reads the last 1 MiB of a 100 MiB MDMF file
// (3-of-10 on 10 in-memory servers); bytes/op is what the servers sent.
func BenchmarkMDMFReadTail(b *testing.B) {
	ctx := context.Background()
	const size, tail = 100 << 20, 1 << 20
	_, servers := grid(10)
	var n atomic.Int64
	counted := make([]storage.Server, len(servers))
	for i, s := range servers {
		counted[i] = counting{s, &n}
	}
	data := random(size)
	f, err := Create(ctx, counted, data, opts(cap.MDMF, testKey(b, 0)))
	if err != nil {
		b.Fatal(err)
	}
	g, _ := Open(f.ReadCap(), counted, Options{Logger: quiet})
	b.SetBytes(tail)
	n.Store(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, _, err := g.ReadAt(ctx, size-tail, tail)
		if err != nil || len(got) != tail {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n.Load())/float64(b.N), "server-bytes/op")
}

// BenchmarkSDMFPublish publishes (Replace) a 10 MiB SDMF file.
func BenchmarkSDMFPublish(b *testing.B) {
	ctx := context.Background()
	const size = 10 << 20
	_, servers := grid(10)
	data := random(size)
	f, err := Create(ctx, servers, []byte("x"), opts(cap.SDMF, testKey(b, 1)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Replace(ctx, data, Version{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMDMFWriteAt rewrites 4 KiB in the middle of a 100 MiB MDMF file.
func BenchmarkMDMFWriteAt(b *testing.B) {
	ctx := context.Background()
	const size = 100 << 20
	_, servers := grid(10)
	f, err := Create(ctx, servers, random(size), opts(cap.MDMF, testKey(b, 2)))
	if err != nil {
		b.Fatal(err)
	}
	patch := random(4096)
	b.SetBytes(int64(len(patch)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.WriteAt(ctx, patch, size/2, Version{}); err != nil {
			b.Fatal(err)
		}
	}
}
