package immutable

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/lafssync/lafssync/grid/storage/mem"
)

// BenchmarkUpload / BenchmarkDownload: k=3 n=10 on 10 in-memory servers at
// the default segment size. These are the "in-memory figures" the network
// benchmarks compare against.
func BenchmarkUpload(b *testing.B) {
	for _, size := range []int{1 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			d := data(size, 1)
			b.SetBytes(int64(size))
			for b.Loop() {
				_, ss := mem.NewGrid(10)
				c := &Client{Servers: ss, Params: DefaultParams(), Convergence: []byte("c"), LeaseSecret: []byte("l")}
				if _, err := c.Upload(context.Background(), bytes.NewReader(d)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDownload(b *testing.B) {
	for _, size := range []int{1 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			d := data(size, 1)
			_, ss := mem.NewGrid(10)
			c := &Client{Servers: ss, Params: DefaultParams(), Convergence: []byte("c"), LeaseSecret: []byte("l")}
			up, err := c.Upload(context.Background(), bytes.NewReader(d))
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			b.SetBytes(int64(size))
			for b.Loop() {
				out.Reset()
				if _, err := c.Download(context.Background(), up.Cap, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
