// Package helper is an upload helper, Tahoe-LAFS's idea extended to all
// four operations, for clients that cannot reach enough storage servers
// themselves (behind NAT, on a slow uplink):
//
//   - Immutable upload: the client derives the convergent key, encrypts,
//     and sends the ciphertext once; the helper spools it to disk
//     (resumable: an interrupted client asks how much is there and sends
//     the rest), checks it against the client's crypttext hash, erasure-
//     codes it with grid/chk's ciphertext encoder, places the shares by
//     servers of happiness and returns the UEB, from which the client
//     forms the cap after checking the UEB against its own hashes. A file
//     already on the grid is not sent at all (Tahoe's check).
//   - Download, mutable upload and mutable download: the helper forwards
//     the client's GBS storage calls to an announced storage server the
//     client cannot reach; the client uses that server "via the helper"
//     (Client.StorageVia with gbs.DialOver).
//
// The helper never sees plaintext, a read key or a write key. Its routes
// live on the peer mux under /helper/v1/ and serve only nodes connected
// over the transport, whose node ID is the client's identity for limits
// and spool files. The protocol, the limits and the security argument are
// in docs/helper.md. Client and Server are the two ends; node/fullnode
// wires them to [helper] enabled and [client] helper.
//
// It does not relay arbitrary traffic (node/relay), does not keep shares
// (it is no storage server) and does not hold files after they are placed.
package helper
