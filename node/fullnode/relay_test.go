package fullnode

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/status"
	"github.com/lafssync/lafssync/node/storagenode"
)

// Two nodes behind "NAT" (outbound only: neither announces an address,
// nobody dials them): the storage server reserves on the public storage
// server, which relays by default, and announces it; the client reaches
// the NATted server through that relay and stores a share on it.
func TestNATtedNodesReachEachOtherThroughRelay(t *testing.T) {
	root := t.TempDir()
	create(t, filepath.Join(root, "intro"), storagenode.CreateOptions{Introducer: true, Nickname: "intro"})
	intro := run(t, filepath.Join(root, "intro"))
	intros := map[string]string{"default": intro.IntroducerURL()}
	create(t, filepath.Join(root, "public"), storagenode.CreateOptions{Storage: true, Nickname: "public", Introducers: intros})
	create(t, filepath.Join(root, "natted"), storagenode.CreateOptions{Storage: true, Nickname: "natted", Introducers: intros, OutboundOnly: true})
	cdir := filepath.Join(root, "client")
	create(t, cdir, storagenode.CreateOptions{Nickname: "client", Introducers: intros, OutboundOnly: true})
	c, err := config.Load(cdir)
	if err != nil {
		t.Fatal(err)
	}
	c.SharesNeeded, c.SharesHappy, c.SharesTotal = 1, 2, 2 // a share on each server
	if err := config.Save(cdir, c); err != nil {
		t.Fatal(err)
	}
	pub := run(t, filepath.Join(root, "public"))
	natted := run(t, filepath.Join(root, "natted"))
	me := run(t, cdir)
	if pub.RelayServer() == nil || natted.RelayServer() != nil || me.RelayServer() != nil {
		t.Fatal("want a relay on the public storage node only")
	}
	// The NATted server announces the relay holding its reservation.
	testkit.WaitFor(t, "the NATted server to announce its relay", 30*time.Second, func() bool {
		k, ok := me.Sub.Nodes()[natted.T.ID()]
		return ok && slices.Equal(k.Ann.Relays, []string{pub.T.ID()})
	})
	if k := me.Sub.Nodes()[pub.T.ID()]; !k.Ann.Relay || k.Ann.Reachability != introducer.Public {
		t.Fatalf("the public node's announcement: relay %v, reachability %q", k.Ann.Relay, k.Ann.Reachability)
	}
	testkit.WaitFor(t, "the client to reach both servers", 30*time.Second, func() bool { return len(me.Servers()) == 2 })
	for _, p := range me.T.Peers() {
		want := ""
		if p.ID == natted.T.ID() {
			want = pub.T.ID()
		}
		if p.Via != want {
			t.Errorf("client's connection to %.12s: via %q, want %q", p.ID, p.Via, want)
		}
	}
	data := make([]byte, 1<<20)
	rand.Read(data)
	code, capb := api(t, me, http.MethodPut, "/uri", data)
	if code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("PUT /uri: %d %s", code, capb)
	}
	if k := testkit.CountShares(natted.Dir); k != 1 {
		t.Fatalf("the NATted server holds %d shares, want 1", k)
	}
	// Read back with the public server's share gone: the relayed one
	// is the one that counts.
	os.RemoveAll(filepath.Join(pub.Dir, "storage", "shares"))
	code, got := api(t, me, http.MethodGet, "/uri/"+string(capb), nil)
	if code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET through the relay: %d, %d bytes", code, len(got))
	}
	if st := pub.RelayServer().Stats(); st.Relayed == 0 {
		t.Errorf("relay stats %+v, want circuits made", st)
	}
	// The client's own reservation may have been refused once (the relay
	// had not heard of it yet); it retries after a second.
	testkit.WaitFor(t, "both NATted nodes' reservations on the relay", 15*time.Second, func() bool {
		return pub.RelayServer().Stats().Reservations == 2
	})

	// The status documents (GET /status) say it: the relay's counters,
	// with the 1 MiB share relayed there and back; the client's relayed
	// connection; the NATted server's reservation.
	get := func(n *Node) status.Node {
		t.Helper()
		var doc struct {
			Node status.Node `json:"node"`
		}
		code, b := api(t, n, http.MethodGet, "/status", nil)
		if err := json.Unmarshal(b, &doc); code != http.StatusOK || err != nil {
			t.Fatalf("GET /status: %d %v", code, err)
		}
		return doc.Node
	}
	ps := get(pub)
	if r := ps.Relay; r == nil || r.Reservations != 2 || r.Circuits < 1 || r.Relayed < 1 || r.Bytes < 2*int64(len(data)) {
		t.Errorf("the relay's status: %+v, want 2 reservations, an open circuit, ≥ %d bytes relayed", ps.Relay, 2*len(data))
	}
	if ps.Helper != nil || len(ps.Uses.Relayed) != 0 {
		t.Errorf("the public node's status: helper %+v, relayed %+v, want neither", ps.Helper, ps.Uses.Relayed)
	}
	cs := get(me)
	if want := []status.Relayed{{Peer: natted.T.ID(), PeerNickname: "natted", Relay: pub.T.ID()}}; !slices.Equal(cs.Uses.Relayed, want) {
		t.Errorf("the client's status: relayed %+v, want %+v", cs.Uses.Relayed, want)
	}
	if cs.Relay != nil || cs.Uses.Helper != "" {
		t.Errorf("the client's status: relay %+v, helper %q, want neither", cs.Relay, cs.Uses.Helper)
	}
	if ns := get(natted); !slices.Equal(ns.Uses.Reservations, []string{pub.T.ID()}) {
		t.Errorf("the NATted server's status: reservations %v, want [%s]", ns.Uses.Reservations, pub.T.ID())
	}
}

func TestRelayHints(t *testing.T) {
	self := "v0-" + string(bytes.Repeat([]byte("a"), 52))
	r1 := "v0-" + string(bytes.Repeat([]byte("b"), 52))
	got := relayHints(self, introducer.Announcement{Relays: []string{self, r1, "junk", r1, r1, r1, r1}})
	if len(got) != 4 || got[0] != "relay:"+r1 {
		t.Errorf("hints %q: want at most 4, never this node, never malformed", got)
	}
}
