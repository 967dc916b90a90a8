package fullnode

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/status"
	"github.com/lafssync/lafssync/node/storagenode"
	"github.com/lafssync/lafssync/node/transport"
)

// runReloadable runs the node in dir as RunRestarting's runs do (what
// this run read of tahoe.cfg recorded, ReloadPath served), with setup
// called before it runs.
func runReloadable(t *testing.T, dir string, setup func(*Node)) *Node {
	t.Helper()
	settings, err := readSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(n)
	}
	n.armReload(settings, 1, func() {}) // a restart would end RunRestarting's run; reloadLive fails on asking for one
	ctx, cancel := context.WithCancel(context.Background())
	up, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- n.Run(ctx, func(n *Node) { n.MountWeb(ReloadPath, n.reloadHandler()); close(up) })
	}()
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

// reloadLive edits n's tahoe.cfg, POSTs ReloadPath (what lafs
// reachability --apply does) and wants every changed key taken live.
func reloadLive(t *testing.T, n *Node, changes ...config.Setting) ReloadResult {
	t.Helper()
	if _, err := config.Edit(n.Dir, changes); err != nil {
		t.Fatal(err)
	}
	code, body := api(t, n, http.MethodPost, ReloadPath, nil)
	var res ReloadResult
	if err := json.Unmarshal(body, &res); code != http.StatusOK || err != nil {
		t.Fatalf("POST %s after %v: %d %s", ReloadPath, changes, code, body)
	}
	var want []string
	for _, c := range changes {
		want = append(want, c.Section+"."+c.Key)
	}
	slices.Sort(want)
	if res.Restarting || !slices.Equal(res.Live, want) || !slices.Equal(res.Changed, want) {
		t.Fatalf("reload after %v: %+v, want %q taken live without a restart", changes, res, want)
	}
	return res
}

// connTo is peer's connection to id, by its remote address and when it
// was made (a reconnection differs in both), once peer has it.
func connTo(t *testing.T, peer *Node, id string) transport.PeerState {
	t.Helper()
	var c transport.PeerState
	testkit.WaitFor(t, "the connection between the two nodes", 10*time.Second, func() bool {
		for _, p := range peer.T.Peers() {
			if p.ID == id {
				c = p
				return true
			}
		}
		return false
	})
	return c
}

func sameConn(t *testing.T, what string, peer *Node, before transport.PeerState) {
	t.Helper()
	now := connTo(t, peer, before.ID)
	if now.Remote != before.Remote || !now.Since.Equal(before.Since) {
		t.Errorf("%s: the connection was %s since %s, now %s since %s: it was not kept", what, before.Remote, before.Since, now.Remote, now.Since)
	}
}

// A storage server takes [storage] readonly and reserved_space while it
// runs: a client connected to it is refused new shares and mutable
// writes once it is read-only, and new shares while every byte is
// reserved, takes them again when both are off, and its connection to
// the server is the one it had before.
func TestReloadTakesStorageLimitsLive(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	intro := run(t, filepath.Join(root, "intro"))
	intros := map[string]string{"default": intro.IntroducerURL()}
	create(t, filepath.Join(root, "s"), storagenode.CreateOptions{Storage: true, Introducers: intros})
	s := runReloadable(t, filepath.Join(root, "s"), nil)
	// The client announces a port nobody answers, so the server never
	// dials it: their one connection is the client's.
	create(t, filepath.Join(root, "c"), storagenode.CreateOptions{Introducers: intros, Location: "tcp:127.0.0.1:" + strconv.Itoa(closedPort(t))})
	c := run(t, filepath.Join(root, "c"))
	testkit.WaitFor(t, "the client to reach the server", 20*time.Second, func() bool { return len(c.Servers()) == 1 })
	srv := c.Servers()[0]
	before := connTo(t, c, s.T.ID())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ls := storage.LeaseSecrets{Renew: storage.Secret{1}, Cancel: storage.Secret{2}}
	allocated := func(si byte) []int {
		t.Helper()
		a, err := srv.AllocateBuckets(ctx, storage.SI{si}, ls, storage.Secret{9}, []int{0}, 1000)
		if err != nil {
			t.Fatalf("allocate: %v", err)
		}
		return a.Allocated
	}
	if got := allocated(1); !slices.Equal(got, []int{0}) {
		t.Fatalf("before the reload the server allocates %v, want [0]", got)
	}

	reloadLive(t, s, config.Setting{Section: "storage", Key: "readonly", Value: "true"})
	if got := allocated(2); len(got) != 0 {
		t.Errorf("a read-only server allocates %v, want nothing", got)
	}
	w := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: []byte("x")}}}}
	if _, err := srv.ReadTestWrite(ctx, storage.SI{3}, storage.Secret{5}, ls, w, nil); !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("a mutable write to a read-only server: %v, want %v", err, storage.ErrReadOnly)
	}

	reloadLive(t, s, config.Setting{Section: "storage", Key: "readonly", Value: "false"},
		config.Setting{Section: "storage", Key: "reserved_space", Value: "1000000T"})
	if got := allocated(4); len(got) != 0 {
		t.Errorf("with more reserved than the disk holds the server allocates %v, want nothing", got)
	}
	reloadLive(t, s, config.Setting{Section: "storage", Key: "reserved_space", Value: "0"})
	if got := allocated(5); !slices.Equal(got, []int{0}) {
		t.Errorf("with the limits off again the server allocates %v, want [0]", got)
	}
	sameConn(t, "the client's connection to the server", c, before)
}

