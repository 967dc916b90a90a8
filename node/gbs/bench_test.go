package gbs

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"net"
	"testing"

	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
	"github.com/lafssync/lafssync/node/store"
)

// benchGrid starts n GBS servers on 127.0.0.1 (in this process) over
// backends made by newBackend and returns clients for them.
func benchGrid(b *testing.B, n int, newBackend func(i int) storage.Server) []storage.Server {
	var out []storage.Server
	for i := 0; i < n; i++ {
		pemBytes, _ := NewCertificate()
		cert, leaf, _ := LoadCertificate(pemBytes)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { Serve(ctx, ln, NewServer(newBackend(i), []byte("s"), nil), cert); close(done) }()
		b.Cleanup(func() { cancel(); <-done })
		nurl := NURL{SPKIHash: SPKIHash(leaf), Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Swissnum: "s"}
		c, err := Dial(nurl.String(), ClientOptions{Info: storage.ServerInfo{ID: fmt.Sprint(i), PermutationSeed: []byte{byte(i)}}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		out = append(out, c)
	}
	return out
}

// BenchmarkGBS: a 64 MiB file up and down through Tahoe's HTTP storage
// protocol to 10 loopback servers (TLS, CBOR, one request per block),
// over in-memory backends (the protocol's cost) and over disk stores (what
// a node really does). scripts/bench.sh prints them beside the in-memory
// grid figures of grid/immutable.
func BenchmarkGBS(b *testing.B) {
	const size = 64 << 20
	data := make([]byte, size)
	rand.New(rand.NewSource(1)).Read(data)
	backends := map[string]func(b *testing.B) func(int) storage.Server{
		"mem": func(b *testing.B) func(int) storage.Server {
			return func(i int) storage.Server { return mem.New(fmt.Sprint(i)) }
		},
		"disk": func(b *testing.B) func(int) storage.Server {
			return func(i int) storage.Server {
				st, err := store.Open(b.TempDir(), store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				return st
			}
		},
	}
	for _, name := range []string{"mem", "disk"} {
		b.Run("Upload/"+name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				b.StopTimer()
				servers := benchGrid(b, 10, backends[name](b))
				c := &immutable.Client{Servers: servers, Params: immutable.DefaultParams(), Convergence: []byte("c"), LeaseSecret: []byte("l")}
				b.StartTimer()
				if _, err := c.Upload(context.Background(), bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Download/"+name, func(b *testing.B) {
			servers := benchGrid(b, 10, backends[name](b))
			c := &immutable.Client{Servers: servers, Params: immutable.DefaultParams(), Convergence: []byte("c"), LeaseSecret: []byte("l")}
			up, err := c.Upload(context.Background(), bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			b.SetBytes(size)
			for b.Loop() {
				out.Reset()
				if _, err := c.Download(context.Background(), up.Cap, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
