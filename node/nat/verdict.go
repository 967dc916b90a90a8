package nat

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Verdict is how other nodes can reach this one.
type Verdict string

// Verdicts. docs/reachability.md gives the rules.
const (
	// VerdictPublic: a peer reached the node at an address of this
	// computer's own (a public address, or on a local grid a loopback or
	// private one that its peers share).
	VerdictPublic Verdict = "public"
	// VerdictMapped: a peer reached the node at the port the router
	// mapped for it (UPnP-IGD, NAT-PMP or PCP).
	VerdictMapped Verdict = "public via port mapping"
	// VerdictForwarded: a peer reached the node at an address that is not
	// this computer's: a port forward on the router.
	VerdictForwarded Verdict = "port-forwarded"
	// VerdictNAT: peers see the node at an address that is not its own
	// and cannot connect to it (or a firewall stops them).
	VerdictNAT Verdict = "behind NAT"
	// VerdictCGNAT: the node is behind two NATs, or its ISP's
	// carrier-grade NAT: no port forward of its own can make it reachable.
	VerdictCGNAT Verdict = "behind double NAT / CGNAT"
	// VerdictOffline: no network, or no connection to any node.
	VerdictOffline Verdict = "offline"
	// VerdictUnknown: not measured yet, or no peer could check.
	VerdictUnknown Verdict = "unknown"
)

// Reachable says whether other nodes can open connections to the node.
func (v Verdict) Reachable() bool {
	return v == VerdictPublic || v == VerdictMapped || v == VerdictForwarded
}

// Mode is [node] reachability in tahoe.cfg.
type Mode string

// Modes.
const (
	// ModeAuto announces what dial-back confirmed (the default).
	ModeAuto Mode = "auto"
	// ModePublic announces tub.location whatever detection finds.
	ModePublic Mode = "public"
	// ModeOutboundOnly announces no address.
	ModeOutboundOnly Mode = "outbound-only"
)

// Sources of candidate addresses.
const (
	SourceConfig   = "tub.location"
	SourceMapping  = "port mapping"
	SourceObserved = "observed" // the IP a peer sees, with our listening port
)