// A client set to [node] reachability = public holds no relay
// reservation; told outbound-only (the advice use-relay) while it runs,
// it reserves on the grid's relay over the connection it has and
// announces the relay, and told public again it gives the reservation up
// — keeping its connection to the relay throughout.
func TestReloadTakesReachabilityLive(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	intro := run(t, filepath.Join(root, "intro"))
	intros := map[string]string{"default": intro.IntroducerURL()}
	create(t, filepath.Join(root, "relay"), storagenode.CreateOptions{Storage: true, Nickname: "relay", Introducers: intros})
	pub := run(t, filepath.Join(root, "relay"))
	xdir := filepath.Join(root, "x")
	// x announces a port nobody answers, so the relay never dials it:
	// their one connection is x's.
	create(t, xdir, storagenode.CreateOptions{Nickname: "x", Introducers: intros, Location: "tcp:127.0.0.1:" + strconv.Itoa(closedPort(t))})
	if _, err := config.Edit(xdir, []config.Setting{{Section: "node", Key: "reachability", Value: "public"}}); err != nil {
		t.Fatal(err)
	}
	x := runReloadable(t, xdir, nil)
	if pub.RelayServer() == nil {
		t.Fatal("the public storage node runs no relay")
	}
	testkit.WaitFor(t, "x connected to the relay and hearing it announced", 20*time.Second, func() bool {
		return slices.Equal(x.relayCandidates(), []string{pub.T.ID()})
	})
	before := connTo(t, pub, x.T.ID())
	announced := func() introducer.Announcement {
		k, _ := pub.Sub.Nodes()[x.T.ID()]
		return k.Ann
	}
	if r := pub.RelayServer().Stats().Reservations; r != 0 {
		t.Fatalf("x in public mode holds %d reservations, want none", r)
	}

	reloadLive(t, x, config.Setting{Section: "node", Key: "reachability", Value: "outbound-only"})
	testkit.WaitFor(t, "x to reserve on the relay and announce it, with no address", 20*time.Second, func() bool {
		a := announced()
		return pub.RelayServer().Stats().Reservations == 1 && slices.Equal(a.Relays, []string{pub.T.ID()}) &&
			a.Reachability == introducer.OutboundOnly && len(a.Addresses) == 0
	})
	if st := x.Status(); st.Reachability != status.OutboundOnly || len(st.Addresses) != 0 {
		t.Errorf("x's status after the reload: %q %q, want outbound-only and no address", st.Reachability, st.Addresses)
	}

	reloadLive(t, x, config.Setting{Section: "node", Key: "reachability", Value: "public"})
	testkit.WaitFor(t, "x to give the reservation up and announce its address again", 20*time.Second, func() bool {
		a := announced()
		return pub.RelayServer().Stats().Reservations == 0 && len(a.Relays) == 0 && a.Reachability == introducer.Public &&
			slices.Equal(a.Addresses, x.addresses())
	})
	sameConn(t, "the relay's connection to x", pub, before)
}

// countingMapper stands for the router: it maps on Map and unmaps on
// Close, and counts both.
type countingMapper struct {
	m nat.Mapping

	mu           sync.Mutex // guards all below
	open         bool
	maps, closes int
}

func (f *countingMapper) Map(context.Context, uint16) (nat.Mapping, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.open = true
	f.maps++
	return f.m, nil
}

func (f *countingMapper) External() (nat.Mapping, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m, f.open
}

func (f *countingMapper) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open {
		f.closes++
	}
	f.open = false
	return nil
}

