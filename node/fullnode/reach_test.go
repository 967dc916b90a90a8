package fullnode

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/status"
	"github.com/lafssync/lafssync/node/storagenode"
)

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

// Real nodes on loopback: a peer tells a node the address it sees for it,
// dials it back at its listening address (and not at a closed port, nor at
// another node's address, nor at another IP), the node's verdict is public
// and it announces its address; a node whose tub.location nobody can reach
// is found unreachable and announces itself outbound-only.
func TestReachabilityOnLoopback(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	intro := run(t, filepath.Join(root, "intro"))
	intros := map[string]string{"default": intro.IntroducerURL()}
	create(t, filepath.Join(root, "s"), storagenode.CreateOptions{Storage: true, Introducers: intros})
	s := run(t, filepath.Join(root, "s"))
	create(t, filepath.Join(root, "c"), storagenode.CreateOptions{Introducers: intros})
	c := run(t, filepath.Join(root, "c"))
	testkit.WaitFor(t, "the client connected to the introducer and the server", 20*time.Second, func() bool {
		return c.T.Connections(intro.T.ID()) > 0 && len(c.Servers()) == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// What the introducer sees for the client is what the client's
	// connection comes from.
	peer := nat.HTTPPeer{NodeID: intro.T.ID(), Client: c.T.HTTPClient(intro.T.ID())}
	seen, err := peer.Observed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var remote string
	for _, p := range intro.T.Peers() {
		if p.ID == c.T.ID() {
			remote = p.Remote
		}
	}
	if seen.String() != remote || seen.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("introducer says it sees the client at %s; its connection comes from %q", seen, remote)
	}

	own := netip.MustParseAddrPort(c.Addr())
	if err := peer.DialBack(ctx, own); err != nil {
		t.Errorf("dial-back to the client's listening address %s: %v", own, err)
	}
	if c.T.Connections(intro.T.ID()) != 1 {
		t.Errorf("the dial-back left %d connections between the two (want the one)", c.T.Connections(intro.T.ID()))
	}
	closed := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(closedPort(t)))
	if err := peer.DialBack(ctx, closed); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("dial-back to closed port %s: %v, want connection refused", closed, err)
	}
	other := netip.MustParseAddrPort(s.Addr())
	if err := peer.DialBack(ctx, other); err == nil || !strings.Contains(err.Error(), "key") {
		t.Errorf("dial-back to another node's address %s: %v, want a wrong-key error", other, err)
	}
	elsewhere := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), own.Port())
	if err := peer.DialBack(ctx, elsewhere); err == nil || !strings.Contains(err.Error(), "only to your own IP") {
		t.Errorf("dial-back to an IP not the caller's: %v, want refused", err)
	}

	r := c.CheckReach(ctx)
	if r.Verdict != nat.VerdictPublic {
		t.Fatalf("verdict %q, want public; evidence:\n%s", r.Verdict, strings.Join(r.Evidence, "\n"))
	}
	if want := c.addresses(); len(r.Announce) != 1 || r.Announce[0] != want[0] || r.Provisional {
		t.Errorf("announces %q (provisional %v), want %q confirmed", r.Announce, r.Provisional, want)
	}
	// The client runs no storage server and is reachable: it is advised to.
	if _, err := r.Find(nat.AdviceStorageReadOnly); err != nil {
		t.Errorf("advice: %v", err)
	}
	st := c.Status()
	if st.Reach == nil || st.Reach.Verdict != nat.VerdictPublic || st.Reachability != status.Public {
		t.Errorf("status: reach %+v, reachability %q", st.Reach, st.Reachability)
	}
	code, body := api(t, c, "GET", "/status", nil)
	var doc status.Document
	if err := json.Unmarshal(body, &doc); code != 200 || err != nil || doc.Node == nil || doc.Node.Reach == nil ||
		doc.Node.Reach.Verdict != nat.VerdictPublic || !strings.Contains(string(body), `"verdict":"public"`) {
		t.Errorf("web API status: %d %v %.300s", code, err, body)
	}

	// A node announcing an address where nothing answers for it.
	port := closedPort(t)
	create(t, filepath.Join(root, "u"), storagenode.CreateOptions{Storage: true, Introducers: intros,
		Location: "tcp:127.0.0.1:" + strconv.Itoa(port)})
	u := run(t, filepath.Join(root, "u"))
	testkit.WaitFor(t, "the unreachable node connected to the introducer", 20*time.Second, func() bool {
		return u.T.Connections(intro.T.ID()) > 0
	})
	r = u.CheckReach(ctx)
	if r.Verdict != nat.VerdictNAT || len(r.Announce) != 0 || !u.outboundOnly() {
		t.Fatalf("unreachable node: verdict %q, announces %q; evidence:\n%s", r.Verdict, r.Announce, strings.Join(r.Evidence, "\n"))
	}
	if !strings.Contains(strings.Join(r.Evidence, "\n"), "no peer could open a connection to 127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("evidence does not say the dial-back failed:\n%s", strings.Join(r.Evidence, "\n"))
	}
	if _, err := r.Find(nat.AdviceStorageOff); err != nil {
		t.Errorf("advice: %v", err)
	}
	testkit.WaitFor(t, "the introducer to hear the node is outbound-only", 20*time.Second, func() bool {
		for _, a := range intro.Intro.Nodes() {
			if a.ID == u.T.ID() {
				return a.Reachability == introducer.OutboundOnly
			}
		}
		return false
	})
	if us := u.Status(); us.Reachability != status.OutboundOnly || len(us.Addresses) != 0 {
		t.Errorf("status of the unreachable node: %q %q", us.Reachability, us.Addresses)
	}
}

