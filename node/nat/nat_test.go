package nat

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func ip(s string) netip.Addr     { return netip.MustParseAddr(s) }
func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
func ips(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, x := range s {
		out = append(out, ip(x))
	}
	return out
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Class
	}{
		{"8.8.8.8", ClassPublic}, {"2001:db8::1", ClassPublic}, {"192.168.1.5", ClassPrivate}, {"10.1.2.3", ClassPrivate},
		{"172.16.0.1", ClassPrivate}, {"172.32.0.1", ClassPublic}, {"fd00::1", ClassPrivate}, {"100.64.0.1", ClassCGNAT},
		{"100.127.255.254", ClassCGNAT}, {"100.128.0.1", ClassPublic}, {"127.0.0.1", ClassLoopback}, {"::1", ClassLoopback},
		{"169.254.1.1", ClassLinkLocal}, {"fe80::1", ClassLinkLocal}, {"0.0.0.0", ClassOther}, {"::ffff:10.0.0.1", ClassPrivate},
		{"224.0.0.1", ClassOther},
	} {
		if got := Classify(ip(c.in)); got != c.want {
			t.Errorf("Classify(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

// fakePeer sees us at seen and reaches us at the addresses in open.
type fakePeer struct {
	id      string
	seen    netip.AddrPort
	seenErr error
	open    map[netip.AddrPort]bool
	skip    bool
	dialed  []netip.AddrPort
}

func (p *fakePeer) ID() string { return p.id }
func (p *fakePeer) Observed(context.Context) (netip.AddrPort, error) {
	return p.seen, p.seenErr
}
func (p *fakePeer) DialBack(_ context.Context, a netip.AddrPort) error {
	p.dialed = append(p.dialed, a)
	if p.skip {
		return &SkippedError{"busy"}
	}
	if a.Addr() != p.seen.Addr() {
		return errors.New("refused: not your IP") // what a real peer answers
	}
	if !p.open[a] {
		return errors.New("connection refused")
	}
	return nil
}

type fakeMapper struct {
	m   *Mapping
	err error
}

func (f *fakeMapper) Map(_ context.Context, port uint16) (Mapping, error) {
	if f.err != nil {
		return Mapping{}, f.err
	}
	return *f.m, nil
}
func (f *fakeMapper) External() (Mapping, bool) { return Mapping{}, false }
func (f *fakeMapper) Close() error              { return nil }

func TestVerdicts(t *testing.T) {
	const port = 3456
	cases := []struct {
		name       string
		local      []netip.Addr
		configured []string
		wildcard   bool
		peers      []*fakePeer
		mapper     Mapper
		known      int
		storage    bool
		mode       Mode
		want       Verdict
		announce   []string
		advice     []string
		evidence   string // a phrase the evidence must hold
		reason     string // a phrase the summary must hold
	}{
		{name: "public address on this computer", local: ips("127.0.0.1", "203.0.113.7"), configured: []string{"203.0.113.7:3456"},
			peers: []*fakePeer{{id: "p1", seen: ap("203.0.113.7:40000"), open: map[netip.AddrPort]bool{ap("203.0.113.7:3456"): true}}},
			want:  VerdictPublic, announce: []string{"203.0.113.7:3456"}, advice: []string{AdviceStorageReadOnly}, evidence: "reached this node"},
		{name: "public storage server: no read-only advice", local: ips("203.0.113.7"), configured: []string{"203.0.113.7:3456"}, storage: true,
			peers: []*fakePeer{{id: "p1", seen: ap("203.0.113.7:40000"), open: map[netip.AddrPort]bool{ap("203.0.113.7:3456"): true}}},
			want:  VerdictPublic, announce: []string{"203.0.113.7:3456"}, advice: []string{}},
		{name: "loopback grid", local: ips("127.0.0.1", "192.168.1.5"), configured: []string{"127.0.0.1:3456"}, storage: true,
			peers: []*fakePeer{{id: "p1", seen: ap("127.0.0.1:50000"), open: map[netip.AddrPort]bool{ap("127.0.0.1:3456"): true}}},
			want:  VerdictPublic, announce: []string{"127.0.0.1:3456"}, advice: []string{}, evidence: "loopback"},
		{name: "behind NAT, storage server", local: ips("127.0.0.1", "192.168.1.5"), configured: []string{"192.168.1.5:3456"}, storage: true,
			peers: []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:  VerdictNAT, announce: []string{}, advice: []string{AdvicePortForward, AdviceStorageOff}, evidence: "not an address of this computer"},
		{name: "behind NAT, wildcard listener, forward fails", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"}, wildcard: true,
			peers: []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:  VerdictNAT, announce: []string{}, advice: []string{}, evidence: "no peer could open a connection to 198.51.100.9:3456"},
		{name: "port-forwarded", local: ips("192.168.1.5"), configured: []string{"198.51.100.9:3456"},
			peers: []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000"), open: map[netip.AddrPort]bool{ap("198.51.100.9:3456"): true}}},
			want:  VerdictForwarded, announce: []string{"198.51.100.9:3456"}, advice: []string{AdviceStorageReadOnly}, evidence: "forwards it here"},
		{name: "port mapping confirmed", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			mapper: &fakeMapper{m: &Mapping{External: ap("198.51.100.9:50123"), Internal: port, Protocol: "upnp"}},
			peers:  []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000"), open: map[netip.AddrPort]bool{ap("198.51.100.9:50123"): true}}},
			want:   VerdictMapped, announce: []string{"198.51.100.9:50123"}, advice: []string{AdviceStorageReadOnly}, evidence: "mapped port 3456"},
		{name: "port mapping not reachable: double NAT", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			mapper: &fakeMapper{m: &Mapping{External: ap("10.0.0.2:50123"), Internal: port, Protocol: "nat-pmp"}},
			peers:  []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:   VerdictCGNAT, announce: []string{}, advice: []string{AdviceUseRelay},
			evidence: "your router's own internet address is 10.0.0.2, which is a private address: your router is connected to another router"},
		{name: "mapped at a CGNAT address: double NAT", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"}, storage: true,
			mapper: &fakeMapper{m: &Mapping{External: ap("100.64.1.2:3456"), Internal: port, Protocol: "upnp"}},
			peers:  []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:   VerdictCGNAT, announce: []string{}, advice: []string{AdviceStorageOff, AdviceUseRelay},
			reason: "your router's own internet address is 100.64.1.2, which is a carrier-grade NAT address (100.64.0.0/10): your provider shares it"},
		{name: "mapped at a public address peers do not see: double NAT", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			mapper: &fakeMapper{m: &Mapping{External: ap("203.0.113.50:3456"), Internal: port, Protocol: "upnp"}},
			peers:  []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:   VerdictCGNAT, announce: []string{}, advice: []string{AdviceUseRelay},
			reason: "peers see this node at 198.51.100.9, not at your router's internet address 203.0.113.50"},
		{name: "mapped at the address peers see, unreachable: one NAT", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			mapper: &fakeMapper{m: &Mapping{External: ap("198.51.100.9:3456"), Internal: port, Protocol: "upnp"}},
			peers:  []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:   VerdictNAT, announce: []string{}, advice: []string{}, evidence: "no peer could open a connection to 198.51.100.9:3456"},
		{name: "router refused, its address CGNAT: double NAT", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			mapper: &fakeMapper{err: &RouterError{Router: RouterInfo{Protocol: "upnp", Gateway: ip("192.168.1.1"), External: ip("100.64.1.2")}, Err: errors.New("UPnP error 606")}},
			peers:  []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:   VerdictCGNAT, announce: []string{}, advice: []string{AdviceUseRelay}, evidence: "your router 192.168.1.1 answered (upnp) but mapped no port",
			reason: "internet address is 100.64.1.2, which is a carrier-grade NAT address"},
		{name: "router refused, its address the one peers see: one NAT", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"}, storage: true,
			mapper: &fakeMapper{err: &RouterError{Router: RouterInfo{Protocol: "upnp", Gateway: ip("192.168.1.1"), External: ip("198.51.100.9")}, Err: errors.New("UPnP error 606")}},
			peers:  []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:   VerdictNAT, announce: []string{}, advice: []string{AdvicePortForward, AdviceStorageOff}, reason: "198.51.100.9, which is not an address of this computer"},
		{name: "router has no internet address but peers see us: double NAT", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			mapper: &fakeMapper{err: &RouterError{Router: RouterInfo{Protocol: "nat-pmp", Gateway: ip("192.168.1.1")}, Err: errors.New("result 3")}},
			peers:  []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:   VerdictCGNAT, announce: []string{}, advice: []string{AdviceUseRelay},
			reason: "your router 192.168.1.1 answers port-mapping requests (nat-pmp) but says it has no internet address of its own, while peers on the Internet see this node at 198.51.100.9"},
		{name: "router has no internet address, only a LAN peer: not double NAT", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			mapper: &fakeMapper{err: &RouterError{Router: RouterInfo{Protocol: "nat-pmp", Gateway: ip("192.168.1.1")}, Err: errors.New("result 3")}},
			peers:  []*fakePeer{{id: "lan", seen: ap("192.168.1.5:50000")}},
			want:   VerdictNAT, announce: []string{}, advice: []string{}, evidence: "firewall"},
		{name: "no router answered: no router evidence", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			mapper: &fakeMapper{err: errors.New("no UPnP router answered in 3s")},
			peers:  []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:   VerdictNAT, announce: []string{}, advice: []string{}, evidence: "no router answered a port-mapping request"},
		{name: "CGNAT seen by a peer", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"}, storage: true,
			peers: []*fakePeer{{id: "p1", seen: ap("100.70.1.2:61000")}},
			want:  VerdictCGNAT, announce: []string{}, advice: []string{AdviceStorageOff, AdviceUseRelay}, evidence: "carrier-grade"},
		{name: "CGNAT on the interface", local: ips("100.80.3.4"), configured: []string{"100.80.3.4:3456"},
			peers: []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:  VerdictCGNAT, announce: []string{}, advice: []string{AdviceUseRelay}, reason: "100.80.3.4 is a carrier-grade NAT address"},
		{name: "firewall on a public address", local: ips("203.0.113.7"), configured: []string{"203.0.113.7:3456"}, storage: true,
			peers: []*fakePeer{{id: "p1", seen: ap("203.0.113.7:40000")}},
			want:  VerdictNAT, announce: []string{}, advice: []string{AdvicePortForward, AdviceStorageOff}, evidence: "firewall"},
		{name: "configured public but unreachable", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"}, mode: ModePublic,
			peers: []*fakePeer{{id: "p1", seen: ap("198.51.100.9:61000")}},
			want:  VerdictNAT, announce: []string{"192.168.1.5:3456"}, advice: []string{AdviceReachabilityAuto}},
		{name: "outbound-only configured", local: ips("203.0.113.7"), configured: []string{"203.0.113.7:3456"}, mode: ModeOutboundOnly,
			peers: []*fakePeer{{id: "p1", seen: ap("203.0.113.7:40000"), open: map[netip.AddrPort]bool{ap("203.0.113.7:3456"): true}}},
			want:  VerdictPublic, announce: []string{}, advice: []string{AdviceStorageReadOnly}},
		{name: "no peer yet", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			want: VerdictUnknown, announce: []string{"192.168.1.5:3456"}, advice: []string{}, evidence: "connected to no other node"},
		{name: "known nodes, none connected", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"}, known: 2,
			want: VerdictOffline, announce: []string{"192.168.1.5:3456"}, advice: []string{}, evidence: "none of the 2 nodes"},
		{name: "no network", local: ips("127.0.0.1", "fe80::1"), configured: []string{"192.168.1.5:3456"}, known: 1,
			want: VerdictOffline, announce: []string{"192.168.1.5:3456"}, advice: []string{}, evidence: "no network address"},
		{name: "peers too old to answer", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			peers: []*fakePeer{{id: "p1", seenErr: &SkippedError{"old"}}},
			want:  VerdictUnknown, announce: []string{"192.168.1.5:3456"}, advice: []string{}, evidence: "older versions"},
		{name: "busy peer counts neither way", local: ips("203.0.113.7"), configured: []string{"203.0.113.7:3456"},
			peers: []*fakePeer{{id: "p1", seen: ap("203.0.113.7:40000"), skip: true}},
			want:  VerdictUnknown, announce: []string{"203.0.113.7:3456"}, advice: []string{}},
		{name: "behind NAT, reached only by a peer on the same LAN", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			peers: []*fakePeer{{id: "lan", seen: ap("192.168.1.5:50000"), open: map[netip.AddrPort]bool{ap("192.168.1.5:3456"): true}},
				{id: "far", seen: ap("198.51.100.9:61000")}},
			want: VerdictNAT, announce: []string{}, advice: []string{}, evidence: "reached by a peer on the same network",
			reason: "198.51.100.9, which is not an address of this computer"},
		{name: "LAN grid: private address, every peer on the LAN", local: ips("192.168.1.5"), configured: []string{"192.168.1.5:3456"},
			peers: []*fakePeer{{id: "lan", seen: ap("192.168.1.5:50000"), open: map[netip.AddrPort]bool{ap("192.168.1.5:3456"): true}}},
			want:  VerdictPublic, announce: []string{"192.168.1.5:3456"}, advice: []string{AdviceStorageReadOnly}},
		{name: "port-forwarded, and a LAN peer reaches the private address too", local: ips("192.168.1.5"), configured: []string{"198.51.100.9:3456"},
			wildcard: true, storage: true,
			peers: []*fakePeer{{id: "lan", seen: ap("192.168.1.5:50000"), open: map[netip.AddrPort]bool{ap("192.168.1.5:3456"): true}},
				{id: "far", seen: ap("198.51.100.9:61000"), open: map[netip.AddrPort]bool{ap("198.51.100.9:3456"): true}}},
			want: VerdictForwarded, announce: []string{"198.51.100.9:3456"}, advice: []string{}},
		{name: "one address confirmed, one not: only the confirmed one", local: ips("203.0.113.7", "192.168.1.5"),
			configured: []string{"192.168.1.5:3456", "203.0.113.7:3456"}, storage: true,
			peers: []*fakePeer{{id: "p1", seen: ap("203.0.113.7:40000"), open: map[netip.AddrPort]bool{ap("203.0.113.7:3456"): true}}},
			want:  VerdictPublic, announce: []string{"203.0.113.7:3456"}, advice: []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var peers []Peer
			for _, p := range c.peers {
				peers = append(peers, p)
			}
			d := &Detector{Peers: func() []Peer { return peers }, Mapper: c.mapper, ListenWildcard: c.wildcard,
				LocalAddrs: func() ([]netip.Addr, error) { return c.local, nil }}
			mode := c.mode
			if mode == "" {
				mode = ModeAuto
			}
			in := d.Gather(context.Background(), Inputs{Mode: mode, ListenPort: port, Configured: c.configured, Connected: len(c.peers),
				Known: c.known, Storage: c.storage, Client: true, K: 3, N: 10})
			r := Decide(in)
			if r.Verdict != c.want {
				t.Errorf("verdict %q, want %q; evidence:\n%s", r.Verdict, c.want, strings.Join(r.Evidence, "\n"))
			}
			if !slices.Equal(r.Announce, c.announce) {
				t.Errorf("announces %q, want %q", r.Announce, c.announce)
			}
			var ids []string
			for _, a := range r.Advice {
				ids = append(ids, a.ID)
			}
			if !slices.Equal(ids, c.advice) && !(len(ids) == 0 && len(c.advice) == 0) {
				t.Errorf("advice %q, want %q", ids, c.advice)
			}
			if c.reason != "" && !strings.Contains(r.Summary(), c.reason) {
				t.Errorf("summary %q lacks %q", r.Summary(), c.reason)
			}
			if c.evidence != "" && !strings.Contains(strings.Join(r.Evidence, "\n"), c.evidence) {
				t.Errorf("evidence lacks %q:\n%s", c.evidence, strings.Join(r.Evidence, "\n"))
			}
			for _, p := range c.peers {
				for _, a := range p.dialed {
					if a.Addr() != p.seen.Addr() {
						t.Errorf("asked peer %s to dial %s, not the IP it sees for us (%s)", p.id, a, p.seen.Addr())
					}
				}
			}
		})
	}
}

const helperID = "v0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestHelperAdvice(t *testing.T) {
	in := Inputs{Mode: ModeAuto, Local: ips("192.168.1.5"), Connected: 1, Client: true, K: 3, N: 10,
		Observed: []Observation{{Peer: "p", Address: ap("198.51.100.9:1")}}, Helpers: []string{helperID}}
	r := Decide(in)
	a, err := r.Find(AdviceUseHelper)
	if err != nil {
		t.Fatal(err)
	}
	// 1 GB at 10 Mbit/s: 800 s = 13 min via the helper, 10/3 of it direct = 44 min.
	for _, want := range []string{"3-of-10", "3.3×", "~44 min direct", "~13 min via the helper", "estimated (not measured)", "10 Mbit/s"} {
		if !strings.Contains(a.Text, want) {
			t.Errorf("helper advice lacks %q: %s", want, a.Text)
		}
	}
	if len(a.Changes) != 1 || a.Changes[0] != (setting("client", "helper", helperID)) {
		t.Errorf("helper advice sets %v, want the announced helper", a.Changes)
	}
	in.UplinkBps, in.UplinkMeasured = 40e6, true
	a, _ = Decide(in).Find(AdviceUseHelper)
	for _, want := range []string{"measured uplink of 40 Mbit/s", "~11 min direct", "~3 min via the helper"} {
		if !strings.Contains(a.Text, want) {
			t.Errorf("helper advice lacks %q: %s", want, a.Text)
		}
	}
	in.HelperUse = helperID
	if _, err := Decide(in).Find(AdviceUseHelper); err == nil {
		t.Error("advises a helper to a node that names one")
	}
	// No helper announced: with helper = off, turn auto on; with auto, there
	// is nothing to apply, and the evidence says what is missing.
	in.HelperUse, in.Helpers = "off", nil
	a, err = Decide(in).Find(AdviceUseHelper)
	if err != nil || a.Changes[0].Value != "auto" || !strings.Contains(a.Text, "No helper is announced") {
		t.Errorf("helper off, none announced: %+v %v", a, err)
	}
	in.HelperUse = "auto"
	r = Decide(in)
	if ev := strings.Join(r.Evidence, "\n"); !strings.Contains(ev, "no relay is connected") {
		t.Errorf("evidence does not say no relay is connected:\n%s", ev)
	}
	in.Relays = []string{helperID}
	if ev := strings.Join(Decide(in).Evidence, "\n"); !strings.Contains(ev, "can go through the relay v0-aaaaaaa") {
		t.Errorf("evidence does not name the relay:\n%s", ev)
	}
	if _, err := r.Find(AdviceUseHelper); err == nil {
		t.Error("advises a helper with nothing to apply")
	}
	if ev := strings.Join(r.Evidence, "\n"); !strings.Contains(ev, "no upload helper is announced on this grid") || !strings.Contains(ev, "3.3× faster") {
		t.Errorf("evidence does not say a helper is missing:\n%s", ev)
	}
}

func TestFindNamesValidIDs(t *testing.T) {
	r := Report{Verdict: VerdictNAT, Advice: []Advice{{ID: AdviceUseHelper}, {ID: AdviceStorageOff}}}
	_, err := r.Find("nonsense")
	if err == nil || !strings.Contains(err.Error(), "use-helper, storage-off") || !strings.Contains(err.Error(), "all IDs") {
		t.Errorf("unknown ID: %v", err)
	}
	_, err = r.Find(AdviceStorageReadOnly)
	if err == nil || !strings.Contains(err.Error(), "does not apply to this node now") {
		t.Errorf("known but not advised ID: %v", err)
	}
}

func TestNextAnnounceKeepsEarlierWhenNobodyChecked(t *testing.T) {
	prev := &Report{Verdict: VerdictNAT, Mode: ModeAuto, Announce: []string{}}
	got, _ := NextAnnounce(prev, Report{Verdict: VerdictUnknown, Mode: ModeAuto, Announce: []string{"192.168.1.5:1"}, Provisional: true})
	if len(got) != 0 {
		t.Errorf("an unknown round after behind NAT announces %q", got)
	}
	got, prov := NextAnnounce(nil, Report{Verdict: VerdictUnknown, Mode: ModeAuto, Announce: []string{"192.168.1.5:1"}, Provisional: true})
	if !slices.Equal(got, []string{"192.168.1.5:1"}) || !prov {
		t.Errorf("first round: %q %v", got, prov)
	}
	got, _ = NextAnnounce(prev, Report{Verdict: VerdictPublic, Mode: ModeAuto, Announce: []string{"203.0.113.7:1"}})
	if !slices.Equal(got, []string{"203.0.113.7:1"}) {
		t.Errorf("public after NAT: %q", got)
	}
}

// A NATted client that reaches fewer storage servers than shares.happy,
// with no helper or relay between it and the others: the few-servers
// advice names the fix on another node (a helper or relay) and the one
// applied here (a port forward, so the servers connect to this node).
func TestFewServersAdvice(t *testing.T) {
	natted := Inputs{Mode: ModeAuto, Local: ips("192.168.1.5"), ListenPort: 3456, Connected: 1, Client: true, HelperUse: "auto",
		K: 1, N: 2, Happy: 2, ServersReached: 0, ServersKnown: 2,
		Observed: []Observation{{Peer: "p", Address: ap("198.51.100.9:61000")}}}
	const wantText = "This node reaches only 0 of the 2 storage servers an upload needs (shares.happy = 2); the other 2 it knows of " +
		"are not connected to it (servers behind NAT, or offline), and no upload helper or relay is connected to carry between " +
		"them: uploads fail, and files stored on the servers it cannot reach cannot be read. Either a public node of this grid " +
		"runs an upload helper ([helper] enabled = true in its tahoe.cfg) or a relay ([relay] enabled = true), which this node " +
		"then uses by itself (a helper with [client] helper = auto, the default); or forward TCP port 3456 on your router to " +
		"this computer (192.168.1.5 port 3456) and apply: tub.location becomes tcp:198.51.100.9:3456, and once a peer has " +
		"connected to it there the storage servers behind NAT connect to this node."
	const wantEvidence = "this node reaches only 0 of the 2 storage servers an upload needs (shares.happy = 2); the other 2 " +
		"it knows of are not connected to it (servers behind NAT, or offline)"
	wantChanges := []Setting{setting("node", "tub.port", "tcp:3456"), setting("node", "tub.location", "tcp:198.51.100.9:3456"), setting("node", "reachability", "auto")}

	r := Decide(natted)
	if r.Verdict != VerdictNAT {
		t.Fatalf("verdict %q, want behind NAT", r.Verdict)
	}
	a, err := r.Find(AdviceFewServers)
	if err != nil {
		t.Fatalf("no few-servers advice: %v", err)
	}
	if a.Text != wantText {
		t.Errorf("advice text:\n%s\nwant:\n%s", a.Text, wantText)
	}
	if !slices.Equal(a.Changes, wantChanges) {
		t.Errorf("advice sets %v, want %v", a.Changes, wantChanges)
	}
	if a.Command != "lafs reachability --apply few-servers" {
		t.Errorf("command %q", a.Command)
	}
	if !slices.Contains(r.Evidence, wantEvidence) {
		t.Errorf("evidence lacks %q:\n%s", wantEvidence, strings.Join(r.Evidence, "\n"))
	}
	if r.Reason == wantEvidence {
		t.Error("the servers count became the verdict's reason; the reason is what decided the verdict")
	}

	firewall := natted // seen at its own public address, which nobody can open
	firewall.Local, firewall.Observed = ips("203.0.113.7"), []Observation{{Peer: "p", Address: ap("203.0.113.7:61000")}}
	firewall.Candidates = []Candidate{{Address: "203.0.113.7:3456", Targets: []netip.AddrPort{ap("203.0.113.7:3456")},
		Checks: []Check{{Peer: "p", Target: ap("203.0.113.7:3456"), Error: "timeout"}}}}
	if a, err := Decide(firewall).Find(AdviceFewServers); err != nil ||
		!strings.Contains(a.Text, "; or allow incoming TCP port 3456 in this computer's firewall and apply: tub.location becomes tcp:203.0.113.7:3456,") {
		t.Errorf("firewall: %v %q", err, a.Text)
	}

	oneOfTwo := natted
	oneOfTwo.ServersReached = 1
	if a, _ := Decide(oneOfTwo).Find(AdviceFewServers); !strings.HasPrefix(a.Text,
		"This node reaches only 1 of the 2 storage servers an upload needs (shares.happy = 2); the other 1 it knows of are not connected") {
		t.Errorf("1 of 2: %q", a.Text)
	}

	none := []struct {
		name     string
		change   func(*Inputs)
		evidence bool // the servers count is still in the evidence
	}{
		{"enough servers", func(in *Inputs) { in.ServersReached = 2 }, false},
		{"happy not known", func(in *Inputs) { in.Happy = 0 }, false},
		{"not a client", func(in *Inputs) { in.Client = false }, false},
		{"a helper is connected", func(in *Inputs) { in.Helpers = []string{helperID} }, true},
		{"a relay is connected", func(in *Inputs) { in.Relays = []string{helperID} }, true},
		{"no outside address seen", func(in *Inputs) { in.Observed = nil; in.Connected = 0 }, false},
		{"CGNAT: no forward can work", func(in *Inputs) {
			in.Observed = []Observation{{Peer: "p", Address: ap("100.70.1.2:61000")}}
		}, true},
	}
	for _, c := range none {
		in := natted
		c.change(&in)
		r := Decide(in)
		if _, err := r.Find(AdviceFewServers); err == nil {
			t.Errorf("%s: few-servers advised", c.name)
		}
		if got := slices.Contains(r.Evidence, wantEvidence) || slices.ContainsFunc(r.Evidence, func(e string) bool {
			return strings.HasPrefix(e, "this node reaches only")
		}); got != c.evidence {
			t.Errorf("%s: servers count in the evidence: %v, want %v:\n%s", c.name, got, c.evidence, strings.Join(r.Evidence, "\n"))
		}
	}
	cg := natted
	cg.Observed = []Observation{{Peer: "p", Address: ap("100.70.1.2:61000")}}
	if _, err := Decide(cg).Find(AdviceUseRelay); err != nil {
		t.Errorf("CGNAT client with too few servers: no relay advice: %v", err)
	}
}

// Every machine has its loopback network; each prefix comes masked.
func TestInterfacePrefixes(t *testing.T) {
	ps, err := InterfacePrefixes()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ps, netip.MustParsePrefix("127.0.0.0/8")) {
		t.Errorf("no loopback network among %v", ps)
	}
	for _, p := range ps {
		if p != p.Masked() {
			t.Errorf("%v is not masked", p)
		}
	}
}