// Check is one peer's dial-back to one address.
type Check struct {
	Peer   string         `json:"peer"`
	Target netip.AddrPort `json:"target"`
	OK     bool           `json:"ok"`
	// Skipped: the peer did not try (busy, or too old to know how); it
	// counts neither way.
	Skipped bool   `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Candidate is an address the node would announce.
type Candidate struct {
	// Address is what would be announced: "HOST:PORT".
	Address string `json:"address"`
	Source  string `json:"source"`
	// Targets are its IPs (a host name resolved), which peers dial.
	Targets []netip.AddrPort `json:"targets"`
	Class   Class            `json:"class"`
	Checks  []Check          `json:"checks"`
	// Confirmed: some peer's dial-back reached this node there.
	Confirmed bool `json:"confirmed"`
	// Note says why it was not checked, if it was not.
	Note string `json:"note,omitempty"`
}

// tested says whether some peer tried (and did not skip).
func (c Candidate) tested() bool {
	return slices.ContainsFunc(c.Checks, func(k Check) bool { return !k.Skipped })
}

// Observation is what one peer sees as our address.
type Observation struct {
	Peer string `json:"peer"`
	// Address is our address as the peer sees it (invalid on error).
	Address netip.AddrPort `json:"address"`
	Error   string         `json:"error,omitempty"`
}

// Inputs are the facts a verdict is made from.
type Inputs struct {
	Mode Mode
	// Local are this computer's interface addresses.
	Local []netip.Addr
	// ListenPort is the port the node listens on.
	ListenPort uint16
	// Configured are tub.location's addresses ("HOST:PORT", port 0
	// replaced by ListenPort).
	Configured []string
	// Candidates, Observed and Mapping are filled by Detector.Gather.
	Candidates []Candidate
	Observed   []Observation
	Mapping    *Mapping
	MappingErr string
	// Router is what a router that answered but mapped no port said of
	// its own outside address (nil: none answered, or Mapping holds).
	Router *RouterInfo
	// UPnPDisabled is [node] upnp = false.
	UPnPDisabled bool
	// Connected counts the peers connected now; Known the nodes the node
	// knows of (introducers, announced nodes, static servers).
	Connected, Known int
	// Storage: this node runs a storage server. Client: it uploads (it is
	// not only an introducer).
	Storage, Client bool
	// HelperUse is [client] helper: "auto" (also ""), "off", or the node
	// ID of the helper to use for every upload.
	HelperUse string
	// Helpers are the announced upload helpers the node is connected to,
	// best first.
	Helpers []string
	// Relays are the announced relays the node is connected to.
	Relays []string
	// K and N are the client's shares.needed and shares.total; Happy is
	// shares.happy (0: not known, and the servers rule below is off).
	K, N, Happy int
	// ServersReached counts the storage servers the client can use now:
	// directly connected (its own included), relayed, or through its
	// helper. ServersKnown counts those it knows of, reachable or not.
	ServersReached, ServersKnown int
	// UplinkBps is the upload bandwidth in bits per second; UplinkMeasured
	// false means it is an estimate.
	UplinkBps      float64
	UplinkMeasured bool
	// Now stamps the report.
	Now time.Time
}

// Report is a verdict, the facts behind it, and what to do.
type Report struct {
	Verdict Verdict `json:"verdict"`
	// Reason is the fact that decided the verdict (also in Evidence).
	Reason string `json:"reason"`
	Mode   Mode   `json:"mode"`
	// Evidence are the facts, in plain words, that led to the verdict.
	Evidence []string `json:"evidence"`
	Advice   []Advice `json:"advice"`
	// Announce are the addresses the node announces (none: outbound-only).
	Announce []string `json:"announce"`
	// Provisional: announced before any peer could confirm them (see
	// docs/reachability.md: the configured addresses until the first
	// verdict).
	Provisional bool           `json:"provisional,omitempty"`
	Local       []LocalAddress `json:"local_addresses"`
	Candidates  []Candidate    `json:"candidates"`
	Observed    []Observation  `json:"observed"`
	Mapping     *Mapping       `json:"mapping,omitempty"`
	// Router: a router answered a port-mapping request but mapped no
	// port; what it said of its own outside address.
	Router    *RouterInfo `json:"router,omitempty"`
	CheckedAt time.Time   `json:"checked_at,omitzero"`
	// Uplink is the node's measured upload bandwidth (Inputs.UplinkBps);
	// absent until its uploads measured one.
	Uplink *UplinkReport `json:"uplink,omitempty"`
}

// UplinkReport is an uplink in a Report.
type UplinkReport struct {
	BitsPerSecond float64 `json:"bits_per_second"`
	// Measured: from the node's own uploads (Uplink); always true today,
	// for a later estimate of another kind.
	Measured bool `json:"measured"`
}

// LocalAddress is one interface address and its class.
type LocalAddress struct {
	Address netip.Addr `json:"address"`
	Class   Class      `json:"class"`
}

// Summary is the verdict in one line.
func (r Report) Summary() string {
	if r.Reason == "" {
		return string(r.Verdict)
	}
	return string(r.Verdict) + ": " + r.Reason
}

// Decide makes the verdict from the facts, and the advice that goes with
// it. It is pure: everything it uses is in in.
func Decide(in Inputs) Report {
	r := Report{Mode: in.Mode, Candidates: in.Candidates, Observed: in.Observed, Mapping: in.Mapping, Router: in.Router, CheckedAt: in.Now,
		Evidence: []string{}, Advice: []Advice{}, Announce: []string{}, Local: []LocalAddress{}}
	if r.Mode == "" {
		r.Mode = ModeAuto
	}
	if r.Candidates == nil {
		r.Candidates = []Candidate{}
	}
	if r.Observed == nil {
		r.Observed = []Observation{}
	}
	for _, a := range in.Local {
		r.Local = append(r.Local, LocalAddress{a, Classify(a)})
	}
	ev := func(format string, args ...any) { r.Evidence = append(r.Evidence, fmt.Sprintf(format, args...)) }
	r.Verdict = verdict(in, ev)
	if len(r.Evidence) > 0 {
		r.Reason = r.Evidence[len(r.Evidence)-1]
	}
	switch {
	case r.Mode == ModeOutboundOnly:
		ev("[node] reachability = outbound-only: the node announces no address (it connects out; others use its connections)")
	case r.Mode == ModePublic:
		r.Announce = append(r.Announce, in.Configured...)
		ev("[node] reachability = public: the node announces tub.location (%s) whatever the checks find", strings.Join(in.Configured, ", "))
	case r.Verdict.Reachable():
		for _, c := range counted(in) {
			if !slices.Contains(r.Announce, c.Address) {
				r.Announce = append(r.Announce, c.Address)
			}
		}
	case r.Verdict == VerdictUnknown || r.Verdict == VerdictOffline:
		// Nobody could check: keep what tub.location says (as before
		// detection existed), so the first node of a grid stays reachable.
		r.Announce, r.Provisional = append(r.Announce, in.Configured...), len(in.Configured) > 0
	}
	r.Advice = advise(in, r)
	if natted := r.Verdict == VerdictNAT || r.Verdict == VerdictCGNAT; natted && len(in.Relays) == 0 {
		ev("no relay is connected: nodes behind other NATs can neither reach this node nor be reached by it")
	} else if natted {
		ev("nodes that cannot reach this node directly can go through the relay %s", short(in.Relays[0]))
	}
	if (r.Verdict == VerdictNAT || r.Verdict == VerdictCGNAT) && in.Client && len(in.Helpers) == 0 && !strings.HasPrefix(in.HelperUse, "v0-") {
		ev("no upload helper is announced on this grid: a public node with [helper] enabled = true would make this node's uploads %.1f× faster",
			helperGain(in))
	}
	if natted := r.Verdict == VerdictNAT || r.Verdict == VerdictCGNAT; natted && fewServers(in) {
		ev("%s", serversFact(in))
	}
	if in.Client && in.UplinkMeasured && in.UplinkBps > 0 {
		r.Uplink = &UplinkReport{BitsPerSecond: in.UplinkBps, Measured: true}
		ev("this node's uploads reached %s over the network in the last day (its uplink, measured from its own traffic)", mbit(in.UplinkBps))
	}
	return r
}

// verdict applies the rules of docs/reachability.md in order.
func verdict(in Inputs, ev func(string, ...any)) Verdict {
	confirmed := counted(in)
	if wide(in) {
		for _, c := range in.Candidates {
			if c.Confirmed && !public(c) {
				ev("%s was reached by a peer on the same network (%s), which nodes on the Internet cannot use", c.Address, c.Class.Words())
			}
		}
	}
	if in.Mapping != nil {
		ev("the router mapped port %d to this node at %s (%s)", in.Mapping.Internal, in.Mapping.External, in.Mapping.Protocol)
	} else if in.MappingErr != "" {
		ev("port mapping: %s", in.MappingErr)
	}
	if len(confirmed) > 0 {
		var direct, mapped, forwarded *Candidate
		for i := range confirmed {
			c := &confirmed[i]
			ok := okChecks(*c)
			ev("a peer opened a new connection to %s (%s, from %s) and reached this node (checked by %s)", c.Address, c.Class.Words(), c.Source, strings.Join(ok, ", "))
			switch {
			case c.Source == SourceMapping && mapped == nil:
				mapped = c
			case anyLocal(in.Local, c.Targets) && direct == nil:
				direct = c
			case forwarded == nil && !anyLocal(in.Local, c.Targets):
				forwarded = c
			}
		}
		switch {
		case direct != nil:
			return VerdictPublic
		case mapped != nil:
			return VerdictMapped
		}
		ev("%s is not an address of this computer: the router forwards it here", forwarded.Address)
		return VerdictForwarded
	}
	if !usable(in.Local) {
		ev("this computer has no network address but loopback and link-local ones")
		return VerdictOffline
	}
	if in.Connected == 0 {
		if in.Known > 0 {
			ev("the node is connected to none of the %d nodes it knows of", in.Known)
			return VerdictOffline
		}
		ev("the node is connected to no other node yet, so no one could check it")
		return VerdictUnknown
	}
	var seen []netip.AddrPort
	for _, o := range in.Observed {
		if o.Error == "" && o.Address.IsValid() {
			seen = append(seen, o.Address)
		}
	}
	if len(seen) == 0 {
		ev("none of the %d connected peers could say what address they see for this node (older versions do not answer)", in.Connected)
		return VerdictUnknown
	}
	failed := false
	for _, c := range in.Candidates {
		if c.tested() {
			failed = true
			ev("no peer could open a connection to %s (%s)", c.Address, firstError(c))
		} else if c.Note != "" {
			ev("%s could not be checked: %s", c.Address, c.Note)
		}
	}
	var foreign []netip.AddrPort // seen at an address not ours: a NAT on the way
	cg := false
	for _, a := range seen {
		if !isLocal(in.Local, a.Addr()) {
			foreign = append(foreign, a)
		}
		if Classify(a.Addr()) == ClassCGNAT {
			cg = true
			ev("a peer sees this node at %s, %s", a.Addr(), ClassCGNAT.Words())
		}
	}
	for _, a := range in.Local {
		if Classify(a) == ClassCGNAT {
			cg = true
			ev("this computer's address %s is %s", a, ClassCGNAT.Words())
		}
	}
	if doubleNAT(in, foreign, ev) {
		cg = true
	}
	if cg {
		return VerdictCGNAT
	}
	if len(foreign) > 0 {
		ev("peers see this node at %s, which is not an address of this computer: it is behind NAT", foreign[0].Addr())
		return VerdictNAT
	}
	if failed {
		ev("peers see this node at its own address %s, but cannot connect to it: a firewall blocks incoming connections", seen[0].Addr())
		return VerdictNAT
	}
	ev("peers see this node at its own address %s, but no address it would announce could be checked", seen[0].Addr())
	return VerdictUnknown
}

// doubleNAT applies the router rules: the router's own outside address
// (from its mapping, or from a router that answered but mapped nothing)
// is private or 100.64/10; or peers see this node at another address
// than it; or a router that answers says it has no outside address while
// peers on the Internet see the node through it. foreign are the
// addresses peers see that are not this computer's.
func doubleNAT(in Inputs, foreign []netip.AddrPort, ev func(string, ...any)) bool {
	var ext netip.Addr
	switch {
	case in.Mapping != nil:
		ext = in.Mapping.External.Addr().Unmap()
	case in.Router != nil:
		ext = in.Router.External.Unmap()
	default:
		return false
	}
	if !ext.IsValid() || ext.IsUnspecified() {
		if in.Router == nil || len(foreign) == 0 || !wide(in) {
			return false
		}
		ev("your router %v answers port-mapping requests (%s) but says it has no internet address of its own, while peers on the Internet see this node at %s: "+
			"the router is itself behind another NAT (your provider's carrier-grade NAT, or a second router), so no port forward on it can work",
			in.Router.Gateway, in.Router.Protocol, foreign[0].Addr())
		return true
	}
	switch c := Classify(ext); c {
	case ClassCGNAT:
		ev("your router's own internet address is %s, which is a carrier-grade NAT address (100.64.0.0/10): your provider shares it among its customers, so there is another NAT beyond your router", ext)
		return true
	case ClassPrivate:
		ev("your router's own internet address is %s, which is a private address: your router is connected to another router, so there is another NAT beyond it", ext)
		return true
	}
	if len(foreign) > 0 && !slices.ContainsFunc(foreign, func(a netip.AddrPort) bool { return a.Addr().Unmap() == ext }) {
		ev("peers see this node at %s, not at your router's internet address %s: there is another NAT beyond the router", foreign[0].Addr(), ext)
		return true
	}
	return false
}

// wide says whether some peer is outside this node's own network: it
// sees us at a public or carrier-grade NAT address. Then only a public
// address makes the node reachable; on a local grid (every peer on this
// computer or its LAN) a loopback or private one does.
func wide(in Inputs) bool {
	for _, o := range in.Observed {
		if o.Error == "" && o.Address.IsValid() {
			if c := Classify(o.Address.Addr()); c == ClassPublic || c == ClassCGNAT {
				return true
			}
		}
	}
	return false
}

func public(c Candidate) bool {
	return slices.ContainsFunc(c.Targets, func(t netip.AddrPort) bool { return Classify(t.Addr()) == ClassPublic })
}

// counted are the confirmed candidates that make the node reachable for
// its peers: all of them on a local grid, only public ones when a peer is
// outside (wide).
func counted(in Inputs) []Candidate {
	w := wide(in)
	var out []Candidate
	for _, c := range in.Candidates {
		if c.Confirmed && (!w || public(c)) {
			out = append(out, c)
		}
	}
	return out
}

func okChecks(c Candidate) []string {
	var out []string
	for _, k := range c.Checks {
		if k.OK {
			out = append(out, short(k.Peer))
		}
	}
	return out
}

func firstError(c Candidate) string {
	for _, k := range c.Checks {
		if !k.OK && !k.Skipped {
			return short(k.Peer) + ": " + k.Error
		}
	}
	return "no answer"
}

func anyLocal(local []netip.Addr, ts []netip.AddrPort) bool {
	return slices.ContainsFunc(ts, func(t netip.AddrPort) bool { return isLocal(local, t.Addr()) })
}

// short abbreviates a node ID for messages.
func short(id string) string {
	if len(id) > 11 {
		return id[:11] + "…"
	}
	return id
}

// NextAnnounce is what to announce after a new report, given what was
// announced before (nil: nothing yet): a round in which nobody could
// check (unknown, offline) keeps the earlier announcement rather than
// falling back to unconfirmed addresses.
func NextAnnounce(prev *Report, cur Report) (addrs []string, provisional bool) {
	if prev != nil && (cur.Verdict == VerdictUnknown || cur.Verdict == VerdictOffline) && cur.Mode == ModeAuto && prev.Mode == ModeAuto {
		return prev.Announce, prev.Provisional
	}
	return cur.Announce, cur.Provisional
}
