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
// The public LAN uses a public-looking range (by default 198.18.0.0/24,
// the benchmarking range of RFC 2544, which Go and node/nat do not treat
// as private) so that a node on it sees an address it can call public;
// the LANs behind routers use RFC 1918 or CGNAT addresses.
//
// What it deliberately does not do: IPv6, UDP NAT behaviour variants
// (full cone, symmetric), or anything outside Linux.
package netlab