func (f *countingMapper) state() (open bool, maps, closes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open, f.maps, f.closes
}

// A node reachable only through its router's port mapping takes
// [node] upnp while it runs: upnp = false removes the mapping and the
// node stops announcing the mapped address; upnp = true maps again and
// announces it again. Its connection to the introducer stays the same.
func TestReloadTakesUPnPLive(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	intro := run(t, filepath.Join(root, "intro"))
	dir := filepath.Join(root, "m")
	create(t, dir, storagenode.CreateOptions{Storage: true, Introducers: map[string]string{"default": intro.IntroducerURL()},
		Location: "tcp:127.0.0.1:" + strconv.Itoa(closedPort(t))})
	c, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := config.ParseTubPort(c.TubPort)
	ext := forwarder(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	fm := &countingMapper{m: nat.Mapping{External: ext, Internal: uint16(port), Protocol: "upnp"}}
	n := runReloadable(t, dir, func(n *Node) { n.Mapper = fm })
	mapped := func() bool {
		r := n.Reach()
		return r.Verdict == nat.VerdictMapped && slices.Equal(r.Announce, []string{ext.String()})
	}
	testkit.WaitFor(t, "the node to announce its mapped address", 40*time.Second, mapped)
	before := connTo(t, intro, n.T.ID())

	reloadLive(t, n, config.Setting{Section: "node", Key: "upnp", Value: "false"})
	testkit.WaitFor(t, "the mapping removed and the node checked without it", 30*time.Second, func() bool {
		open, _, closes := fm.state()
		r := n.Reach()
		return !open && closes == 1 && r.Verdict != nat.VerdictMapped && !slices.Contains(r.Announce, ext.String())
	})
	_, maps, _ := fm.state()

	reloadLive(t, n, config.Setting{Section: "node", Key: "upnp", Value: "true"})
	testkit.WaitFor(t, "the node to map again and announce the mapped address", 30*time.Second, func() bool {
		open, m, _ := fm.state()
		return open && m > maps && mapped()
	})
	sameConn(t, "the introducer's connection to the node", intro, before)
}

// A storage server takes a new [node] tub.location while it runs (what
// port-forward writes on a node that listens on every interface): it
// announces the new address, with a storage NURL there, checks it and
// announces it as confirmed; its client keeps the connection it made to
// the old address and stores through it.
func TestReloadTakesLocationLive(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	intro := run(t, filepath.Join(root, "intro"))
	intros := map[string]string{"default": intro.IntroducerURL()}
	sdir := filepath.Join(root, "s")
	create(t, sdir, storagenode.CreateOptions{Storage: true, Introducers: intros})
	sc, err := config.Load(sdir)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := config.ParseTubPort(sc.TubPort)
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	oldAddr, newAddr := forwarder(t, listen), forwarder(t, listen) // two routers' forwards to the server
	if _, err := config.Edit(sdir, []config.Setting{{Section: "node", Key: "tub.location", Value: "tcp:" + oldAddr.String()}}); err != nil {
		t.Fatal(err)
	}
	s := runReloadable(t, sdir, nil)
	create(t, filepath.Join(root, "c"), storagenode.CreateOptions{Introducers: intros, Location: "tcp:127.0.0.1:" + strconv.Itoa(closedPort(t))})
	c := run(t, filepath.Join(root, "c"))
	testkit.WaitFor(t, "the client to reach the server at its old address", 20*time.Second, func() bool { return len(c.Servers()) == 1 })
	before := connTo(t, c, s.T.ID())
	if before.Remote != oldAddr.String() {
		t.Fatalf("the client reached the server at %s, want %s", before.Remote, oldAddr)
	}

	reloadLive(t, s, config.Setting{Section: "node", Key: "tub.location", Value: "tcp:" + newAddr.String()})
	testkit.WaitFor(t, "the client to hear the server at its new address", 20*time.Second, func() bool {
		k, ok := c.Sub.Nodes()[s.T.ID()]
		return ok && slices.Equal(k.Ann.Addresses, []string{newAddr.String()}) && len(k.Ann.NURLs) == 1 &&
			strings.Contains(k.Ann.NURLs[0], "@"+newAddr.String()+"/")
	})
	testkit.WaitFor(t, "the server to confirm and announce its new address", 30*time.Second, func() bool {
		return slices.Equal(s.Reach().Announce, []string{newAddr.String()})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	testkit.WaitFor(t, "the client to use the server announced anew", 20*time.Second, func() bool { return len(c.Servers()) == 1 })
	ls := storage.LeaseSecrets{Renew: storage.Secret{1}, Cancel: storage.Secret{2}}
	if a, err := c.Servers()[0].AllocateBuckets(ctx, storage.SI{7}, ls, storage.Secret{9}, []int{0}, 1000); err != nil || !slices.Equal(a.Allocated, []int{0}) {
		t.Errorf("allocation after the new location: %+v %v", a, err)
	}
	sameConn(t, "the client's connection to the server", c, before)
}

// tub.port written as the port a tcp:0 listener got is taken live (the
// listener already is what it asks for); a port it does not listen on
// needs the restart.
func TestReloadTakesSamePortLive(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	intro := run(t, filepath.Join(root, "intro"))
	create(t, filepath.Join(root, "n"), storagenode.CreateOptions{Introducers: map[string]string{"default": intro.IntroducerURL()},
		Port: "tcp:0:interface=127.0.0.1"})
	n := runReloadable(t, filepath.Join(root, "n"), nil)
	before := connTo(t, intro, n.T.ID())
	addr := n.Addr()
	_, port, _ := net.SplitHostPort(addr)

	reloadLive(t, n, config.Setting{Section: "node", Key: "tub.port", Value: "tcp:" + port + ":interface=127.0.0.1"})
	if n.Addr() != addr {
		t.Errorf("the node listens on %s after the reload, was %s", n.Addr(), addr)
	}

	if _, err := config.Edit(n.Dir, []config.Setting{{Section: "node", Key: "tub.port", Value: "tcp:" + strconv.Itoa(closedPort(t)) + ":interface=127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	code, body := api(t, n, http.MethodPost, ReloadPath, nil)
	var res ReloadResult
	if err := json.Unmarshal(body, &res); code != http.StatusOK || err != nil || !res.Restarting || len(res.Live) != 0 {
		t.Errorf("reload after tub.port moved to another port: %d %s, want a restart", code, body)
	}
	sameConn(t, "the introducer's connection to the node", intro, before)
}

// A storage node relays by default ([relay] enabled = auto) unless it is
// outbound-only. Told outbound-only while it runs (the advice use-relay),
// it stops relaying and announces that: the NATted node that held a
// reservation on it loses it; told auto again it relays again and the
// NATted node reserves on it again. [relay] enabled = false stops it too.
// The NATted node's connection to it stays the same throughout.
func TestReloadStartsAndStopsRelay(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	intro := run(t, filepath.Join(root, "intro"))
	intros := map[string]string{"default": intro.IntroducerURL()}
	create(t, filepath.Join(root, "relay"), storagenode.CreateOptions{Storage: true, Nickname: "relay", Introducers: intros})
	r := runReloadable(t, filepath.Join(root, "relay"), nil)
	create(t, filepath.Join(root, "natted"), storagenode.CreateOptions{Nickname: "natted", Introducers: intros, OutboundOnly: true})
	x := run(t, filepath.Join(root, "natted"))
	reserved := func() bool {
		srv := r.RelayServer()
		return srv != nil && srv.Stats().Reservations == 1 && slices.Equal(x.reservedRelays(), []string{r.T.ID()})
	}
	testkit.WaitFor(t, "the NATted node to reserve on the relay", 20*time.Second, reserved)
	before := connTo(t, x, r.T.ID())
	relays := func() bool { k := x.Sub.Nodes()[r.T.ID()]; return k.Ann.Relay }

	reloadLive(t, r, config.Setting{Section: "node", Key: "reachability", Value: "outbound-only"})
	if r.RelayServer() != nil {
		t.Error("an outbound-only node still runs its relay after the reload")
	}
	testkit.WaitFor(t, "the NATted node to hear the relay gone and lose its reservation", 20*time.Second, func() bool {
		return !relays() && len(x.reservedRelays()) == 0
	})

	reloadLive(t, r, config.Setting{Section: "node", Key: "reachability", Value: "auto"})
	testkit.WaitFor(t, "the relay back and the NATted node's reservation on it", 30*time.Second, func() bool { return relays() && reserved() })

	reloadLive(t, r, config.Setting{Section: "relay", Key: "enabled", Value: "false"})
	testkit.WaitFor(t, "the relay stopped by [relay] enabled = false", 20*time.Second, func() bool {
		return r.RelayServer() == nil && !relays() && len(x.reservedRelays()) == 0
	})
	sameConn(t, "the NATted node's connection to the relay", x, before)
}
