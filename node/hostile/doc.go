// Package hostile is the hostile-peer test suite: it starts a real
// `lafs daemon` (ten storage servers, the introducer and the client node
// in one process, what `make run` starts) and attacks its storage servers
// the way any grid member could — every client knows a server's NURL,
// swissnum included — while a normal client keeps uploading and
// downloading through the running node.
//
// The attacks are those of issue 13: mutable read-test-write vectors at
// offset 2^40, a new-length of 2^40 and a body of hundreds of megabytes;
// upload-chunk PATCHes announcing 64 MiB whose bodies trickle at 1 byte/s
// against nonexistent uploads, wrong upload secrets and real uploads;
// allocations that would each hold 256 files open; thousands of corruption
// advisories with 32 KiB reasons; Range and Content-Range values that wrap
// 64-bit arithmetic; 500 idle TCP connections; and slowloris requests that
// send their headers one byte a second.
//
// The suite asserts what a user would notice: the node process stays up,
// its resident memory stays under 300 MB and its open file descriptors
// under a stated bound while under attack, each attack is refused with the
// status the protocol calls for (or cut off within the node's deadlines),
// and every normal put and get succeeds with the right bytes. It runs in
// `make test` on Linux (it reads /proc) and needs nothing but loopback.
//
// The package has no code outside its tests; docs/security.md lists the
// limits the node enforces.
package hostile
