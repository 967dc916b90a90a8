package fullnode

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/lease"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/status"
	"github.com/lafssync/lafssync/node/storagenode"
	"github.com/lafssync/lafssync/node/webapi"
)

// run starts the node in dir and returns it once it listens.
func run(t testing.TB, dir string) *Node {
	t.Helper()
	n, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, func(*Node) { close(up) }) }()
	select {
	case <-up:
	case err := <-done:
		t.Fatalf("node %s: %v", dir, err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node %s: %v", dir, err)
		}
	})
	return n
}

func create(t testing.TB, dir string, o storagenode.CreateOptions) {
	t.Helper()
	if _, err := storagenode.Create(dir, o); err != nil {
		t.Fatal(err)
	}
}

// api calls the node's web API.
func api(t *testing.T, n *Node, method, path string, body []byte) (int, []byte) {
	t.Helper()
	token, err := webapi.LoadToken(n.Dir)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, strings.TrimSuffix(n.WebURL(), "/")+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// An introducer, storage servers that learn of each other through it, one
// of them behind "NAT" (outbound only: announced without an address), and
// a client that stores on all of them — on the NATted one over the
// connection that server opened.
func TestGridThroughIntroducer(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true, Nickname: "intro"})
	intro := run(t, filepath.Join(root, "intro"))
	iu := intro.IntroducerURL()
	if b, _ := os.ReadFile(filepath.Join(root, "intro", "private", IntroducerURLFile)); strings.TrimSpace(string(b)) != iu {
		t.Fatalf("introducer.url holds %q, want %q", b, iu)
	}
	intros := map[string]string{"default": iu}
	var servers []*Node
	for i := 0; i < 4; i++ {
		dir := filepath.Join(root, fmt.Sprintf("s%d", i))
		create(t, dir, storagenode.CreateOptions{Storage: true, Nickname: fmt.Sprintf("s%d", i), Introducers: intros, OutboundOnly: i == 0})
		servers = append(servers, run(t, dir))
	}
	natted := servers[0]
	cdir := filepath.Join(root, "client")
	create(t, cdir, storagenode.CreateOptions{Nickname: "client", Introducers: intros})
	c, err := config.Load(cdir)
	if err != nil {
		t.Fatal(err)
	}
	c.SharesNeeded, c.SharesHappy, c.SharesTotal = 2, 4, 4 // a share on every server
	if err := config.Save(cdir, c); err != nil {
		t.Fatal(err)
	}
	me := run(t, cdir)
	testkit.WaitFor(t, "the client to connect to all four servers", 20*time.Second, func() bool { return len(me.Servers()) == 4 })

	// The client may first reach the NATted server through the public
	// servers' relay; the server's own connection to the client, direct,
	// replaces that one.
	var st *status.Node
	var natState *status.Peer
	ok := testkit.Poll(20*time.Second, func() bool {
		st, natState = me.Status(), nil
		for i := range st.Peers {
			if st.Peers[i].ID == natted.T.ID() {
				natState = &st.Peers[i]
			}
		}
		return natState != nil && natState.Connected && natState.Inbound
	})
	if !ok || natState.Reachability != introducer.OutboundOnly {
		t.Fatalf("client's view of the NATted server: %+v", natState)
	}
	if len(st.Introducers) != 1 || !st.Introducers[0].Connected {
		t.Fatalf("introducers: %+v", st.Introducers)
	}

	data := make([]byte, 3<<20)
	rand.Read(data)
	code, capb := api(t, me, http.MethodPut, "/uri", data)
	if code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("PUT /uri: %d %s", code, capb)
	}
	if k := testkit.CountShares(natted.Dir); k != 1 {
		t.Fatalf("the NATted server holds %d shares, want 1", k)
	}
	// Read back with two servers' shares gone: the NATted server's share
	// is needed, and it travels over the connection that server opened.
	for _, s := range servers[2:] {
		os.RemoveAll(filepath.Join(s.Dir, "storage", "shares"))
	}
	code, got := api(t, me, http.MethodGet, "/uri/"+string(capb), nil)
	if code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET with the NATted server's share: %d, %d bytes", code, len(got))
	}
	// The CLI's view of the grid while the node runs reaches the NATted
	// server too, through the node's storage proxy.
	cl, err := client.Open(cdir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cl.Imm.Servers) != 4 {
		t.Fatalf("the CLI sees %d servers, want 4", len(cl.Imm.Servers))
	}
	up, err := cl.Imm.Upload(context.Background(), bytes.NewReader(data[:1<<20]))
	if err != nil {
		t.Fatalf("upload through the storage proxy: %v", err)
	}
	if k := testkit.CountShares(natted.Dir); k != 2 {
		t.Fatalf("after an upload through the proxy the NATted server holds %d shares, want 2", k)
	}
	var back bytes.Buffer
	if _, err := cl.Imm.Download(context.Background(), up.Cap, &back); err != nil || !bytes.Equal(back.Bytes(), data[:1<<20]) {
		t.Fatalf("download through the storage proxy: %v", err)
	}
	// The proxy needs the token.
	req, _ := http.NewRequest(http.MethodGet, me.WebURL()+"storage-proxy/"+natted.T.ID()+"/storage/v1/version", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("storage proxy without the token: %v %v", resp.StatusCode, err)
	}
	// The introducer shows who announced, and has no grid client.
	if a := intro.Status().Announced; len(a) != 5 {
		t.Fatalf("the introducer lists %d announced nodes, want 4 servers and the client", len(a))
	}
	if code, body := api(t, intro, http.MethodPut, "/uri", []byte("x")); code != http.StatusServiceUnavailable {
		t.Fatalf("PUT /uri on a bare introducer: %d %s", code, body)
	}
	// The status document carries the node's view.
	code, body := api(t, me, http.MethodGet, "/status", nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"reachability":"outbound-only"`) || !strings.Contains(string(body), natted.T.ID()) {
		t.Fatalf("status: %d %s", code, body)
	}
}

// Announcements are cached: a client restarted while the introducer is
// down still finds the servers.
func TestCachedAnnouncementsWhenIntroducerDown(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	introNode, err := Open(filepath.Join(root, "intro"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ictx, stopIntro := context.WithCancel(context.Background())
	up, idone := make(chan struct{}), make(chan struct{})
	go func() { introNode.Run(ictx, func(*Node) { close(up) }); close(idone) }()
	<-up
	intros := map[string]string{"default": introNode.IntroducerURL()}
	sdir := filepath.Join(root, "s")
	create(t, sdir, storagenode.CreateOptions{Storage: true, Introducers: intros})
	server := run(t, sdir)
	cdir := filepath.Join(root, "c")
	create(t, cdir, storagenode.CreateOptions{Introducers: intros})

	first, err := Open(cdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cctx, stopClient := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	firstUp := make(chan struct{})
	wg.Go(func() { first.Run(cctx, func(*Node) { close(firstUp) }) })
	<-firstUp
	testkit.WaitFor(t, "the first client to see the server", 20*time.Second, func() bool { return len(first.Servers()) == 1 })
	stopClient()
	wg.Wait()
	stopIntro()
	<-idone

	second := run(t, cdir)
	testkit.WaitFor(t, "the restarted client to reach the server from its cache", 20*time.Second, func() bool { return len(second.Servers()) == 1 })
	if got := second.Servers()[0].Info().ID; got != server.T.ID() {
		t.Fatalf("server from cache is %s, want %s", got, server.T.ID())
	}
	if st := second.Status(); st.Introducers[0].Connected {
		t.Fatal("introducer reported connected while it is down")
	}
}

// The embedded grid keeps its introducer's address across restarts, and a
// node joined to it finds its servers.
func TestLocalGridRestartsWithSameAddress(t *testing.T) {
	root := t.TempDir()
	urls := make([]string, 2)
	for round := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		up := make(chan string, 1)
		go func() { done <- RunLocalGrid(ctx, filepath.Join(root, "grid"), 3, nil, func(u string) { up <- u }) }()
		select {
		case urls[round] = <-up:
		case err := <-done:
			t.Fatalf("round %d: %v", round, err)
		}
		if round == 0 {
			if err := Join(filepath.Join(root, "me"), LocalPetname, urls[0]); err != nil {
				t.Fatal(err)
			}
			me := run(t, filepath.Join(root, "me"))
			testkit.WaitFor(t, "three local servers", 20*time.Second, func() bool { return len(me.Servers()) == 3 })
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if urls[0] != urls[1] {
		t.Fatalf("the introducer moved: %s then %s", urls[0], urls[1])
	}
}

// A restarted introducer (same keys, same port) is found again: nodes
// republish to it, and a server that appears afterwards reaches a client
// that has been running all along.
func TestIntroducerRestart(t *testing.T) {
	root := t.TempDir()
	idir := filepath.Join(root, "intro")
	create(t, idir, storagenode.CreateOptions{Introducer: true})
	first, err := Open(idir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	up, done := make(chan struct{}), make(chan struct{})
	go func() { first.Run(ctx, func(*Node) { close(up) }); close(done) }()
	<-up
	intros := map[string]string{"default": first.IntroducerURL()}
	for _, name := range []string{"c", "s1", "s2"} {
		create(t, filepath.Join(root, name), storagenode.CreateOptions{Storage: name != "c", Introducers: intros})
	}
	c := run(t, filepath.Join(root, "c"))
	run(t, filepath.Join(root, "s1"))
	testkit.WaitFor(t, "the first server", 20*time.Second, func() bool { return len(c.Servers()) == 1 })
	stop()
	<-done

	run(t, idir) // same directory: same key and port
	run(t, filepath.Join(root, "s2"))
	testkit.WaitFor(t, "the server announced after the restart", 60*time.Second, func() bool { return len(c.Servers()) == 2 })
	testkit.WaitFor(t, "the client reconnected to the introducer", 20*time.Second, func() bool {
		st := c.Status()
		return len(st.Introducers) == 1 && st.Introducers[0].Connected
	})
}

// The broker remembers when a node that went away was last seen.
func TestLastSeen(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	intro := run(t, filepath.Join(root, "intro"))
	intros := map[string]string{"default": intro.IntroducerURL()}
	create(t, filepath.Join(root, "s"), storagenode.CreateOptions{Storage: true, Introducers: intros})
	create(t, filepath.Join(root, "c"), storagenode.CreateOptions{Introducers: intros})
	c := run(t, filepath.Join(root, "c"))
	s, err := Open(filepath.Join(root, "s"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, nil); close(done) }()
	testkit.WaitFor(t, "the server", 20*time.Second, func() bool { return len(c.Servers()) == 1 })
	stop()
	<-done
	stopped := time.Now()
	testkit.WaitFor(t, "the server to be seen gone", 20*time.Second, func() bool { return len(c.Servers()) == 0 })
	var p *status.Peer
	for _, x := range c.Status().Peers {
		if x.Service == introducer.ServiceStorage {
			p = &x
		}
	}
	if p == nil || p.Connected || p.LastSeen.IsZero() || p.LastSeen.Before(stopped.Add(-5*time.Second)) || p.LastSeen.After(time.Now()) {
		t.Fatalf("status of the stopped server: %+v (stopped at %v)", p, stopped)
	}
}

// An embedded-grid node whose port was taken moves to a free one and
// keeps it; any other node says which setting to fix.
func TestTakenPort(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	create(t, dir, storagenode.CreateOptions{Storage: true})
	c, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := config.ParseTubPort(c.TubPort)
	squatter, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Skipf("cannot take the node's port for the test: %v", err)
	}
	defer squatter.Close()

	strict, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := strict.Run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "tub.port") {
		t.Fatalf("run on a taken port: %v", err)
	}

	n, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.MovePortIfTaken = true
	ctx, cancel := context.WithCancel(context.Background())
	up, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- n.Run(ctx, func(*Node) { close(up) }) }()
	select {
	case <-up:
	case err := <-done:
		t.Fatalf("run with MovePortIfTaken: %v", err)
	}
	cancel()
	<-done
	after, _ := config.Load(dir)
	_, moved, _ := config.ParseTubPort(after.TubPort)
	if moved == port || moved == 0 || !strings.HasSuffix(after.TubLocation, ":"+strconv.Itoa(moved)) {
		t.Fatalf("after moving: tub.port %q, tub.location %q (was port %d)", after.TubPort, after.TubLocation, port)
	}
	if _, got, _ := net.SplitHostPort(n.Addr()); got != strconv.Itoa(moved) {
		t.Fatalf("listened on %s, tahoe.cfg says %d", n.Addr(), moved)
	}
}

// A running client node renews the leases of what its aliases reach, by
// itself, on every server holding a share.
func TestRunningNodeRenewsLeases(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	intro := run(t, filepath.Join(root, "intro"))
	intros := map[string]string{"default": intro.IntroducerURL()}
	var servers []string
	for i := 0; i < 3; i++ {
		dir := filepath.Join(root, fmt.Sprintf("s%d", i))
		create(t, dir, storagenode.CreateOptions{Storage: true, Introducers: intros})
		run(t, dir)
		servers = append(servers, dir)
	}
	cdir := filepath.Join(root, "c")
	create(t, cdir, storagenode.CreateOptions{Introducers: intros})
	c, _ := config.Load(cdir)
	c.SharesNeeded, c.SharesHappy, c.SharesTotal = 1, 3, 3
	config.Save(cdir, c)

	n, err := Open(cdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	reports := make(chan lease.Report, 1)
	n.RenewFirst, n.RenewEvery = time.Second, time.Second
	n.OnRenewal = func(r lease.Report) {
		select {
		case reports <- r:
		default: // the test is not listening
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	up, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- n.Run(ctx, func(*Node) { close(up) }) }()
	defer func() { cancel(); <-done }()
	<-up
	testkit.WaitFor(t, "three servers", 20*time.Second, func() bool { return len(n.Servers()) == 3 })

	// A directory (the alias) holding a file, made before the first run.
	cl := n.Client()
	d, err := cl.Dirs.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	up2, err := cl.Imm.Upload(context.Background(), bytes.NewReader(bytes.Repeat([]byte("lease me "), 10000)))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetCap(context.Background(), "f", up2.Cap, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := config.SaveAliases(cdir, map[string]string{"home": d.Cap().String()}); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, s := range servers {
		filepath.WalkDir(filepath.Join(s, "storage", "shares"), func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				before[p], _ = os.ReadFile(p)
			}
			return nil
		})
	}
	if len(before) != 6 { // a directory and a file, one share on each of three servers
		t.Fatalf("%d share files, want 6", len(before))
	}
	// Lease times are whole seconds: wait for a run that starts a second
	// after the uploads and reaches both objects.
	uploaded := time.Now()
	var rep lease.Report
	deadline := time.After(30 * time.Second)
	for rep.StorageIndexes != 2 {
		select {
		case r := <-reports:
			if time.Since(uploaded) > 2500*time.Millisecond { // so the run began >= 1.5 s after
				rep = r
			}
		case <-deadline:
			t.Fatalf("no lease renewal reached the alias's two objects (last report %+v)", rep)
		}
	}
	if rep.Renewed != 6 || rep.Failed != 0 {
		t.Fatalf("renewal report: %+v", rep)
	}
	for p, b := range before {
		if after, _ := os.ReadFile(p); bytes.Equal(after, b) {
			t.Errorf("share %s kept its old lease", p)
		}
	}
}
