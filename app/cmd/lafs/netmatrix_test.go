package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/netlab"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
)

// The topology matrix of docs/reachability.md: each cell is a small grid
// of real lafs processes in network namespaces (internal/netlab), and in
// each the client's CLI does the four operations — put and get of a
// file, mkdir and ls of a directory — with every share placed on every
// storage server, the NATted ones included (k=1, happy=n=number of
// servers). The test prints the matrix as a table.
//
// A cell whose parts are not built yet is a row with a reason (skipped).
// To fill one in, give it a run function like the others.
type matrixCell struct {
	name    string
	missing string // what is not built yet; the cell is skipped while non-empty
	run     func(t *testing.T, g *matrixGrid) string
}

var topologyMatrix = []matrixCell{
	{name: "all public", run: cellAllPublic},
	{name: "one NATted storage server (outbound-only)", run: cellNATtedServer},
	{name: "NATted client with a public helper", missing: "not built yet: the helper cell (all four operations through [client] helper) is the helper's to add here"},
	{name: "two NATted nodes (different NATs)", run: cellTwoNATted},
	{name: "NATted node with a DNAT port forward", run: cellPortForward},
	{name: "NATted node behind a UPnP router (miniupnpd)", run: cellUPnP},
	{name: "double NAT (CGNAT 100.64/10)", run: cellDoubleNAT},
	{name: "NATted client, no helper, no relay reachable", missing: "not built yet: the cell that asserts the verdict's advice when nothing can help"},
}

type matrixRow struct{ cell, result, notes string }

func TestTopologyMatrix(t *testing.T) {
	if why := netlab.Unavailable(); why != "" {
		t.Skip(why)
	}
	rows := make([]matrixRow, len(topologyMatrix))
	t0 := time.Now()
	t.Run("cells", func(t *testing.T) {
		for i, c := range topologyMatrix {
			rows[i] = matrixRow{cell: c.name}
			t.Run(c.name, func(t *testing.T) {
				if c.missing != "" {
					rows[i].result, rows[i].notes = "not built yet", strings.TrimPrefix(c.missing, "not built yet: ")
					t.Skip(c.missing)
				}
				t.Parallel()
				rows[i].result = "FAIL"
				t.Cleanup(func() {
					if !t.Failed() {
						rows[i].result = "ok"
					}
				})
				rows[i].notes = c.run(t, newMatrixGrid(t))
			})
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "topology matrix (%v):\n\n| cell | result | notes |\n|---|---|---|\n", time.Since(t0).Round(time.Second))
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.cell, r.result, r.notes)
	}
	t.Log(b.String())
}

// matrixGrid is one cell's network: a public LAN with an introducer on
// it, and the nodes the cell adds.
type matrixGrid struct {
	lab      *netlab.Lab
	pub      *netlab.LAN
	root     string
	introURL string

	mu      sync.Mutex // guards servers
	servers []string   // storage node directories
}

func newMatrixGrid(t *testing.T) *matrixGrid {
	g := &matrixGrid{lab: netlab.New(t), root: t.TempDir()}
	g.pub = g.lab.PublicLAN("pub", "")
	h := g.pub.Host("intro")
	dir := filepath.Join(g.root, "intro")
	lafs(t, nil, "create-introducer", "--hostname", h.Addr.String(), "--port", "3400", dir)
	runNode(t, h.Prefix(), dir, "introducer address: ")
	b, err := os.ReadFile(filepath.Join(dir, "private", "introducer.url"))
	if err != nil {
		t.Fatal(err)
	}
	g.introURL = strings.TrimSpace(string(b))
	return g
}

// node creates and runs a node on host h; storage makes it a storage
// server, extra flags go to create-node (e.g. --outbound-only).
func (g *matrixGrid) node(t *testing.T, h *netlab.Host, name string, storage bool, extra ...string) string {
	t.Helper()
	dir := filepath.Join(g.root, name)
	args := []string{"create-node", "--nickname", name, "--hostname", h.Addr.String(), "--port", "3401", "--introducer", g.introURL}
	if storage {
		args = append(args, "--storage")
		g.mu.Lock()
		g.servers = append(g.servers, dir)
		g.mu.Unlock()
	}
	lafs(t, nil, append(append(args, extra...), dir)...)
	return dir
}

