package transport

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
)

// cpuTime is the CPU this process has used so far (user + system, both
// ends of the benchmark's connection: they share the process, as a local
// grid's client and servers do).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRequest: requests shaped like a local grid's storage calls
// (Tahoe's HTTP storage protocol headers, a small answer) from one node to
// another over loopback, one at a time and 10 in parallel: a 1 KiB POST
// (an allocation) and a 100 KiB PATCH (a small file's share), over the
// network path (TLS on loopback TCP) and in process (local.go). cpu-ns/op
// is the process's CPU per request, both ends together.
func BenchmarkRequest(b *testing.B) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/cbor")
		fmt.Fprintf(w, "%d", n)
	})
	sizes := []struct {
		name   string
		method string
		size   int
	}{{"POST1K", "POST", 1 << 10}, {"PATCH100K", "PATCH", 100 << 10}}
	for _, path := range []string{"net", "inproc"} {
		for _, sz := range sizes {
			for _, par := range []int{1, 10} {
				b.Run(fmt.Sprintf("%s/%s/par%d", path, sz.name, par), func(b *testing.B) {
					mode := func(n *Node) { n.NoInProcess = path == "net" }
					a := start(b, "a", mode)
					srv := start(b, "b", mode, func(n *Node) { n.handler = echo })
					if path == "inproc" && !testkit.Poll(5*time.Second, func() bool { return registeredAt(srv.addr) == srv.Node }) {
						b.Fatal("server never registered in process")
					}
					if err := a.Dial(b.Context(), srv.addr, srv.ID()); err != nil {
						b.Fatal(err)
					}
					hc := a.HTTPClient(srv.ID())
					hc.Timeout = time.Minute // as gbs sets it
					body := bytes.Repeat([]byte{'x'}, sz.size)
					do := func() error {
						req, err := http.NewRequestWithContext(b.Context(), sz.method, "http://peer/storage/v1/immutable/aaaaaaaaaaaaaaaaaaaaaaaaaa/3", bytes.NewReader(body))
						if err != nil {
							return err
						}
						req.Header.Set("Authorization", "Tahoe-LAFS c3dpc3NudW0tYWJjZGVmZ2hpamtsbW5vcA==")
						req.Header.Set("Content-Type", "application/octet-stream")
						req.Header.Set("Accept", "application/cbor")
						req.Header.Add("X-Tahoe-Authorization", "upload-secret MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
						req.Header.Set("Content-Range", fmt.Sprintf("bytes 0-%d/*", sz.size-1))
						resp, err := hc.Do(req)
						if err != nil {
							return err
						}
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						return err
					}
					if err := do(); err != nil { // connect, warm the pool
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.SetBytes(int64(sz.size))
					cpu0 := cpuTime()
					b.ResetTimer()
					if par == 1 {
						for b.Loop() {
							if err := do(); err != nil {
								b.Fatal(err)
							}
						}
					} else {
						b.SetParallelism(par) // times GOMAXPROCS goroutines
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								if err := do(); err != nil {
									b.Error(err)
									return
								}
							}
						})
					}
					b.StopTimer()
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
				})
			}
		}
	}
}