// forwarder stands for the router's port mapping: it accepts on a
// loopback port and relays each connection to to.
func forwarder(t *testing.T, to string) netip.AddrPort {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				d, err := net.DialTimeout("tcp", to, 5*time.Second)
				if err != nil {
					return
				}
				defer d.Close()
				go io.Copy(d, c)
				io.Copy(c, d)
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// fakeMapper holds one mapping from the start.
type fakeMapper struct {
	m      nat.Mapping
	closed atomic.Bool
}

func (f *fakeMapper) Map(context.Context, uint16) (nat.Mapping, error) { return f.m, nil }
func (f *fakeMapper) External() (nat.Mapping, bool)                    { return f.m, true }
func (f *fakeMapper) Close() error                                     { f.closed.Store(true); return nil }

// A node whose tub.location nobody answers, but whose router maps a port
// to it (Node.Mapper): the dial-back through the mapping succeeds, the
// verdict is public via port mapping, and the mapped address is what it
// announces; the mapping is removed when the node stops.
func TestReachabilityThroughPortMapping(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true})
	intro := run(t, filepath.Join(root, "intro"))
	dir := filepath.Join(root, "m")
	create(t, dir, storagenode.CreateOptions{Storage: true, Introducers: map[string]string{"default": intro.IntroducerURL()},
		Location: "tcp:127.0.0.1:" + strconv.Itoa(closedPort(t))})
	n, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := config.ParseTubPort(n.Config.TubPort)
	ext := forwarder(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	fm := &fakeMapper{m: nat.Mapping{External: ext, Internal: uint16(port), Protocol: "upnp"}}
	n.Mapper = fm
	ctx, cancel := context.WithCancel(context.Background())
	up, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- n.Run(ctx, func(*Node) { close(up) }) }()
	select {
	case <-up:
	case err := <-done:
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the node connected to the introducer", 20*time.Second, func() bool { return n.T.Connections(intro.T.ID()) > 0 })
	testkit.WaitFor(t, "the node's first verdict", 40*time.Second, func() bool { return n.Reach().CheckedAt != (time.Time{}) })
	r := n.CheckReach(ctx)
	if r.Verdict != nat.VerdictMapped || len(r.Announce) != 1 || r.Announce[0] != ext.String() {
		t.Errorf("verdict %q announcing %q, want %q announcing %s; evidence:\n%s", r.Verdict, r.Announce, nat.VerdictMapped, ext,
			strings.Join(r.Evidence, "\n"))
	}
	create(t, filepath.Join(root, "c"), storagenode.CreateOptions{Introducers: map[string]string{"default": intro.IntroducerURL()}})
	c := run(t, filepath.Join(root, "c"))
	testkit.WaitFor(t, "another node to hear the mapped address", 20*time.Second, func() bool {
		k, ok := c.Sub.Nodes()[n.T.ID()]
		return ok && len(k.Ann.Addresses) == 1 && k.Ann.Addresses[0] == ext.String()
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !fm.closed.Load() {
		t.Error("the mapping was not removed when the node stopped")
	}
}
