package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/netlab"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/transport"
)

// TestBenchHelperUplink is issue 10's helper benchmark (docs/benchmarks.md,
// "Reachability (issue 10)"): a client behind NAT whose uplink tc limits
// to 20 Mbit/s uploads one file through the web API (PUT /uri, what the
// app and the sync engine use) at 3-of-10, once straight to ten public
// storage servers and once through a public upload helper ([client]
// helper = HELPER-ID). Direct, the client sends every share itself, n/k =
// 3.33 × the file; through the helper it sends the ciphertext once. It
// reports the seconds of each upload, their ratio (goal: ≥ 2.5× faster
// through the helper) and the bytes the client's interface sent, read
// from the kernel's counter (/proc/net/dev in the client's namespace).
//
// It is a test rather than a Go benchmark because the grid it builds
// (netmatrix_test.go's matrixGrid) takes a *testing.T, and one upload of
// each kind is the measurement. It runs only with LAFSSYNC_BENCH=1 and
// as root. LAFSSYNC_BENCH_HELPER_MIB sets the file size (default 64).
func TestBenchHelperUplink(t *testing.T) {
	if os.Getenv("LAFSSYNC_BENCH") != "1" {
		t.Skip("a benchmark: set LAFSSYNC_BENCH=1 to run it")
	}
	if why := netlab.Unavailable(); why != "" {
		t.Skip(why)
	}
	const rate, rateBits = "20mbit", 20e6
	mib := 64
	if v := os.Getenv("LAFSSYNC_BENCH_HELPER_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			t.Fatalf("LAFSSYNC_BENCH_HELPER_MIB=%q: want a whole number of MiB from 1 to 1024", v)
		}
		mib = n
	}
	size := int64(mib) << 20

	g := newMatrixGrid(t)
	_, helperDir, helperID := g.helperNode(t)
	for i := 1; i <= 10; i++ {
		name := fmt.Sprintf("s%d", i)
		h := g.pub.Host(name)
		runNode(t, h.Prefix(), g.node(t, h, name, true), "web API: ")
	}
	// Two clients, each alone behind its own NAT router: the same
	// encoding, one with the helper off, one naming it. Different nodes
	// have different convergence secrets, so the second upload of the same
	// file cannot find the first one's shares.
	direct := g.natHost(t, "rtra", "192.168.60.0/24", "direct")
	helped := g.natHost(t, "rtrb", "192.168.61.0/24", "helped")
	directDir := benchClient(t, g, direct, "direct", config.HelperOff)
	helpedDir := benchClient(t, g, helped, "helped", helperID)
	for _, c := range []struct {
		h   *netlab.Host
		dir string
	}{{direct, directDir}, {helped, helpedDir}} {
		testkit.WaitFor(t, filepath.Base(c.dir)+" to reach the 10 servers", 60*time.Second, func() bool {
			return status(t, c.h.Prefix(), c.dir).connected() == 10
		})
	}
	testkit.WaitFor(t, "the helped client to connect to the helper", 30*time.Second, func() bool {
		return slices.ContainsFunc(status(t, helped.Prefix(), helpedDir).Node.Connections, func(c transport.PeerState) bool { return c.ID == helperID })
	})
	direct.LimitRate(rate)
	helped.LimitRate(rate)

	data := make([]byte, size)
	rand.Read(data)
	type result struct {
		secs       float64
		sent       int64   // bytes the client's interface sent during the upload
		link, idle float64 // seconds from the start until 1 % and 99 % of sent had gone out
		cap        string
	}
	upload := func(h *netlab.Host, dir string) result {
		t.Helper()
		newShares := g.shareCounter(t)
		before := txBytes(t, h)
		t0 := time.Now()
		samples := sampleTx(h, t0)
		t.Cleanup(func() { samples.when(0) }) // stops the sampling if the upload fails
		out, err := webTry(t, h, dir, "PUT", "uri", data)
		secs := time.Since(t0).Seconds()
		if err != "" {
			t.Fatalf("PUT /uri of %d MiB from %s: %s", mib, h.Name, err)
		}
		r := result{secs: secs, sent: txBytes(t, h) - before, cap: strings.TrimSpace(string(out))}
		r.link, r.idle = samples.when(before+r.sent/100), samples.when(before+r.sent*99/100)
		if !strings.HasPrefix(r.cap, "URI:CHK:") {
			t.Fatalf("PUT /uri from %s answered %q", h.Name, r.cap)
		}
		newShares(1) // 10 shares on 10 servers: one each
		return r
	}
	d := upload(direct, directDir)
	hp := upload(helped, helpedDir)

	// Both files are whole on the grid: each client reads its own back.
	for _, c := range []struct {
		h   *netlab.Host
		dir string
		cap string
	}{{direct, directDir, d.cap}, {helped, helpedDir, hp.cap}} {
		got, err := webTry(t, c.h, c.dir, "GET", "uri/"+c.cap, nil)
		if err != "" || !bytes.Equal(got, data) {
			t.Fatalf("GET of the file %s uploaded: %d bytes (%s), want the %d put", filepath.Base(c.dir), len(got), err, size)
		}
	}
	// The helper, not the client, placed the second upload's shares.
	helpedID := status(t, helped.Prefix(), helpedDir).Node.ID
	b, _ := os.ReadFile(helperDir + ".log")
	placed := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "helper: upload placed") && strings.Contains(line, helpedID) {
			placed++
		}
	}
	if placed != 1 {
		t.Errorf("the helper's log shows %d uploads placed for the helped client, want 1", placed)
	}

	ratio := d.secs / hp.secs
	mbit := func(r result) float64 { return float64(size) * 8 / r.secs / 1e6 }
	perByte := func(r result) float64 { return float64(r.sent) / float64(size) }
	verdict := "met"
	if ratio < 2.5 {
		verdict = "NOT met"
	}
	t.Logf("helper uplink benchmark: %d MiB at 3-of-10, client uplink tc tbf %s\n"+
		"| upload | seconds | file Mbit/s | bytes sent on the client's uplink (per file byte) | uplink busy (s from the PUT) |\n|---|---|---|---|---|\n"+
		"| direct to 10 servers | %.1f | %.2f | %d (%.3f) | %.1f–%.1f |\n"+
		"| through the helper | %.1f | %.2f | %d (%.3f) | %.1f–%.1f |\n"+
		"direct / helper time: %.2f× (goal ≥ 2.5×: %s)",
		mib, rate, d.secs, mbit(d), d.sent, perByte(d), d.link, d.idle, hp.secs, mbit(hp), hp.sent, perByte(hp), hp.link, hp.idle, ratio, verdict)

	// What the counters must show if the link and the helper work as
	// designed: direct sends every share (10/3 of the file, plus
	// framing), the helper path the ciphertext once; neither beats the
	// link's rate.
	if perByte(d) < 3.3 {
		t.Errorf("the direct upload sent %.3f bytes per file byte on the uplink, want ≥ 3.3 (10 shares of a 3-of-10 file)", perByte(d))
	}
	if perByte(hp) < 1 || perByte(hp) > 1.15 {
		t.Errorf("the upload through the helper sent %.3f bytes per file byte on the uplink, want the ciphertext once (1–1.15)", perByte(hp))
	}
	for _, r := range []result{d, hp} {
		if bits := float64(r.sent) * 8 / r.secs; bits > rateBits*1.05 {
			t.Errorf("the uplink carried %.1f Mbit/s, above the %s limit: the limit is not in force", bits/1e6, rate)
		}
	}
	if ratio < 2.5 {
		t.Errorf("the upload through the helper is %.2f× faster than direct, want ≥ 2.5×", ratio)
	}
}