// client creates the client node (no storage) with every share on every
// server: k=1, happy = total = the number of servers.
func (g *matrixGrid) client(t *testing.T, h *netlab.Host) string {
	t.Helper()
	dir := g.node(t, h, "client", false)
	c, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := len(g.servers)
	c.SharesNeeded, c.SharesHappy, c.SharesTotal = 1, n, n
	if err := config.Save(dir, c); err != nil {
		t.Fatal(err)
	}
	runNode(t, h.Prefix(), dir, "web API: ")
	testkit.WaitFor(t, fmt.Sprintf("the client to connect to %d servers", n), 45*time.Second, func() bool {
		return status(t, h.Prefix(), dir).connected() == n
	})
	return dir
}

// fourOps does put/get of a file and mkdir/ls of a directory with the
// client's CLI, and checks that every server holds a share of each
// object written: an immutable file, the alias's root directory, a
// subdirectory, and a file in it.
func (g *matrixGrid) fourOps(t *testing.T, h *netlab.Host, client string) string {
	t.Helper()
	in := h.Prefix()
	before := map[string]int{}
	for _, s := range g.servers {
		before[s] = testkit.CountShares(s)
	}
	data := make([]byte, 200<<10) // above the literal-file limit: real shares
	rand.Read(data)
	src := filepath.Join(g.root, "file")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	capText := strings.TrimSpace(lafs(t, in, "-d", client, "put", "-q", src))
	if !strings.HasPrefix(capText, "URI:CHK:") {
		t.Fatalf("put printed %q", capText)
	}
	back := filepath.Join(g.root, "back")
	lafs(t, in, "-d", client, "get", capText, back)
	if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
		t.Fatalf("get returned %d bytes, want the %d put", len(got), len(data))
	}
	lafs(t, in, "-d", client, "create-alias", "m")
	lafs(t, in, "-d", client, "mkdir", "m:dir")
	lafs(t, in, "-d", client, "put", "-q", src, "m:dir/f")
	if out := lafs(t, in, "-d", client, "ls", "m:dir"); !strings.Contains(out, "f") {
		t.Fatalf("ls m:dir printed %q, want the file f", out)
	}
	if out := lafs(t, in, "-d", client, "ls", "m:"); !strings.Contains(out, "dir") {
		t.Fatalf("ls m: printed %q, want the directory dir", out)
	}
	ops := time.Since(t0)
	var counts []string
	for _, s := range g.servers {
		got := testkit.CountShares(s) - before[s]
		if got < 3 { // the file (put twice: one CHK), the alias's directory, dir
			t.Errorf("server %s holds %d new shares, want one of each object (3)", filepath.Base(s), got)
		}
		counts = append(counts, fmt.Sprintf("%s %d", filepath.Base(s), got))
	}
	return fmt.Sprintf("4 ops in %.1f s; new shares: %s", ops.Seconds(), strings.Join(counts, ", "))
}

// verdict is the node's own reachability verdict, once it has one other
// than "unknown" (or "unknown" after d).
func verdict(t *testing.T, h *netlab.Host, dir string, d time.Duration) string {
	t.Helper()
	v := "unknown"
	testkit.Poll(d, func() bool {
		var r struct {
			Verdict string `json:"verdict"`
		}
		json.Unmarshal([]byte(lafs(t, h.Prefix(), "-d", dir, "reachability", "--json")), &r)
		v = r.Verdict
		return v != "" && v != "unknown"
	})
	return v
}

