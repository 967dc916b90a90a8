// Package store is a storage server's share store on disk, in Tahoe-LAFS's
// layout, implementing storage.Server (docs/formats.md "Storage server
// containers"):
//
//	<dir>/shares/<first 2 chars of SI>/<SI>/<shnum>   complete shares
//	<dir>/shares/incoming/<prefix>/<SI>/<shnum>       uploads in progress
//	<dir>/corruption-advisories/                     reports from clients
//
// Immutable shares use Tahoe's v2 container (12-byte header, share data,
// 72-byte leases with BLAKE2b-hashed secrets; v1 containers are read too);
// mutable slots use the v2 mutable container. An upload is written under
// incoming/ and becomes visible only when complete, by fsync and rename,
// so a crash never leaves a partial share where readers look; leftovers in
// incoming/ are removed at start. Mutable writes build the new container
// in a temporary file and rename it over the old one.
//
// Where Tahoe is weaker we are stricter: a read-only store refuses mutable
// writes as well as new immutable shares.
package store
