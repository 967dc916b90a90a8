//go:build unix

package webapi

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

// BenchmarkWebAPI is the full stack a syncer or the tray app uses: PUT and
// GET of 64 MiB through the web API (HTTP on loopback → client → GBS over
// TLS → the disk stores of 3 local storage nodes, 2-of-3), reported beside
// the in-memory grid (the same client code over 3 in-memory servers) in the
// same run: put-% and get-% are the web API's share of that baseline.
func BenchmarkWebAPI(b *testing.B) {
	size := 64 << 20
	if testing.Short() {
		size = 8 << 20
	}
	params := immutable.Params{K: 2, Happy: 3, N: 3, MaxSegmentSize: immutable.DefaultParams().MaxSegmentSize}
	a := startGridAPI(b, 3, params)
	_, ss := mem.NewGrid(3)
	memc := &immutable.Client{Servers: ss, Params: params, Convergence: []byte("c"), LeaseSecret: []byte("l")}
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	for i := range data {
		data[i] ^= byte(i>>9) ^ byte(i>>17)
	}
	ctx := context.Background()
	hc := &http.Client{}
	var putD, getD, memUp, memDown time.Duration
	var putCPU, getCPU, memUpCPU, memDownCPU time.Duration
	n := 0
	for b.Loop() {
		binary.BigEndian.PutUint64(data, uint64(time.Now().UnixNano())) // a new file (no deduplication)
		t0, c0 := time.Now(), cpuTime()
		req, _ := http.NewRequest("PUT", a.url+"/uri", bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+a.token)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		fileCap, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("PUT: %d %s", resp.StatusCode, fileCap)
		}
		putD, putCPU = putD+time.Since(t0), putCPU+cpuTime()-c0
		t0, c0 = time.Now(), cpuTime()
		req, _ = http.NewRequest("GET", a.url+"/uri/"+url.PathEscape(strings.TrimSpace(string(fileCap))), nil)
		req.Header.Set("Authorization", "Bearer "+a.token)
		if resp, err = hc.Do(req); err != nil {
			b.Fatal(err)
		}
		got, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || got != int64(size) {
			b.Fatalf("GET: %d bytes, %v", got, err)
		}
		getD, getCPU = getD+time.Since(t0), getCPU+cpuTime()-c0

		t0, c0 = time.Now(), cpuTime()
		up, err := memc.Upload(ctx, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		memUp, memUpCPU = memUp+time.Since(t0), memUpCPU+cpuTime()-c0
		t0, c0 = time.Now(), cpuTime()
		if _, err := memc.Download(ctx, up.Cap, io.Discard); err != nil {
			b.Fatal(err)
		}
		memDown, memDownCPU = memDown+time.Since(t0), memDownCPU+cpuTime()-c0
		n++
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(n) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(putD), "put-MB/s")
	b.ReportMetric(mbps(getD), "get-MB/s")
	b.ReportMetric(mbps(memUp), "mem-up-MB/s")
	b.ReportMetric(mbps(memDown), "mem-down-MB/s")
	b.ReportMetric(100*memUp.Seconds()/putD.Seconds(), "put-%")
	b.ReportMetric(100*memDown.Seconds()/getD.Seconds(), "get-%")
	// CPU time (this process: client, web API and the storage nodes) is
	// steadier than wall time on a shared machine.
	b.ReportMetric(100*memUpCPU.Seconds()/putCPU.Seconds(), "put-cpu-%")
	b.ReportMetric(100*memDownCPU.Seconds()/getCPU.Seconds(), "get-cpu-%")
	b.ReportMetric(putCPU.Seconds()*1e3/float64(n), "put-cpu-ms")
	b.ReportMetric(getCPU.Seconds()*1e3/float64(n), "get-cpu-ms")
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startGridAPI is startAPI over n local storage nodes with params.
func startGridAPI(tb testing.TB, n int, params immutable.Params) *api {
	a := startAPIn(tb, n, nil)
	a.client.Imm.Params = params
	a.client.Dirs.Options.K, a.client.Dirs.Options.N = params.K, params.N
	return a
}