// All public: two storage servers and the client on the public LAN.
func cellAllPublic(t *testing.T, g *matrixGrid) string {
	var hosts []*netlab.Host
	for _, name := range []string{"s1", "s2"} {
		h := g.pub.Host(name)
		runNode(t, h.Prefix(), g.node(t, h, name, true), "web API: ")
		hosts = append(hosts, h)
	}
	ch := g.pub.Host("client")
	client := g.client(t, ch)
	notes := g.fourOps(t, ch, client)
	if v := verdict(t, hosts[0], g.servers[0], 20*time.Second); v != "public" {
		t.Errorf("the public storage server's verdict is %q, want public", v)
	}
	return notes + "; s1 verdict: public"
}

// The seed's case: one public storage server, one storage server at home
// behind a NAT router ([node] reachability = outbound-only: it dials out
// and the others use its connections), and a public client.
func cellNATtedServer(t *testing.T, g *matrixGrid) string {
	h := g.pub.Host("s1")
	runNode(t, h.Prefix(), g.node(t, h, "s1", true), "web API: ")
	rtr := g.pub.Router("rtr", "192.168.50.0/24", netlab.RouterOptions{})
	home := rtr.Inside.Host("home")
	homeDir := g.node(t, home, "home", true, "--outbound-only")
	if c, err := config.Load(homeDir); err != nil || c.Reachability != "outbound-only" {
		t.Fatalf("the home server's tahoe.cfg: reachability %q (%v), want outbound-only", c.Reachability, err)
	}
	runNode(t, home.Prefix(), homeDir, "web API: ")
	ch := g.pub.Host("client")
	client := g.client(t, ch)
	notes := g.fourOps(t, ch, client)
	// The home server is not reachable from the public side: what it
	// holds came over the connection it opened.
	if out, err := ch.Run("timeout", "3", "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/3401", home.Addr)); err == nil {
		t.Fatalf("the public client reached the home server directly: %s", out)
	}
	if v := verdict(t, home, homeDir, 20*time.Second); v != "behind NAT" {
		t.Errorf("the home server's verdict is %q, want behind NAT", v)
	}
	return notes + "; home verdict: behind NAT"
}

// A storage server at home behind a router that forwards its port
// (DNAT), in the default reachability mode (auto), announcing the
// router's address: the client dials it through the forward, and the
// node's verdict says port-forwarded.
func cellPortForward(t *testing.T, g *matrixGrid) string {
	h := g.pub.Host("s1")
	runNode(t, h.Prefix(), g.node(t, h, "s1", true), "web API: ")
	rtr := g.pub.Router("rtr", "192.168.51.0/24", netlab.RouterOptions{})
	home := rtr.Inside.Host("home")
	rtr.Forward(3401, netip.AddrPortFrom(home.Addr, 3401))
	homeDir := g.node(t, home, "home", true, "--location", fmt.Sprintf("tcp:%v:3401", rtr.WAN))
	runNode(t, home.Prefix(), homeDir, "web API: ")
	ch := g.pub.Host("client")
	client := g.client(t, ch)
	if v := verdict(t, home, homeDir, 30*time.Second); v != "port-forwarded" {
		t.Errorf("the home server's verdict is %q, want port-forwarded", v)
	}
	return g.fourOps(t, ch, client) + "; home verdict: port-forwarded"
}

// Two NATted nodes behind different routers: a storage server at one
// home, the client at another (both outbound-only), with a public
// storage server that relays. The client reaches the home server only
// through the relay.
func cellTwoNATted(t *testing.T, g *matrixGrid) string {
	h := g.pub.Host("s1")
	runNode(t, h.Prefix(), g.node(t, h, "s1", true), "web API: ")
	rtrA := g.pub.Router("rtra", "192.168.52.0/24", netlab.RouterOptions{})
	home := rtrA.Inside.Host("home")
	homeDir := g.node(t, home, "home", true, "--outbound-only")
	runNode(t, home.Prefix(), homeDir, "web API: ")
	rtrB := g.pub.Router("rtrb", "192.168.53.0/24", netlab.RouterOptions{})
	ch := rtrB.Inside.Host("client")
	dir := g.node(t, ch, "client", false, "--outbound-only")
	c, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.SharesNeeded, c.SharesHappy, c.SharesTotal = 1, 2, 2
	if err := config.Save(dir, c); err != nil {
		t.Fatal(err)
	}
	runNode(t, ch.Prefix(), dir, "web API: ")
	testkit.WaitFor(t, "the NATted client to connect to both servers", 60*time.Second, func() bool {
		return status(t, ch.Prefix(), dir).connected() == 2
	})
	var remote, relay string
	for _, p := range status(t, ch.Prefix(), dir).Node.Peers {
		switch p.Nickname {
		case "home":
			remote = p.Remote
		case "s1":
			relay = p.ID
		}
	}
	if relay == "" || remote != "relay:"+relay {
		t.Errorf("the client's connection to the home server: remote %q, want relayed by s1 (relay:%s)", remote, relay)
	}
	return g.fourOps(t, ch, dir) + "; client to home: relayed by s1"
}

