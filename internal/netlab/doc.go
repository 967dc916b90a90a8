// Package netlab builds small networks out of Linux network namespaces for
// tests: hosts on a public LAN, NAT routers (masquerade with a stateful
// forward filter that drops every new inbound connection), DNAT port
// forwards, double NAT with carrier-grade (100.64.0.0/10) addressing
// between the routers, and a rate limit on a host's uplink.
//
// A Lab belongs to one test: every namespace it creates carries the lab's
// prefix (nl-PID-RAND-), is deleted by t.Cleanup together with every
// process still running in it, and namespaces left behind by a test
// process that no longer runs are deleted when the next Lab starts. The
// topology is built from veth pairs and Linux bridges entirely inside the
// namespaces: nothing is added to the root namespace, so labs of tests
// running in parallel (across packages) cannot collide.
//
// Every external command runs with a bounded timeout. New skips the test
// when the process is not root or when ip, nft or tc is missing (Skip
// reports what to install: make deps).
//
// The public LAN uses a range outside every private and reserved one (by
// default 11.11.0.0/24; see PublicCIDR) so that a node on it sees an
// address it can call public and miniupnpd agrees to map ports behind it;
// the LANs behind routers use RFC 1918 or CGNAT addresses. Router.StartUPnP
// runs Debian's miniupnpd (UPnP-IGD, NAT-PMP and PCP) in a router.
//
// What it deliberately does not do: IPv6, UDP NAT behaviour variants
// (full cone, symmetric), or anything outside Linux.
package netlab
