// Package portmap asks the home router to forward the node's TCP port:
// UPnP-IGD (github.com/huin/goupnp: WANIPConnection:2, WANIPConnection:1
// and WANPPPConnection:1) and NAT-PMP (RFC 6886, github.com/jackpal/go-nat-pmp,
// which a PCP router such as miniupnpd also answers).
//
// Start discovers a gateway with both protocols at once, each bounded by
// Options.Timeout (3 s by default), maps the node's port (the same port
// outside when the router allows it), learns the external address, and
// keeps the mapping alive: it is renewed at half its lifetime, re-made
// after a router restart, and removed by Close. When no router answers the
// error says so in plain words ("no UPnP router answered in 3 s; no
// NAT-PMP answer from 192.168.1.1: connection refused"), and *Error lets a
// caller tell "nothing to map with" from a router that refused.
//
// A mapping is a claim by the router, not proof that the port is
// reachable: the router may itself be behind NAT (double NAT, CGNAT), in
// which case the external address it reports is not public. Callers
// (node/nat) announce a mapped address only after a dial-back confirms it.
// Options.Disabled is the user's "[node] upnp = false": Start then
// returns ErrDisabled without sending anything.
//
// Not done: PCP's own message format (PCP-only routers are not spoken
// to), IPv6 pinholes, UDP mappings, and gateway discovery for NAT-PMP
// outside Linux without UPnP (Options.Gateway names it there).
package portmap
