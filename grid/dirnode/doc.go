// Package dirnode implements Tahoe-LAFS directories ("dirnodes"): the DIR2
// serialization of a directory's entries (pack.go, byte-compatible with
// Tahoe's dirnode.py) and directory operations over a mutable file, each a
// read-modify-write that re-reads and re-applies itself when another writer
// got in first, so concurrent writers never lose an entry, and retries
// with a growing back-off (bounded) when the read or write failed for a
// reason that may pass: servers unreachable or timing out, too few shares
// answering. Permanent failures (a malformed directory, a file not on the
// grid, a read-only cap, a full server) are returned at once.
//
// The format, in short: a directory is the concatenation of one netstring
// per child, in order of the (NFC-normalized) name; each child is four
// netstrings: the name (UTF-8), the read-only cap, the write cap encrypted
// under a key derived from the directory's write key (salt ‖ AES-CTR ‖
// MAC), and the metadata as JSON. Read-only holders cannot decrypt write
// caps and see only read caps. Immutable directories store no write caps.
//
// What it does not do: it does not interpret child caps (callers use
// grid/cap), and it does not create files; directories are made through a
// Client that owns the servers.
package dirnode