// benchClient creates and runs a client node on h with Tahoe's default
// encoding (3-of-10, happy 7) and [client] helper = use.
func benchClient(t *testing.T, g *matrixGrid, h *netlab.Host, name, use string) string {
	t.Helper()
	dir := g.node(t, h, name, false)
	c, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.SharesNeeded, c.SharesHappy, c.SharesTotal = 3, 7, 10
	if err := config.Save(dir, c); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Edit(dir, []config.Setting{{Section: "client", Key: "helper", Value: use}}); err != nil {
		t.Fatal(err)
	}
	runNode(t, h.Prefix(), dir, "web API: ")
	return dir
}

// txBytes is the count of bytes h's interface has sent, from
// /proc/net/dev read inside h's namespace.
func txBytes(t *testing.T, h *netlab.Host) int64 {
	t.Helper()
	n, err := readTx(h)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func readTx(h *netlab.Host) (int64, error) {
	out, err := h.Run("cat", "/proc/net/dev")
	if err != nil {
		return 0, fmt.Errorf("read /proc/net/dev in %s: %v", h.Name, err)
	}
	for _, line := range strings.Split(out, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) != h.If {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			break
		}
		n, err := strconv.ParseInt(f[8], 10, 64) // receive has 8 fields; transmit bytes come next
		if err != nil {
			return 0, fmt.Errorf("/proc/net/dev in %s: %q: %v", h.Name, line, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("/proc/net/dev in %s has no interface %s:\n%s", h.Name, h.If, out)
}

// txSamples are readings of a host's sent-bytes counter, taken every
// 250 ms by sampleTx until when is called.
type txSamples struct {
	stop    chan struct{}
	done    chan []txSample
	samples []txSample
}

type txSample struct {
	at   time.Duration
	sent int64
}

func sampleTx(h *netlab.Host, t0 time.Time) *txSamples {
	stop, done := make(chan struct{}), make(chan []txSample, 1)
	s := &txSamples{stop: stop, done: done}
	go func() { // its own copies of the channels: when clears s.stop
		var out []txSample
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			if n, err := readTx(h); err == nil {
				out = append(out, txSample{time.Since(t0), n})
			}
			select {
			case <-stop:
				done <- out
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// when stops the sampling (on its first call) and says how many seconds
// after t0 the counter first read at least n (-1: never).
func (s *txSamples) when(n int64) float64 {
	if s.stop != nil {
		close(s.stop)
		s.stop = nil
		s.samples = <-s.done
	}
	for _, x := range s.samples {
		if x.sent >= n {
			return x.at.Seconds()
		}
	}
	return -1
}
