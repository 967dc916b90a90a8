package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/netlab"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/transport"
	"github.com/lafssync/lafssync/node/webapi"
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
	{name: "NATted client with a public helper", run: cellHelper},
	{name: "two NATted nodes (different NATs): hole punch", run: cellHolePunch},
	{name: "two NATted nodes, one NAT symmetric: relay", run: cellTwoNATted},
	{name: "NATted node with a DNAT port forward", run: cellPortForward},
	{name: "NATted node behind a UPnP router (miniupnpd)", run: cellUPnP},
	{name: "double NAT (CGNAT 100.64/10)", run: cellDoubleNAT},
	{name: "NATted client, no helper, no relay reachable", run: cellNothingHelps},
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

// client creates and runs the client node (no storage; extra flags go
// to create-node) with every share on every server, and waits until it
// can use them all (directly, relayed, or through a helper).
func (g *matrixGrid) client(t *testing.T, h *netlab.Host, extra ...string) string {
	t.Helper()
	dir := g.startClient(t, h, extra...)
	n := len(g.servers)
	testkit.WaitFor(t, fmt.Sprintf("the client to reach %d servers", n), 60*time.Second, func() bool {
		return status(t, h.Prefix(), dir).connected() == n
	})
	return dir
}

// startClient creates and runs the client node with k=1, happy = total =
// the number of servers, without waiting for the servers.
func (g *matrixGrid) startClient(t *testing.T, h *netlab.Host, extra ...string) string {
	t.Helper()
	dir := g.node(t, h, "client", false, extra...)
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
	return dir
}

// natServers runs storage servers behind one new NAT router, each
// outbound-only: they dial out, and others reach them only over the
// connections they open (or through a relay or a helper).
func (g *matrixGrid) natServers(t *testing.T, router, cidr string, names ...string) []*netlab.Host {
	t.Helper()
	rtr := g.pub.Router(router, cidr, netlab.RouterOptions{})
	var hosts []*netlab.Host
	for _, name := range names {
		h := rtr.Inside.Host(name)
		runNode(t, h.Prefix(), g.node(t, h, name, true, "--outbound-only"), "web API: ")
		hosts = append(hosts, h)
	}
	return hosts
}

// natHost is a host alone behind a new NAT router.
func (g *matrixGrid) natHost(t *testing.T, router, cidr, name string) *netlab.Host {
	t.Helper()
	return g.pub.Router(router, cidr, netlab.RouterOptions{}).Inside.Host(name)
}

// fourOps does put/get of a file and mkdir/ls of a directory with the
// client's CLI, and checks that every server holds a share of each
// object written: an immutable file, the alias's root directory, a
// subdirectory, and a file in it.
func (g *matrixGrid) fourOps(t *testing.T, h *netlab.Host, client string) string {
	t.Helper()
	in := h.Prefix()
	newShares := g.shareCounter(t)
	data, src := g.file(t)
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
	os.Remove(back)
	lafs(t, in, "-d", client, "get", "m:dir/f", back)
	if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
		t.Fatalf("get m:dir/f returned %d bytes, want the %d put", len(got), len(data))
	}
	if out := lafs(t, in, "-d", client, "ls", "m:"); !strings.Contains(out, "dir") {
		t.Fatalf("ls m: printed %q, want the directory dir", out)
	}
	ops := time.Since(t0)
	return fmt.Sprintf("4 ops in %.1f s; new shares: %s", ops.Seconds(), newShares(3)) // the file (put twice: one CHK), the alias's directory, dir
}

