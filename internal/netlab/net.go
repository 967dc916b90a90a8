package netlab

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
)

// PublicCIDR is the default public LAN. It lies outside every private,
// shared (CGNAT) and reserved range, so that a node on it has an address
// it may call public, and so that miniupnpd, which refuses to map ports
// behind a reserved WAN address (RFC 2544's 198.18.0.0/15 and the
// documentation ranges included), works on a router attached to it. Its
// packets never leave the lab's namespaces.
const PublicCIDR = "11.11.0.0/24"

// LAN is one Ethernet segment: a bridge in a namespace (a switch of its
// own for a public LAN, the router for a LAN behind one) with hosts
// joined to it by veth pairs.
type LAN struct {
	Prefix  netip.Prefix
	Gateway netip.Addr // the router's address on the LAN; invalid for a LAN without one

	lab    *Lab
	sw     *NS    // holds the bridge
	bridge string // the bridge's name in sw

	mu   sync.Mutex // guards next
	next netip.Addr // the next address to hand out
}

// PublicLAN creates a LAN with no router (its hosts reach each other and
// nothing else) on cidr, PublicCIDR when empty.
func (l *Lab) PublicLAN(name, cidr string) *LAN {
	l.tb.Helper()
	if cidr == "" {
		cidr = PublicCIDR
	}
	n := l.newLAN(l.NS(name+"-sw"), cidr)
	return n
}

func (l *Lab) newLAN(sw *NS, cidr string) *LAN {
	l.tb.Helper()
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 28 {
		l.tb.Fatalf("netlab: LAN prefix %q: want an IPv4 prefix of /28 or larger", cidr)
	}
	p = p.Masked()
	l.mu.Lock()
	bridge := fmt.Sprintf("br%d", l.nets)
	l.nets++
	l.mu.Unlock()
	sw.MustRun("ip", "link", "add", bridge, "type", "bridge")
	sw.MustRun("ip", "link", "set", bridge, "up")
	// The bridge must not run its own netfilter pass over bridged frames.
	sw.Run("sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=0")
	return &LAN{Prefix: p, lab: l, sw: sw, bridge: bridge, next: p.Addr().Next().Next()}
}

func (n *LAN) alloc() netip.Addr {
	n.lab.tb.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.next
	n.next = a.Next()
	if !n.Prefix.Contains(n.next) {
		n.lab.tb.Fatalf("netlab: LAN %v is full", n.Prefix)
	}
	return a
}

// attach joins ns to the LAN with a new interface and address, and a
// default route through the LAN's gateway when it has one.
func (n *LAN) attach(ns *NS) (string, netip.Addr) {
	n.lab.tb.Helper()
	ifname := ns.newIf()
	n.lab.mu.Lock()
	port := fmt.Sprintf("p%d", n.lab.links)
	n.lab.links++
	n.lab.mu.Unlock()
	// Created directly inside the two namespaces: the root namespace never
	// holds the pair, so names cannot collide with another lab's.
	n.lab.must("ip", "link", "add", ifname, "netns", ns.Name, "type", "veth", "peer", "name", port, "netns", n.sw.Name)
	n.sw.MustRun("ip", "link", "set", port, "master", n.bridge)
	n.sw.MustRun("ip", "link", "set", port, "up")
	addr := n.alloc()
	ns.MustRun("ip", "addr", "add", netip.PrefixFrom(addr, n.Prefix.Bits()).String(), "dev", ifname)
	ns.MustRun("ip", "link", "set", ifname, "up")
	if n.Gateway.IsValid() {
		ns.MustRun("ip", "route", "add", "default", "via", n.Gateway.String())
	}
	return ifname, addr
}

// Host is a namespace with one interface on a LAN.
type Host struct {
	*NS
	LAN  *LAN
	If   string     // its interface
	Addr netip.Addr // its address on the LAN
}

// Host creates a namespace joined to the LAN.
func (n *LAN) Host(name string) *Host {
	n.lab.tb.Helper()
	h := &Host{NS: n.lab.NS(name), LAN: n}
	h.If, h.Addr = n.attach(h.NS)
	return h
}

// LimitRate shapes what the host sends (its uplink) to rate, in tc's
// notation ("20mbit").
func (h *Host) LimitRate(rate string) {
	h.lab.tb.Helper()
	h.MustRun("tc", "qdisc", "replace", "dev", h.If, "root", "tbf", "rate", rate, "burst", "64kb", "latency", "100ms")
}

