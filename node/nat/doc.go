// Package nat finds out whether other nodes can reach this one, and says
// in plain words what to do when they cannot.
//
// Detection (Detector.Gather) collects facts: the node's local interface
// addresses, classified (public, private RFC 1918 / ULA, carrier-grade
// NAT 100.64/10, loopback, link-local); the address each connected peer
// observes for us (GET /reach/observed on the peer); a port mapping on
// the router, if a Mapper holds one; and a dial-back test, AutoNAT style:
// connected peers are asked to open a new connection to each address we
// would announce (POST /reach/dialback) and to say whether the node that
// answered proved our key. Decide turns the facts into a Report: a
// Verdict with its evidence, the addresses that may be announced, and
// Advice, each with a stable ID and the tahoe.cfg change Apply makes.
//
// Server answers those two requests for peers. It never dials an address
// whose IP is not the caller's own IP as we see it (no amplification, no
// port scans of third parties), one check at a time per peer, a few a
// minute, each bounded in time and in request size.
//
// Port mapping (UPnP-IGD, NAT-PMP, PCP) is not done here: a Mapper
// (node/portmap) is plugged in. Relays and helpers read the Report.
// docs/reachability.md describes the rules.
package nat
