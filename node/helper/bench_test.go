package helper

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"

	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

// BenchmarkHelperUpload uploads 16 MiB through the helper (client
// encrypts, helper spools, encodes and places on ten in-memory servers)
// and reports the bytes the client sent per byte of file: 1.0 through the
// helper against n/k = 3.33 direct. The uplink-limited comparison (tc in a
// network namespace) is the netlab benchmark's; see docs/helper.md.
func BenchmarkHelperUpload(b *testing.B) {
	d := data(16<<20, 4)
	for _, via := range []bool{true, false} {
		name := "direct"
		if via {
			name = "via-helper"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(d)))
			var sent int64
			var direct atomic.Int64
			for i := 0; i < b.N; i++ {
				conv := []byte{byte(i), 1, 2, 3} // a new file each time: nothing is deduplicated
				if via {
					r := newRig(b, Limits{}, nil)
					up := &immutable.Client{Params: immutable.DefaultParams(), Convergence: conv, LeaseSecret: []byte("l"), Helper: r.client("v0-bench")}
					if _, err := up.Upload(context.Background(), bytes.NewReader(d)); err != nil {
						b.Fatal(err)
					}
					sent += r.putIn.Load()
				} else {
					_, servers := mem.NewGrid(10)
					var counted []storage.Server
					for _, s := range servers {
						counted = append(counted, countingServer{s, &direct})
					}
					if _, err := (&immutable.Client{Servers: counted, Params: immutable.DefaultParams(), Convergence: conv, LeaseSecret: []byte("l")}).Upload(context.Background(), bytes.NewReader(d)); err != nil {
						b.Fatal(err)
					}
				}
			}
			sent += direct.Load()
			b.ReportMetric(float64(sent)/float64(int64(b.N)*int64(len(d))), "sent/byte")
		})
	}
}

// countingServer counts the share bytes written to a server.
type countingServer struct {
	storage.Server
	n *atomic.Int64
}

func (c countingServer) WriteShare(ctx context.Context, si storage.SI, sh int, up storage.Secret, off uint64, p []byte) (bool, error) {
	c.n.Add(int64(len(p)))
	return c.Server.WriteShare(ctx, si, sh, up, off, p)
}