// RouterOptions shape a router's NAT.
type RouterOptions struct {
	// UPnP adds the empty chains miniupnpd-nftables fills (the table and
	// chain names of its default configuration), jumped to from the NAT
	// and forward chains, so that a miniupnpd started in the router can
	// add port mappings.
	UPnP bool
	// Symmetric gives each outgoing connection a random outside port
	// (masquerade fully-random) instead of keeping the inside one when it
	// can: a NAT whose ports cannot be predicted, through which hole
	// punching cannot work.
	Symmetric bool
	// Stealth drops new connections to the router itself from its WAN
	// side, as most home routers do, instead of answering them with a
	// reset. Hole punching needs it here: the two routers are neighbours
	// on one LAN, so a SYN that comes before the other side's mapping
	// exists reaches the other router itself (on the Internet, an ISP
	// router between would take the first SYNs' low TTL), and a reset
	// there makes that NAT give the other side's connection another
	// outside port.
	Stealth bool
}

// Router is a NAT router: a namespace with a WAN interface on an outer
// LAN and a bridge for its inside LAN. Connections from the inside to the
// outside are masqueraded to the WAN address; nothing new gets in, except
// through a port forward.
type Router struct {
	*NS
	WANIf  string
	WAN    netip.Addr // its address on the outer LAN
	Inside *LAN       // the LAN behind it, with the router as gateway
}

// Router creates a NAT router on the LAN with a new LAN inside on cidr
// (the router takes its first address). A router on a router's inside
// LAN makes double NAT; give the outer router a 100.64.0.0/10 inside to
// model carrier-grade NAT.
func (n *LAN) Router(name, cidr string, opts RouterOptions) *Router {
	n.lab.tb.Helper()
	r := &Router{NS: n.lab.NS(name)}
	r.WANIf, r.WAN = n.attach(r.NS)
	r.Inside = n.lab.newLAN(r.NS, cidr)
	r.Inside.Gateway = r.Inside.Prefix.Addr().Next()
	r.MustRun("ip", "addr", "add", netip.PrefixFrom(r.Inside.Gateway, r.Inside.Prefix.Bits()).String(), "dev", r.Inside.bridge)
	r.MustRun("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	r.runInput([]byte(natRules(r.WANIf, r.Inside.bridge, opts)), "nft", "-f", "-")
	return r
}

// LANIf is the router's interface on its inside LAN (the bridge).
func (r *Router) LANIf() string { return r.Inside.bridge }

// natRules is the router's nftables ruleset: one table inet filter, as
// miniupnpd-nftables expects by default (its nft_init.sh), with the NAT
// chains beside the forward chain. The chains miniupnpd fills
// (miniupnpd, prerouting_miniupnpd, postrouting_miniupnpd) are there
// only with opts.UPnP; Forward's DNAT rules go to chain forwards.
func natRules(wan, lan string, opts RouterOptions) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("table inet filter {")
	p("  chain forward {")
	p("    type filter hook forward priority filter; policy drop;")
	p("    ct state established,related accept")
	p("    iifname %q oifname %q accept", lan, wan)
	p("    iifname %q oifname %q ct status dnat accept", wan, lan)
	if opts.UPnP {
		p("    iifname %q jump miniupnpd", wan)
	}
	p("  }")
	if opts.Stealth {
		p("  chain input {")
		p("    type filter hook input priority filter; policy accept;")
		p("    iifname %q ct state new drop", wan)
		p("  }")
	}
	p("  chain prerouting {")
	p("    type nat hook prerouting priority dstnat; policy accept;")
	p("    iifname %q jump forwards", wan)
	if opts.UPnP {
		p("    iifname %q jump prerouting_miniupnpd", wan)
	}
	p("  }")
	p("  chain postrouting {")
	p("    type nat hook postrouting priority srcnat; policy accept;")
	if opts.UPnP {
		p("    oifname %q jump postrouting_miniupnpd", wan)
	}
	if opts.Symmetric {
		p("    oifname %q meta nfproto ipv4 masquerade fully-random", wan)
	} else {
		p("    oifname %q meta nfproto ipv4 masquerade", wan)
	}
	p("  }")
	p("  chain forwards {")
	p("  }")
	if opts.UPnP {
		p("  chain miniupnpd {")
		p("  }")
		p("  chain prerouting_miniupnpd {")
		p("  }")
		p("  chain postrouting_miniupnpd {")
		p("  }")
	}
	p("}")
	return b.String()
}

// Forward adds a port forward (DNAT): TCP connections to the router's
// WAN address on port reach to.
func (r *Router) Forward(port uint16, to netip.AddrPort) {
	r.lab.tb.Helper()
	r.MustRun("nft", "add", "rule", "inet", "filter", "forwards", "ip", "daddr", r.WAN.String(), "tcp", "dport", fmt.Sprint(port), "dnat", "ip", "to", to.String())
}

// Rules is the router's nftables ruleset as nft lists it.
func (r *Router) Rules() string {
	r.lab.tb.Helper()
	return r.MustRun("nft", "list", "ruleset")
}
