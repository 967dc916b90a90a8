package main

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/netlab"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/nat"
)

// A client behind NAT whose uplink tc limits to 20 Mbit/s measures that
// uplink from its own upload, with no speed test: its reachability report
// gives the figure (evidence and the uplink field), and the helper
// advice's "1 GB takes ~X min direct vs ~Y min via the helper" uses it
// instead of the 10 Mbit/s estimate (issue 10).
func TestUplinkMeasuredFromUploads(t *testing.T) {
	if why := netlab.Unavailable(); why != "" {
		t.Skip(why)
	}
	t.Parallel()
	const rate, rateBits = "20mbit", 20e6
	g := newMatrixGrid(t)
	g.helperNode(t) // so that the advice offers a helper, with numbers
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("s%d", i)
		h := g.pub.Host(name)
		runNode(t, h.Prefix(), g.node(t, h, name, true), "web API: ")
	}
	ch := g.natHost(t, "rtra", "192.168.62.0/24", "client")
	dir := g.node(t, ch, "client", false)
	c, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.SharesNeeded, c.SharesHappy, c.SharesTotal = 1, 3, 3 // 3× the file on the uplink
	if err := config.Save(dir, c); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Edit(dir, []config.Setting{{Section: "client", Key: "helper", Value: config.HelperOff}}); err != nil {
		t.Fatal(err)
	}
	runNode(t, ch.Prefix(), dir, "web API: ")
	testkit.WaitFor(t, "the client to reach the 3 servers", 60*time.Second, func() bool {
		return status(t, ch.Prefix(), dir).connected() == 3
	})
	if v := verdict(t, ch, dir, 60*time.Second); v != "behind NAT" {
		t.Fatalf("the client's verdict is %q, want behind NAT", v)
	}
	if r := reachReport(t, ch, dir); r.Uplink != nil {
		t.Fatalf("an uplink of %v bit/s before any upload", r.Uplink.BitsPerSecond)
	}
	a, err := reachReport(t, ch, dir).Find(nat.AdviceUseHelper)
	if err != nil || !strings.Contains(a.Text, "estimated (not measured) uplink of 10 Mbit/s") {
		t.Fatalf("before any upload the helper advice (%v) should use the estimate: %q", err, a.Text)
	}

	ch.LimitRate(rate)
	data := make([]byte, 8<<20) // 24 MiB on the link: ~10 s at 20 Mbit/s
	rand.Read(data)
	t0 := time.Now()
	if out, err := webTry(t, ch, dir, "PUT", "uri", data); err != "" || !strings.HasPrefix(string(out), "URI:CHK:") {
		t.Fatalf("PUT /uri: %q %s", out, err)
	}
	took := time.Since(t0)

	var r nat.Report
	testkit.WaitFor(t, "the report to give a measured uplink", 30*time.Second, func() bool {
		r = reachReport(t, ch, dir)
		return r.Uplink != nil
	})
	got := r.Uplink.BitsPerSecond
	t.Logf("24 MiB sent in %v through a %s tc limit: measured uplink %.1f Mbit/s", took.Round(100*time.Millisecond), rate, got/1e6)
	// The kernel's send buffers let the count run a little ahead of the
	// wire; the upload's own pauses (placement, hashing) hold it below.
	if got < rateBits*0.7 || got > rateBits*1.2 {
		t.Errorf("measured uplink %.1f Mbit/s through a %s limit, want within 70–120 %% of it", got/1e6, rate)
	}
	if !slices.ContainsFunc(r.Evidence, func(e string) bool { return strings.Contains(e, "this node's uploads reached") }) {
		t.Errorf("the evidence lacks the measured uplink: %q", r.Evidence)
	}
	a, err = r.Find(nat.AdviceUseHelper)
	if err != nil || !strings.Contains(a.Text, "At your measured uplink of") {
		t.Errorf("after the upload the helper advice (%v) should use the measurement: %q", err, a.Text)
	}
}
