package fullnode

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/storagenode"
)

// benchGrid is ten storage nodes and a client node found through an
// introducer, all on loopback with disk stores, and the same ten servers
// reached directly over Tahoe's HTTPS storage protocol (their NURLs).
func benchGrid(b *testing.B) (viaNode, direct []storage.Server) {
	b.Helper()
	root := b.TempDir()
	create(b, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	intro := run(b, filepath.Join(root, "intro"))
	intros := map[string]string{"default": intro.IntroducerURL()}
	for i := 0; i < 10; i++ {
		dir := filepath.Join(root, fmt.Sprintf("s%d", i))
		create(b, dir, storagenode.CreateOptions{Storage: true, Introducers: intros})
		s := run(b, dir)
		ann, err := s.Node.Announcement()
		if err != nil {
			b.Fatal(err)
		}
		c, err := storagenode.Dial(s.ID.ServerID(), ann, nil)
		if err != nil {
			b.Fatal(err)
		}
		direct = append(direct, c)
	}
	create(b, filepath.Join(root, "client"), storagenode.CreateOptions{Introducers: intros})
	client := run(b, filepath.Join(root, "client"))
	testkit.WaitFor(b, "ten servers", 30*time.Second, func() bool { return len(client.Servers()) == 10 })
	return client.Servers(), direct
}

// BenchmarkFullNode: a 256 MiB file up and down through the full node
// stack (TLS 1.3 + yamux transport, GBS over its streams, disk stores)
// and, as the baseline, through plain GBS over HTTPS to the same servers.
// Each iteration does both, in alternating order, so that drift (disk,
// page cache, other load) hits both alike; it reports each throughput and
// the ratio (goal: the node stack >= 90% of GBS).
func BenchmarkFullNode(b *testing.B) {
	size := int64(256 << 20)
	if testing.Short() {
		size = 16 << 20
	}
	viaNode, direct := benchGrid(b)
	modes := [][]storage.Server{direct, viaNode}
	var up, down [2]time.Duration
	ctx := context.Background()
	i := 0
	for b.Loop() {
		for k := range 2 {
			m := (i + k) % 2
			conv := make([]byte, 16)
			rand.Read(conv) // a fresh storage index every time
			c := &immutable.Client{Servers: modes[m], Params: immutable.DefaultParams(), Convergence: conv, LeaseSecret: []byte("l")}
			t0 := time.Now()
			res, err := c.Upload(ctx, testkit.NewPattern(size))
			if err != nil {
				b.Fatal(err)
			}
			up[m] += time.Since(t0)
			t0 = time.Now()
			if _, err := c.Download(ctx, res.Cap, io.Discard); err != nil {
				b.Fatal(err)
			}
			down[m] += time.Since(t0)
		}
		i++
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(i) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(up[0]), "gbs-up-MB/s")
	b.ReportMetric(mbps(up[1]), "node-up-MB/s")
	b.ReportMetric(100*up[0].Seconds()/up[1].Seconds(), "up-%")
	b.ReportMetric(mbps(down[0]), "gbs-down-MB/s")
	b.ReportMetric(mbps(down[1]), "node-down-MB/s")
	b.ReportMetric(100*down[0].Seconds()/down[1].Seconds(), "down-%")
}