// fourOpsAPI does the four operations through the client's web API (the
// API the app and the sync engine use): PUT and GET of a file, a new
// directory, a file put into it, the directory listed and the file read
// back through it; every server must hold a share of each of the three
// objects.
func (g *matrixGrid) fourOpsAPI(t *testing.T, h *netlab.Host, client string) string {
	t.Helper()
	newShares := g.shareCounter(t)
	data, _ := g.file(t)
	call := func(method, path string, body []byte) []byte {
		t.Helper()
		out, err := webTry(t, h, client, method, path, body)
		if err != "" {
			t.Fatalf("%s %s: %s", method, path, err)
		}
		return out
	}
	t0 := time.Now()
	capText := strings.TrimSpace(string(call("PUT", "uri", data)))
	if !strings.HasPrefix(capText, "URI:CHK:") {
		t.Fatalf("PUT /uri answered %q", capText)
	}
	if got := call("GET", "uri/"+capText, nil); !bytes.Equal(got, data) {
		t.Fatalf("GET /uri/CAP returned %d bytes, want the %d put", len(got), len(data))
	}
	dirCap := strings.TrimSpace(string(call("POST", "uri?t=mkdir", nil)))
	if !strings.HasPrefix(dirCap, "URI:DIR2:") {
		t.Fatalf("POST /uri?t=mkdir answered %q", dirCap)
	}
	call("PUT", "uri/"+dirCap+"/f", data)
	if ls := call("GET", "uri/"+dirCap+"?t=json", nil); !bytes.Contains(ls, []byte(`"f"`)) {
		t.Fatalf("the directory's listing lacks the file f: %s", ls)
	}
	if got := call("GET", "uri/"+dirCap+"/f", nil); !bytes.Equal(got, data) {
		t.Fatalf("GET /uri/DIRCAP/f returned %d bytes, want the %d put", len(got), len(data))
	}
	ops := time.Since(t0)
	return fmt.Sprintf("4 ops (web API) in %.1f s; new shares: %s", ops.Seconds(), newShares(2)) // the file (put twice: one CHK), the directory
}

// file writes 200 KiB of random bytes (above the literal-file limit:
// real shares) to a file of the cell's.
func (g *matrixGrid) file(t *testing.T) (data []byte, path string) {
	t.Helper()
	data = make([]byte, 200<<10)
	rand.Read(data)
	path = filepath.Join(g.root, "file")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return data, path
}

// shareCounter notes how many shares each server holds; the function it
// returns fails the test unless each now holds at least want more, and
// says how many each got.
func (g *matrixGrid) shareCounter(t *testing.T) func(want int) string {
	before := map[string]int{}
	for _, s := range g.servers {
		before[s] = testkit.CountShares(s)
	}
	return func(want int) string {
		t.Helper()
		var counts []string
		for _, s := range g.servers {
			got := testkit.CountShares(s) - before[s]
			if got < want {
				t.Errorf("server %s holds %d new shares, want one of each object (%d)", filepath.Base(s), got, want)
			}
			counts = append(counts, fmt.Sprintf("%s %d", filepath.Base(s), got))
		}
		return strings.Join(counts, ", ")
	}
}

