// Package relay lets two nodes that cannot dial each other connect through
// a third node both reach (docs/relay.md).
//
// A node behind NAT holds a reservation on a public relay: a stream over
// its ordinary transport connection to the relay, kept open, on which the
// relay tells it of incoming requests. Another node asks the relay to
// connect it to that node; the relay signals the reservation, the node
// opens an accept stream, and the relay splices the two streams. The two
// nodes then run their own transport handshake over the spliced bytes —
// TLS 1.3 with each other's keys pinned — so the relay forwards records it
// can neither read nor forge (transport.DialOver, transport.ServeOver).
//
// Every exchange is an HTTP/1.1 Upgrade (101 Switching Protocols) over the
// transport's yamux streams, so the relay lives beside storage and the
// introducer on the one connection between two nodes:
//
//	GET /relay/v1/reserve            → 101, then "connect TOKEN FROMID\n" lines from the relay
//	GET /relay/v1/connect?peer=ID    → 101 once the peer accepted, then the peer's bytes
//	GET /relay/v1/accept?token=TOKEN → 101, then the requester's bytes
//
// Only nodes the relay's Members says are announced on the grid may
// reserve or connect, and only over a direct connection (no relay
// chains). Limits bound reservations, circuits (in total and per node),
// each circuit's rate, duration and bytes, and the time a requester waits.
//
// Not done here: direct-connection upgrade by coordinated simultaneous
// open (libp2p's DCUtR).
package relay