// A storage server behind two NATs, the outer one an ISP's carrier-grade
// NAT (100.64.0.0/10 between the routers), left in the default mode
// (auto): it finds nobody can reach it and turns outbound-only by itself
// (announces no address), and the public client stores on it over the
// connection it opens.
//
// Its verdict is "behind NAT", not "behind double NAT / CGNAT": with no
// port mapping the node never learns its router's outside address
// (100.64.0.2), and peers see only the ISP's address, so the second NAT
// is invisible to it (node/nat needs the mapping's external address or a
// CGNAT address of its own to say CGNAT). The cell accepts either
// unreachable verdict and prints which one it got.
func cellDoubleNAT(t *testing.T, g *matrixGrid) string {
	h := g.pub.Host("s1")
	runNode(t, h.Prefix(), g.node(t, h, "s1", true), "web API: ")
	isp := g.pub.Router("isp", "100.64.0.0/24", netlab.RouterOptions{})
	rtr := isp.Inside.Router("rtr", "192.168.54.0/24", netlab.RouterOptions{})
	home := rtr.Inside.Host("home")
	homeDir := g.node(t, home, "home", true)
	runNode(t, home.Prefix(), homeDir, "web API: ")
	ch := g.pub.Host("client")
	client := g.client(t, ch)
	v := verdict(t, home, homeDir, 30*time.Second)
	if v != "behind double NAT / CGNAT" && v != "behind NAT" {
		t.Errorf("the home server's verdict is %q, want behind double NAT / CGNAT (or behind NAT)", v)
	}
	var r struct {
		Announce []string `json:"announce"`
	}
	json.Unmarshal([]byte(lafs(t, home.Prefix(), "-d", homeDir, "reachability", "--json")), &r)
	if len(r.Announce) != 0 {
		t.Errorf("the home server behind two NATs announces %v, want nothing (outbound-only)", r.Announce)
	}
	return g.fourOps(t, ch, client) + "; home verdict: " + v + ", announces nothing (auto turned outbound-only)"
}

// A storage server behind a router running miniupnpd, in the default
// mode (auto): the node maps its port, a peer's dial-back confirms the
// mapped address, the verdict says public via port mapping, and the
// client stores on it.
func cellUPnP(t *testing.T, g *matrixGrid) string {
	h := g.pub.Host("s1")
	runNode(t, h.Prefix(), g.node(t, h, "s1", true), "web API: ")
	rtr := g.pub.Router("rtr", "192.168.55.0/24", netlab.RouterOptions{UPnP: true})
	upnp := rtr.StartUPnP()
	home := rtr.Inside.Host("home")
	homeDir := g.node(t, home, "home", true)
	runNode(t, home.Prefix(), homeDir, "web API: ")
	ch := g.pub.Host("client")
	client := g.client(t, ch)
	if v := verdict(t, home, homeDir, 30*time.Second); v != "public via port mapping" {
		t.Errorf("the home server's verdict is %q, want public via port mapping", v)
	}
	if r := upnp.Redirects(); len(r) != 1 || !strings.Contains(r[0], home.Addr.String()+":3401") {
		t.Errorf("the router's mappings: %v, want one to %v:3401", r, home.Addr)
	}
	return g.fourOps(t, ch, client) + "; home verdict: public via port mapping"
}