// webTry calls the node's web API from inside h's namespace (through the
// test binary's HTTP helper, nat_test.go) and returns the body, or what
// went wrong ("" on a 2xx answer).
func webTry(t *testing.T, h *netlab.Host, dir, method, path string, body []byte) ([]byte, string) {
	t.Helper()
	u, err := os.ReadFile(filepath.Join(dir, "node.url"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := webapi.LoadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	cmd := exec.Command("ip", "netns", "exec", h.Name, self)
	cmd.Env = append(os.Environ(), httpHelperEnv+"="+method+" "+strings.TrimSpace(string(u))+strings.TrimPrefix(path, "/"), "LAFS_TEST_TOKEN="+token)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, strings.TrimSpace(stderr.String() + " " + string(out))
	}
	return out, ""
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
// storage server that relays. The home router is a symmetric NAT (a new
// random outside port for each connection), so hole punching cannot
// work (cellHolePunch is the same grid with port-keeping NATs): the client
// reaches the home server only through the relay, and stays relayed.
func cellTwoNATted(t *testing.T, g *matrixGrid) string {
	h := g.pub.Host("s1")
	runNode(t, h.Prefix(), g.node(t, h, "s1", true), "web API: ")
	rtr := g.pub.Router("rtra", "192.168.52.0/24", netlab.RouterOptions{Symmetric: true})
	home := rtr.Inside.Host("home")
	runNode(t, home.Prefix(), g.node(t, home, "home", true, "--outbound-only"), "web API: ")
	ch := g.natHost(t, "rtrb", "192.168.53.0/24", "client")
	dir := g.client(t, ch, "--outbound-only")
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
	notes := g.fourOps(t, ch, dir)
	if r := peerRemote(t, ch, dir, "home"); r != "relay:"+relay {
		t.Errorf("after the operations the client's connection to the home server is %q, want still relayed by s1 (a symmetric NAT defeats hole punching)", r)
	}
	return notes + "; client to home: relayed by s1 (symmetric NAT: no hole punch)"
}

// peerRemote is the remote address of h's node's connection to the peer
// nicknamed nick ("" if not connected).
func peerRemote(t *testing.T, h *netlab.Host, dir, nick string) string {
	t.Helper()
	for _, p := range status(t, h.Prefix(), dir).Node.Peers {
		if p.Nickname == nick && p.Connected {
			return p.Remote
		}
	}
	return ""
}

// The same two homes behind NAT routers that keep ports and drop what
// nobody asked for (most home routers; netlab's Stealth): the client and the home server first connect through the
// relay, then punch a direct connection through both NATs (TCP
// simultaneous open coordinated over the relayed connection,
// node/fullnode/punch.go). Each side's connection to the other ends up
// direct, at the other router's address, and the operations go over it.
func cellHolePunch(t *testing.T, g *matrixGrid) string {
	s1 := g.pub.Host("s1")
	runNode(t, s1.Prefix(), g.node(t, s1, "s1", true), "web API: ")
	rtra := g.pub.Router("rtra", "192.168.54.0/24", netlab.RouterOptions{Stealth: true})
	home := rtra.Inside.Host("home")
	homeDir := g.node(t, home, "home", true, "--outbound-only")
	runNode(t, home.Prefix(), homeDir, "web API: ")
	rtrb := g.pub.Router("rtrb", "192.168.55.0/24", netlab.RouterOptions{Stealth: true})
	ch := rtrb.Inside.Host("client")
	dir := g.client(t, ch, "--outbound-only")
	t0 := time.Now()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, d := range []string{dir, homeDir} { // what each side said of its punches
			b, _ := os.ReadFile(d + ".log")
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "punch") || strings.Contains(l, "msg=reachability") {
					t.Log(filepath.Base(d), l)
				}
			}
		}
	})
	var clientSees, homeSees string
	testkit.WaitFor(t, "the client and the home server to connect directly (hole punch)", 60*time.Second, func() bool {
		clientSees, homeSees = peerRemote(t, ch, dir, "home"), peerRemote(t, home, homeDir, "client")
		return clientSees != "" && !strings.HasPrefix(clientSees, "relay:") && homeSees != "" && !strings.HasPrefix(homeSees, "relay:")
	})
	took := time.Since(t0)
	if !strings.HasPrefix(clientSees, rtra.WAN.String()+":") {
		t.Errorf("the client's direct connection to the home server goes to %s, want the home router's address %s", clientSees, rtra.WAN)
	}
	if !strings.HasPrefix(homeSees, rtrb.WAN.String()+":") {
		t.Errorf("the home server's direct connection to the client comes from %s, want the client's router %s", homeSees, rtrb.WAN)
	}
	notes := g.fourOps(t, ch, dir)
	if r := peerRemote(t, ch, dir, "home"); strings.HasPrefix(r, "relay:") {
		t.Errorf("after the operations the client's connection to the home server is relayed again (%s)", r)
	}
	return fmt.Sprintf("%s; client to home: relayed, then direct by hole punch %.1f s after the client was up (%s ↔ %s)",
		notes, took.Seconds(), clientSees, homeSees)
}

