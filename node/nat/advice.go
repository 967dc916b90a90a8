package nat

import (
	"github.com/lafssync/lafssync/node/config"

	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Advice IDs: stable, so scripts and docs can name them.
const (
	AdviceStorageReadOnly  = "storage-readonly"
	AdviceUseHelper        = "use-helper"
	AdvicePortForward      = "port-forward"
	AdviceStorageOff       = "storage-off"
	AdviceUseRelay         = "use-relay"
	AdviceReachabilityAuto = "reachability-auto"
	AdviceEnableUPnP       = "enable-upnp"
	AdviceFewServers       = "few-servers"
)

// AllAdvice lists every advice ID there is.
var AllAdvice = []string{AdviceStorageReadOnly, AdviceUseHelper, AdvicePortForward, AdviceStorageOff, AdviceUseRelay, AdviceReachabilityAuto,
	AdviceEnableUPnP, AdviceFewServers}

// Setting is one tahoe.cfg key an advice sets.
type Setting = config.Setting

func setting(section, key, value string) Setting {
	return Setting{Section: section, Key: key, Value: value}
}

// Advice is one thing the user can do, with the tahoe.cfg change that
// does it (lafs reachability --apply ID).
type Advice struct {
	ID      string    `json:"id"`
	Text    string    `json:"text"`
	Changes []Setting `json:"changes"`
	Command string    `json:"command"`
}

// DefaultUplinkBps is the uplink assumed when none was measured: a common
// home connection's upload speed.
const DefaultUplinkBps = 10e6

// advise lists what the user can do about r.
func advise(in Inputs, r Report) []Advice {
	out := []Advice{}
	add := func(id, text string, s ...Setting) {
		out = append(out, Advice{ID: id, Text: text, Changes: s, Command: "lafs reachability --apply " + id})
	}
	natted := r.Verdict == VerdictNAT || r.Verdict == VerdictCGNAT
	if r.Verdict.Reachable() && !in.Storage {
		add(AdviceStorageReadOnly, "This node is reachable from the Internet. Run a storage server on it, read-only, so that storage "+
			"servers behind NAT can connect to it and the grid can use them: it stores nothing new, it only accepts their connections.",
			setting("storage", "enabled", "true"), setting("storage", "readonly", "true"))
	}
	if natted && in.Client && !strings.HasPrefix(in.HelperUse, "v0-") {
		switch {
		case len(in.Helpers) > 0:
			add(AdviceUseHelper, helperText(in)+fmt.Sprintf(" Apply to send every upload through the grid's helper %s.", short(in.Helpers[0])),
				setting("client", "helper", in.Helpers[0]))
		case in.HelperUse == "off":
			add(AdviceUseHelper, helperText(in)+" No helper is announced on this grid yet; apply (helper = auto) to use one as soon as one is.",
				setting("client", "helper", "auto"))
		}
	}
	fw, fwOK := forwardOf(in)
	if r.Verdict == VerdictNAT && in.Storage && fwOK {
		text := fmt.Sprintf("Storage servers behind NAT cannot be reached by the nodes that are not connected to them. "+
			"On your router, forward TCP port %d to this computer (%s port %d), then apply: tub.location becomes %s and the node "+
			"listens on all interfaces. The node announces it only once a peer has connected to it there.", fw.port, fw.lan, fw.port, fw.loc)
		if !hasForeign(in) {
			text = fmt.Sprintf("Peers see this node at its own address %s but cannot connect: allow incoming TCP port %d in "+
				"this computer's firewall, then apply: tub.location becomes %s.", fw.ext, fw.port, fw.loc)
		}
		add(AdvicePortForward, text, fw.changes()...)
	}
	// A client that reaches too few servers, with nothing between it and
	// the others: the grid needs a helper or a relay (a change on another
	// node), or this node must become reachable so that the servers behind
	// NAT connect to it (the change applied here). Behind CGNAT no forward
	// can work and use-relay says so.
	if r.Verdict == VerdictNAT && fewServers(in) && len(in.Helpers) == 0 && len(in.Relays) == 0 && fwOK {
		how := fmt.Sprintf("forward TCP port %d on your router to this computer (%s port %d) and apply", fw.port, fw.lan, fw.port)
		if !hasForeign(in) {
			how = fmt.Sprintf("allow incoming TCP port %d in this computer's firewall and apply", fw.port)
		}
		add(AdviceFewServers, "T"+serversFact(in)[1:]+", and no upload helper or relay is connected to carry between them: uploads fail, "+
			"and files stored on the servers it cannot reach cannot be read. Either a public node of this grid runs an upload helper "+
			"([helper] enabled = true in its tahoe.cfg) or a relay ([relay] enabled = true), which this node then uses by itself "+
			"(a helper with [client] helper = auto, the default); or "+how+": tub.location becomes "+fw.loc+", and once a peer has "+
			"connected to it there the storage servers behind NAT connect to this node.", fw.changes()...)
	}
	if natted && in.Storage {
		add(AdviceStorageOff, "Or turn this node's storage server off: a storage server nobody can connect to only helps the nodes it "+
			"connects to itself.", setting("storage", "enabled", "false"))
	}
	if r.Verdict == VerdictCGNAT {
		add(AdviceUseRelay, "This node is behind double NAT or your ISP's carrier-grade NAT: no port forward you make can reach it. "+
			"Nodes that cannot reach it use its own outgoing connections, and a relay (a public node of the grid) carries the rest. "+
			"Apply to stop checking and announce no address.", setting("node", "reachability", string(ModeOutboundOnly)))
	}
	if natted && in.Mode == ModePublic {
		add(AdviceReachabilityAuto, "[node] reachability = public makes this node announce tub.location, but no peer can connect to it "+
			"there. Let the node decide (auto): it then announces only addresses a peer has reached.",
			setting("node", "reachability", string(ModeAuto)))
	}
	if r.Verdict == VerdictNAT && in.UPnPDisabled {
		add(AdviceEnableUPnP, "Port mapping is turned off ([node] upnp = false). If your router offers UPnP or NAT-PMP, the node can "+
			"ask it to forward a port by itself.", setting("node", "upnp", "true"))
	}
	return out
}

// forward is a port forward to this node: what to forward and what to
// announce.
type forward struct {
	port uint16
	ext  netip.Addr // the address peers see: the router's outside one
	lan  string     // this computer on its home network
	loc  string     // tub.location
}

// forwardOf is the port forward that would make the node reachable, when
// its outside address and port are known.
func forwardOf(in Inputs) (forward, bool) {
	ext := publicSeen(in)
	if !ext.IsValid() || in.ListenPort == 0 {
		return forward{}, false
	}
	return forward{port: in.ListenPort, ext: ext, lan: lanAddr(in.Local),
		loc: "tcp:" + net.JoinHostPort(ext.String(), strconv.Itoa(int(in.ListenPort)))}, true
}

func (f forward) changes() []Setting {
	return []Setting{setting("node", "tub.port", "tcp:"+strconv.Itoa(int(f.port))), setting("node", "tub.location", f.loc),
		setting("node", "reachability", string(ModeAuto))}
}

// fewServers says whether the client reaches fewer storage servers than
// an upload needs (shares.happy).
func fewServers(in Inputs) bool { return in.Client && in.Happy > 0 && in.ServersReached < in.Happy }

// serversFact says how many storage servers the client reaches, of how
// many it needs and knows (evidence; the advice starts with it too).
func serversFact(in Inputs) string {
	s := fmt.Sprintf("this node reaches only %d of the %d storage servers an upload needs (shares.happy = %d)",
		in.ServersReached, in.Happy, in.Happy)
	if other := in.ServersKnown - in.ServersReached; other > 0 {
		s += fmt.Sprintf("; the other %d it knows of are not connected to it (servers behind NAT, or offline)", other)
	}
	return s
}

// helperText explains the helper with the numbers behind it.
func helperText(in Inputs) string {
	k, n := in.K, in.N
	if k <= 0 || n < k {
		k, n = 3, 10
	}
	bps, how := in.UplinkBps, "measured"
	if bps <= 0 {
		bps = DefaultUplinkBps
	}
	if !in.UplinkMeasured {
		how = "estimated (not measured)"
	}
	const gb = 1e9
	direct := gb * 8 * float64(n) / float64(k) / bps / 60
	helped := gb * 8 / bps / 60
	s := fmt.Sprintf("Other nodes cannot connect to this one, so it must reach every storage server itself. Upload through a "+
		"helper instead, a public node that erasure-codes and places the shares for you: with %d-of-%d encoding a direct upload "+
		"sends %.1f× the file's size, through a helper only 1×. At your %s uplink of %s, 1 GB takes ~%s direct vs ~%s via the "+
		"helper. The helper never sees your files' contents or keys.",
		k, n, float64(n)/float64(k), how, mbit(bps), minutes(direct), minutes(helped))
	return s
}

// helperGain is how many times faster an upload through a helper is: n/k.
func helperGain(in Inputs) float64 {
	if in.K <= 0 || in.N < in.K {
		return 10.0 / 3
	}
	return float64(in.N) / float64(in.K)
}

// mbit is a bandwidth for people: two significant digits at most ("19
// Mbit/s", "2.4 Mbit/s", "0.35 Mbit/s"), as a measurement deserves.
func mbit(bps float64) string {
	v := bps / 1e6
	prec := 0
	switch {
	case v < 1:
		prec = 2
	case v < 10:
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + " Mbit/s"
}

func minutes(m float64) string {
	if m < 1 {
		return "1 min"
	}
	return strconv.Itoa(int(m+0.5)) + " min"
}

// publicSeen is the address peers see for us that is not ours (the NAT's
// outside address), else the first one seen.
func publicSeen(in Inputs) netip.Addr {
	var first netip.Addr
	for _, o := range in.Observed {
		if o.Error != "" || !o.Address.IsValid() {
			continue
		}
		if !first.IsValid() {
			first = o.Address.Addr()
		}
		if !isLocal(in.Local, o.Address.Addr()) {
			return o.Address.Addr()
		}
	}
	return first
}

func hasForeign(in Inputs) bool {
	for _, o := range in.Observed {
		if o.Error == "" && o.Address.IsValid() && !isLocal(in.Local, o.Address.Addr()) {
			return true
		}
	}
	return false
}

// lanAddr is this computer's address on its home network, for the port
// forward's target.
func lanAddr(local []netip.Addr) string {
	for _, a := range local {
		if Classify(a) == ClassPrivate && a.Is4() {
			return a.String()
		}
	}
	for _, a := range local {
		if c := Classify(a); c != ClassLoopback && c != ClassLinkLocal && c != ClassOther {
			return a.String()
		}
	}
	return "this computer's address"
}

// Find returns the advice with id in r, or an error in user words that
// lists the IDs r offers.
func (r Report) Find(id string) (Advice, error) {
	var ids []string
	for _, a := range r.Advice {
		if a.ID == id {
			return a, nil
		}
		ids = append(ids, a.ID)
	}
	now := "this node has no advice now"
	if len(ids) > 0 {
		now = "the advice this node gives now: " + strings.Join(ids, ", ")
	}
	for _, k := range AllAdvice {
		if k == id {
			return Advice{}, fmt.Errorf("advice %q does not apply to this node now (verdict: %s); %s", id, r.Verdict, now)
		}
	}
	return Advice{}, fmt.Errorf("there is no advice %q; %s (all IDs: %s)", id, now, strings.Join(AllAdvice, ", "))
}
