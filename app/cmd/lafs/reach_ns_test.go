package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/netlab"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/nat"
)

// reachIn is `lafs reachability --json` run in the node's namespace, once
// the node has a verdict.
func reachIn(t *testing.T, prefix []string, dir string) nat.Report {
	t.Helper()
	var r nat.Report
	testkit.WaitFor(t, "a reachability verdict from "+filepath.Base(dir), 40*time.Second, func() bool {
		if err := json.Unmarshal([]byte(lafs(t, prefix, "-d", dir, "reachability", "--json")), &r); err != nil {
			t.Fatal(err)
		}
		return r.Verdict != nat.VerdictUnknown
	})
	return r
}

// Verdicts in real networks (namespaces): a node on the public LAN is
// public; a storage server behind a masquerading router is behind NAT and
// announces no address; one behind a router with a DNAT forward of its
// port is port-forwarded and announces the router's address; one inside
// carrier-grade NAT (100.64/10) is behind double NAT / CGNAT. The NATted
// node, outbound-only by its verdict, reserves on a relay.
func TestReachabilityVerdictsInNamespaces(t *testing.T) {
	if why := netlab.Unavailable(); why != "" {
		t.Skip(why)
	}
	lab := netlab.New(t)
	pub := lab.PublicLAN("pub", "")
	ih := pub.Host("intro")
	sh := pub.Host("pubsrv")
	home := pub.Router("home", "192.168.7.0/24", netlab.RouterOptions{})
	natted := home.Inside.Host("natted")
	fwd := home.Inside.Host("fwd")
	isp := pub.Router("isp", "100.64.9.0/24", netlab.RouterOptions{})
	cg := isp.Inside.Host("cg")

	root := t.TempDir()
	const port = 3456
	intro := filepath.Join(root, "intro")
	lafs(t, nil, "create-introducer", "--hostname", ih.Addr.String(), "--port", strconv.Itoa(port), intro)
	runNode(t, ih.Prefix(), intro, "introducer address: ")
	b, err := os.ReadFile(filepath.Join(intro, "private", "introducer.url"))
	if err != nil {
		t.Fatal(err)
	}
	iu := strings.TrimSpace(string(b))
	node := func(name string, ns *netlab.NS, location string) string {
		dir := filepath.Join(root, name)
		lafs(t, nil, "create-node", "--storage", "--nickname", name, "--port", "tcp:"+strconv.Itoa(port), "--location", location, "--introducer", iu, dir)
		runNode(t, ns.Prefix(), dir, "web API: ")
		return dir
	}
	loc := func(a netip.Addr) string { return "tcp:" + a.String() + ":" + strconv.Itoa(port) }
	home.Forward(port, netip.AddrPortFrom(fwd.Addr, port))
	dirs := map[string]string{
		"pubsrv": node("pubsrv", sh.NS, loc(sh.Addr)),
		"natted": node("natted", natted.NS, loc(natted.Addr)),
		"fwd":    node("fwd", fwd.NS, loc(home.WAN)),
		"cg":     node("cg", cg.NS, loc(cg.Addr)),
	}
	for _, c := range []struct {
		name     string
		ns       *netlab.NS
		want     nat.Verdict
		announce []string
		advice   string
	}{
		{"pubsrv", sh.NS, nat.VerdictPublic, []string{sh.Addr.String() + ":3456"}, ""},
		{"natted", natted.NS, nat.VerdictNAT, nil, nat.AdvicePortForward},
		{"fwd", fwd.NS, nat.VerdictForwarded, []string{home.WAN.String() + ":3456"}, ""},
		{"cg", cg.NS, nat.VerdictCGNAT, nil, nat.AdviceUseRelay},
	} {
		r := reachIn(t, c.ns.Prefix(), dirs[c.name])
		t.Logf("%s: %s; announces %q", c.name, r.Summary(), r.Announce)
		if r.Verdict != c.want || strings.Join(r.Announce, ",") != strings.Join(c.announce, ",") {
			t.Errorf("%s: verdict %q announcing %q, want %q announcing %q; evidence:\n%s", c.name, r.Verdict, r.Announce, c.want, c.announce,
				strings.Join(r.Evidence, "\n"))
		}
		if c.advice != "" {
			if _, err := r.Find(c.advice); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	}
	// Found unreachable in auto mode, the NATted node holds a reservation on
	// the public storage node's relay.
	testkit.WaitFor(t, "the NATted node to reserve on a relay", 90*time.Second, func() bool {
		b, _ := os.ReadFile(dirs["natted"] + ".log")
		return strings.Contains(string(b), "reachable through a relay")
	})
	if a, err := reachIn(t, natted.Prefix(), dirs["natted"]).Find(nat.AdvicePortForward); err == nil &&
		!strings.Contains(a.Text, "forward TCP port 3456 to this computer ("+natted.Addr.String()) {
		t.Errorf("port-forward advice does not name the LAN address: %s", a.Text)
	}
}