// A storage server behind two NATs, the outer one an ISP's carrier-grade
// NAT (100.64.0.0/10 between the routers), left in the default mode
// (auto): it finds nobody can reach it and turns outbound-only by itself
// (announces no address), and the public client stores on it over the
// connection it opens.
//
// The home router runs miniupnpd, as many home routers do. Behind
// 100.64.0.2 it answers the node's port-mapping requests but reports no
// outside address of its own and maps nothing ("Port forwarding is
// impossible"), while peers on the Internet see the node at the ISP's
// address: the evidence of the second NAT, so the verdict is behind
// double NAT / CGNAT, and the advice is the relay, not a port forward.
func cellDoubleNAT(t *testing.T, g *matrixGrid) string {
	h := g.pub.Host("s1")
	runNode(t, h.Prefix(), g.node(t, h, "s1", true), "web API: ")
	isp := g.pub.Router("isp", "100.64.0.0/24", netlab.RouterOptions{})
	rtr := isp.Inside.Router("rtr", "192.168.54.0/24", netlab.RouterOptions{UPnP: true})
	upnp := rtr.StartUPnP()
	home := rtr.Inside.Host("home")
	homeDir := g.node(t, home, "home", true)
	runNode(t, home.Prefix(), homeDir, "web API: ")
	ch := g.pub.Host("client")
	client := g.client(t, ch)
	if v := verdict(t, home, homeDir, 30*time.Second); v != string(nat.VerdictCGNAT) {
		t.Errorf("the home server's verdict is %q, want %s", v, nat.VerdictCGNAT)
	}
	r := reachReport(t, home, homeDir)
	ev := strings.Join(r.Evidence, "\n")
	if want := fmt.Sprintf("your router %v answers port-mapping requests", rtr.Inside.Gateway); !strings.Contains(ev, want) ||
		!strings.Contains(ev, "see this node at "+isp.WAN.String()) {
		t.Errorf("the evidence does not say that the router %v has no internet address while peers see %v:\n%s", rtr.Inside.Gateway, isp.WAN, ev)
	}
	if r.Router == nil || r.Router.Gateway != rtr.Inside.Gateway {
		t.Errorf("the report's router: %+v, want the one at %v", r.Router, rtr.Inside.Gateway)
	}
	if _, err := r.Find(nat.AdviceUseRelay); err != nil {
		t.Error(err)
	}
	if _, err := r.Find(nat.AdvicePortForward); err == nil {
		t.Error("behind double NAT the node still advises a port forward, which cannot work")
	}
	if len(r.Announce) != 0 {
		t.Errorf("the home server behind two NATs announces %v, want nothing (outbound-only)", r.Announce)
	}
	if rd := upnp.Redirects(); len(rd) != 0 {
		t.Errorf("miniupnpd behind 100.64.0.2 holds mappings: %v", rd)
	}
	return g.fourOps(t, ch, client) + "; home verdict: " + string(r.Verdict) + " (its miniupnpd router has no internet address of its own), announces nothing (auto turned outbound-only)"
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

// helperNode runs a public upload helper on the public LAN ([helper]
// enabled = true): it stores nothing and relays nothing ([relay] enabled
// = false), so whatever a client stores through it went through it.
func (g *matrixGrid) helperNode(t *testing.T) (h *netlab.Host, dir, id string) {
	t.Helper()
	h = g.pub.Host("helper")
	dir = g.node(t, h, "helper", false)
	if _, err := config.Edit(dir, []config.Setting{{Section: "helper", Key: "enabled", Value: "true"},
		{Section: "relay", Key: "enabled", Value: "false"}}); err != nil {
		t.Fatal(err)
	}
	runNode(t, h.Prefix(), dir, "web API: ")
	return h, dir, status(t, h.Prefix(), dir).Node.ID
}

// noDirectStorage fails the test if the node in dir is connected
// (directly or relayed) to a storage server.
func noDirectStorage(t *testing.T, h *netlab.Host, dir string) {
	t.Helper()
	for _, p := range status(t, h.Prefix(), dir).Node.Peers {
		if p.Service == "storage" && p.Connected {
			t.Fatalf("%s is connected to the storage server %s (%s) itself: the cell needs them apart", filepath.Base(dir), p.Nickname, p.Remote)
		}
	}
}

// reachReport is the node's lafs reachability --json.
func reachReport(t *testing.T, h *netlab.Host, dir string) nat.Report {
	t.Helper()
	var r nat.Report
	if err := json.Unmarshal([]byte(lafs(t, h.Prefix(), "-d", dir, "reachability", "--json")), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// lafsFails runs a CLI command that must fail and returns what it wrote
// to stderr.
func lafsFails(t *testing.T, prefix []string, args ...string) string {
	t.Helper()
	argv := append(append(append([]string{}, prefix...), lafsBin), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		t.Fatalf("lafs %s succeeded (%s), want it to fail", strings.Join(args, " "), out)
	}
	return stderr.String()
}

// A client behind NAT, two storage servers behind another NAT (both
// outbound-only), and a public upload helper, with no relay anywhere:
// neither side can dial the other, so the client ([client] helper = auto,
// the default) picks the announced helper and does all four operations
// through it — immutable uploads sent once to the helper, which places the
// shares; downloads and mutable files by the helper forwarding the
// client's storage calls.
func cellHelper(t *testing.T, g *matrixGrid) string {
	hh, helperDir, helperID := g.helperNode(t)
	servers := g.natServers(t, "rtra", "192.168.56.0/24", "s1", "s2")
	ch := g.natHost(t, "rtrb", "192.168.57.0/24", "client")
	client := g.client(t, ch) // waits until both servers answer (through the helper)
	noDirectStorage(t, ch, client)
	for i, s := range servers {
		for _, p := range status(t, s.Prefix(), g.servers[i]).Node.Peers {
			if p.Nickname == "client" && p.Connected {
				t.Fatalf("storage server %s is connected to the client (%s)", s.Name, p.Remote)
			}
		}
	}
	clientID := status(t, ch.Prefix(), client).Node.ID
	// Through the web API, then with the CLI, which uses the servers the
	// running node reaches through its helper (over the node's storage
	// proxy, the helper forwarding).
	notes := g.fourOpsAPI(t, ch, client)
	notes += "; CLI: " + g.fourOps(t, ch, client)
	noDirectStorage(t, ch, client) // still apart after the operations

	// The helper placed the client's immutable uploads: its log says so,
	// naming the client.
	placed := 0
	b, _ := os.ReadFile(helperDir + ".log")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "helper: upload placed") && strings.Contains(line, clientID) {
			placed++
		}
	}
	if placed == 0 {
		t.Errorf("the helper's log shows no upload placed for the client %s:\n%s", clientID, b)
	}
	if !slices.ContainsFunc(status(t, hh.Prefix(), helperDir).Node.Connections, func(c transport.PeerState) bool { return c.ID == clientID }) {
		t.Errorf("the helper has no connection to the client")
	}

	// The client's own verdict: behind NAT; it reaches both servers
	// through the helper, so there is no few-servers advice (use-helper,
	// naming the helper for every upload, may be there).
	if v := verdict(t, ch, client, 30*time.Second); v != "behind NAT" {
		t.Errorf("the client's verdict is %q, want behind NAT", v)
	}
	r := reachReport(t, ch, client)
	if a, err := r.Find(nat.AdviceFewServers); err == nil {
		t.Errorf("the client using the helper %s is advised few-servers: %s", helperID, a.Text)
	}
	var ids []string
	for _, a := range r.Advice {
		ids = append(ids, a.ID)
	}
	return fmt.Sprintf("%s; the client reaches the servers only through the helper (no direct or relayed connection; uploads placed by the helper: %d); client verdict: behind NAT, advice: %s",
		notes, placed, strings.Join(ids, ", "))
}

// The same NATs with nothing between them: no helper, no relay. The
// client knows of the two servers but reaches neither. Its upload fails
// saying so, and its reachability report says why (0 of the 2 servers
// an upload needs) and what to do: a helper or relay on a public node, or
// the port forward it can apply itself (few-servers).
func cellNothingHelps(t *testing.T, g *matrixGrid) string {
	g.natServers(t, "rtra", "192.168.58.0/24", "s1", "s2")
	ch := g.natHost(t, "rtrb", "192.168.59.0/24", "client")
	client := g.startClient(t, ch)
	in := ch.Prefix()

	if v := verdict(t, ch, client, 40*time.Second); v != "behind NAT" {
		t.Errorf("the client's verdict is %q, want behind NAT", v)
	}
	const fact = "This node reaches only 0 of the 2 storage servers an upload needs (shares.happy = 2)"
	var advice nat.Advice
	testkit.WaitFor(t, "the client's few-servers advice", 30*time.Second, func() bool {
		a, err := reachReport(t, ch, client).Find(nat.AdviceFewServers)
		advice = a
		return err == nil && strings.Contains(a.Text, "the other 2 it knows of")
	})
	for _, want := range []string{fact, "upload helper ([helper] enabled = true", "relay ([relay] enabled = true)", "forward TCP port 3401"} {
		if !strings.Contains(advice.Text, want) {
			t.Errorf("the few-servers advice lacks %q: %s", want, advice.Text)
		}
	}
	noDirectStorage(t, ch, client)

	data, src := g.file(t)
	_, apiPut := webTry(t, ch, client, "PUT", "uri", data)
	_, apiMkdir := webTry(t, ch, client, "POST", "uri?t=mkdir", nil)
	cliPut := lafsFails(t, in, "-d", client, "put", "-q", src)
	cliMkdir := lafsFails(t, in, "-d", client, "mkdir")
	t.Logf("errors:\nweb API PUT /uri: %s\nweb API mkdir: %s\nlafs put: %s\nlafs mkdir: %s", apiPut, apiMkdir, cliPut, cliMkdir)
	for _, e := range []struct{ op, got, want string }{
		{"PUT /uri", apiPut, "could place them on only 0"},
		{"POST /uri?t=mkdir", apiMkdir, "no storage server to write to"},
		{"lafs put", cliPut, "knows 2 storage servers but reaches none of them"},
		{"lafs mkdir", cliMkdir, "knows 2 storage servers but reaches none of them"},
		{"lafs put", cliPut, "reachability' says why and what to do"},
	} {
		if !strings.Contains(e.got, e.want) {
			t.Errorf("the failed %s says %q, want it to hold %q", e.op, e.got, e.want)
		}
	}

	// A helper appears: the advice follows the new connections at once,
	// without a new check (the verdict's time stays), and the client now
	// reaches both servers.
	checked := reachReport(t, ch, client).CheckedAt
	g.helperNode(t)
	testkit.WaitFor(t, "the few-servers advice to go once a helper is connected", 45*time.Second, func() bool {
		_, err := reachReport(t, ch, client).Find(nat.AdviceFewServers)
		return err != nil
	})
	if r := reachReport(t, ch, client); !r.CheckedAt.Equal(checked) || r.Verdict != nat.VerdictNAT {
		t.Errorf("the report after the helper came: verdict %q checked at %v, want the same check (behind NAT, %v)", r.Verdict, r.CheckedAt, checked)
	}
	testkit.WaitFor(t, "the client to reach both servers through the new helper", 30*time.Second, func() bool {
		return status(t, in, client).connected() == 2
	})
	return "put and mkdir fail (web API: " + firstLine(strings.TrimPrefix(apiPut, "500 Internal Server Error")) + "); client verdict: behind NAT; advice few-servers: " +
		fact + "; a helper started afterwards removes the advice without a new check"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
