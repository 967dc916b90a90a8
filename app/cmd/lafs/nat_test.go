package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	nodestatus "github.com/lafssync/lafssync/node/status"
	"github.com/lafssync/lafssync/node/webapi"
)

// httpHelperEnv makes the test binary an HTTP client run inside a network
// namespace (ip netns exec NS <test binary>): the node's web API listens
// on that namespace's loopback, out of the test process's reach.
const httpHelperEnv = "LAFS_TEST_HTTP"

// httpHelper performs LAFS_TEST_HTTP="METHOD URL" with the token in
// LAFS_TEST_TOKEN, the body from stdin, the answer to stdout; it exits 1
// on a non-2xx status.
func httpHelper() {
	method, url, _ := strings.Cut(os.Getenv(httpHelperEnv), " ")
	body, _ := io.ReadAll(os.Stdin)
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv("LAFS_TEST_TOKEN"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	io.Copy(os.Stdout, resp.Body)
	if resp.StatusCode/100 != 2 {
		fmt.Fprintln(os.Stderr, resp.Status)
		os.Exit(1)
	}
	os.Exit(0)
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// webCall calls a node's web API from inside namespace ns.
func webCall(t *testing.T, ns, dir, method, path string, body []byte) []byte {
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
	cmd := exec.Command("ip", "netns", "exec", ns, self)
	cmd.Env = append(os.Environ(), httpHelperEnv+"="+method+" "+strings.TrimSpace(string(u))+strings.TrimPrefix(path, "/"), "LAFS_TEST_TOKEN="+token)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s in %s: %v: %s", method, path, ns, err, stderr.String())
	}
	return out
}

// The seed's topology, in network namespaces: a storage server at home
// behind a masquerading router (it can dial out; nothing can dial in) and
// a public client that also runs a storage server, with the introducer
// beside it. The client stores a share on the NATted server and reads it
// back over the connection the NATted server opened.
func TestNATTopology(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make deps installs it)", tool)
		}
	}
	id := fmt.Sprint(os.Getpid() % 100000)
	pub, rtr, home := "lafs-pub-"+id, "lafs-rtr-"+id, "lafs-home-"+id
	for _, ns := range []string{pub, rtr, home} {
		sh(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	// public network 10.231.0.0/24: pub (10.231.0.1) — router (10.231.0.2)
	sh(t, "ip", "link", "add", "lp"+id, "netns", pub, "type", "veth", "peer", "name", "lr"+id, "netns", rtr)
	// home network 192.168.231.0/24: router (.1) — home (.2)
	sh(t, "ip", "link", "add", "hr"+id, "netns", rtr, "type", "veth", "peer", "name", "hh"+id, "netns", home)
	for _, c := range [][]string{
		{pub, "addr", "add", "10.231.0.1/24", "dev", "lp" + id}, {pub, "link", "set", "lp" + id, "up"},
		{rtr, "addr", "add", "10.231.0.2/24", "dev", "lr" + id}, {rtr, "link", "set", "lr" + id, "up"},
		{rtr, "addr", "add", "192.168.231.1/24", "dev", "hr" + id}, {rtr, "link", "set", "hr" + id, "up"},
		{home, "addr", "add", "192.168.231.2/24", "dev", "hh" + id}, {home, "link", "set", "hh" + id, "up"},
		{home, "route", "add", "default", "via", "192.168.231.1"},
	} {
		sh(t, append([]string{"ip", "-n", c[0]}, c[1:]...)...)
	}
	sh(t, "ip", "netns", "exec", rtr, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	sh(t, "ip", "netns", "exec", rtr, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "lr"+id, "-j", "MASQUERADE")
	// Outbound only: nothing new enters the home network.
	sh(t, "ip", "netns", "exec", rtr, "iptables", "-A", "FORWARD", "-i", "lr"+id, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP")

	inPub, inHome := []string{"ip", "netns", "exec", pub}, []string{"ip", "netns", "exec", home}
	root := t.TempDir()
	intro, client, nat := filepath.Join(root, "intro"), filepath.Join(root, "client"), filepath.Join(root, "home")
	lafs(t, nil, "create-introducer", "--hostname", "10.231.0.1", "--port", "3400", intro)
	runNode(t, inPub, intro, "introducer address: ")
	b, err := os.ReadFile(filepath.Join(intro, "private", "introducer.url"))
	if err != nil {
		t.Fatal(err)
	}
	iu := strings.TrimSpace(string(b))
	lafs(t, nil, "create-node", "--storage", "--nickname", "public-client", "--hostname", "10.231.0.1", "--port", "3401", "--introducer", iu, client)
	c, err := config.Load(client)
	if err != nil {
		t.Fatal(err)
	}
	c.SharesNeeded, c.SharesHappy, c.SharesTotal = 1, 2, 2 // one share here, one at home
	if err := config.Save(client, c); err != nil {
		t.Fatal(err)
	}
	lafs(t, nil, "create-node", "--storage", "--outbound-only", "--nickname", "home", "--hostname", "192.168.231.2", "--port", "3402", "--introducer", iu, nat)
	runNode(t, inHome, nat, "web API: ")
	runNode(t, inPub, client, "web API: ")

	// The home server cannot be dialed from the public side.
	self, _ := os.Executable()
	probe := exec.Command("ip", "netns", "exec", pub, "timeout", "5", self)
	probe.Env = append(os.Environ(), httpHelperEnv+"=GET http://192.168.231.2:3402/")
	if out, err := probe.CombinedOutput(); err == nil {
		t.Fatalf("the public side reached the home server directly: %s", out)
	}
	testkit.WaitFor(t, "the public client to see the home server connected", 60*time.Second, func() bool {
		return status(t, inPub, client).connected() == 2
	})
	var homePeer *nodestatus.Peer
	st := status(t, inPub, client)
	if st.Node == nil {
		t.Fatal("the client's status has no node part")
	}
	for i, p := range st.Node.Peers {
		if p.Nickname == "home" {
			homePeer = &st.Node.Peers[i]
		}
	}
	if homePeer == nil || !homePeer.Connected || !homePeer.Inbound || homePeer.Reachability != "outbound-only" || !strings.HasPrefix(homePeer.Remote, "10.231.0.2:") {
		t.Fatalf("the client's view of the home server: %+v (want connected, inbound from the router's address 10.231.0.2)", homePeer)
	}

	data := make([]byte, 2<<20)
	rand.Read(data)
	capText := strings.TrimSpace(string(webCall(t, pub, client, http.MethodPut, "/uri", data)))
	if !strings.HasPrefix(capText, "URI:CHK:") {
		t.Fatalf("PUT /uri answered %q", capText)
	}
	if k := testkit.CountShares(nat); k != 1 {
		t.Fatalf("the home server holds %d shares, want 1", k)
	}
	// Without the client's own share, the file can come only from home.
	if err := os.RemoveAll(filepath.Join(client, "storage", "shares")); err != nil {
		t.Fatal(err)
	}
	if got := webCall(t, pub, client, http.MethodGet, "/uri/"+capText, nil); !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes through the home server's connection, want the %d uploaded", len(got), len(data))
	}
	// The CLI, run beside the node, reaches the home server through the
	// node's storage proxy: it reads the file, and uploads another.
	out := filepath.Join(root, "via-cli")
	lafs(t, inPub, "-d", client, "get", capText, out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatalf("lafs get through the node read %d bytes, want %d", len(got), len(data))
	}
	src := filepath.Join(root, "second")
	os.WriteFile(src, data[:100000], 0o600)
	if c := strings.TrimSpace(lafs(t, inPub, "-d", client, "put", src)); !strings.HasPrefix(c, "URI:CHK:") {
		t.Fatalf("lafs put printed %q", c)
	}
	if k := testkit.CountShares(nat); k != 2 {
		t.Fatalf("after lafs put the home server holds %d shares, want 2", k)
	}
}
