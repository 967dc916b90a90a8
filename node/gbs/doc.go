// Package gbs implements Tahoe-LAFS's HTTP storage protocol ("Great Black
// Swamp"): a server that exposes any storage.Server over HTTPS, and a
// client that is a storage.Server talking to any GBS server — ours or a
// real Tahoe-LAFS 1.19+ storage node (../../docs/formats.md "HTTP storage
// protocol").
//
// The wire details follow Tahoe's implementation (not only its spec):
// NURLs pb://<spki-hash>@host:port/<swissnum>#v=1 with no "tcp:" prefix;
// TLS pinned to the SHA-256 of the server certificate's SubjectPublicKeyInfo
// (no CA, dates ignored); "Authorization: Tahoe-LAFS <base64 swissnum>" on
// every request and the exact set of X-Tahoe-Authorization secrets each
// endpoint requires; CBOR bodies with tag-258 sets; byte-string keys in
// the version response; Range/Content-Range and the status codes of
// Tahoe's server.
//
// Messages (wire.go) are separate from transport (server.go, client.go).
//
// # Limits
//
// Every client holding the swissnum can reach the server, so what one of
// them can make it hold is bounded (limits.go, serve.go):
//
//   - Requests: at most 128 served at once per Server (Limits.MaxRequests);
//     the next waits up to 10 s for a slot, then gets 503 with Retry-After.
//   - Memory: request and response bytes held in memory are charged to a
//     budget of 128 MiB shared by every Server in the process
//     (Limits.Memory), waited for up to 10 s, then 503. A share upload
//     chunk costs at most 1 MiB (it is streamed into the share), a share
//     read the range it asks for (at most 64 MiB), a read-test-write three
//     times its body (the body, the decoded data, the decoded vectors).
//   - Read-test-write bodies: at most 32 MiB (Limits.MaxRTWBody), 413 past
//     it. Tahoe's clients and ours send a mutable share whole in one
//     request (ours: every share a server holds), so a mutable file's
//     shares on one server must fit: a file of about 96 MiB at 3-of-N with
//     one share per server. Tahoe's server allows 2^48 and reads the body
//     into memory. Read vectors may ask for at most 64 KiB per share, as
//     the answer repeats them for every share of the slot; clients read the
//     41-byte checkstring. Decoding allows 256 shares and 4096 vectors of a
//     kind per share.
//   - Upload chunks: a PATCH is checked first (the upload exists, the secret
//     matches, the Content-Range lies inside the allocation) with a write
//     of no bytes, before any of its body is read; a chunk is at most
//     64 MiB and streamed through a 1 MiB buffer.
//   - Body and response deadlines: a request body or a share read's response
//     that makes no progress for 30 s (Limits.BodyIdle), or that averages
//     under 4 KiB/s once 30 s have passed (Limits.MinRate, BodyGrace), is cut
//     (408 for a body). They are set through http.ResponseController, which
//     plain TLS connections and node/transport's yamux streams both honour.
//   - Ranges: Range and Content-Range must be single "first-last" byte
//     ranges with last < 2^64-1 (416 otherwise), so that no end wraps.
//   - Connections (Serve): at most 512 open (MaxConns), so file descriptors
//     are bounded; at the limit the longest-idle connection, or one that has
//     sent nothing for 2 s, is closed for the newcomer. Headers (and the TLS
//     handshake) must arrive within 20 s (ReadHeaderTimeout); keep-alive
//     connections close after 2 minutes without a request (IdleTimeout).
//     Over node/transport, connections and streams are bounded there.
//   - Errors of the HTTP server (accept failures such as EMFILE, broken
//     handshakes, panics) go to the Server's logger at warn level, at most
//     10 lines then one per 10 s (node/httplog); net/http backs off
//     accept errors up to 1 s.
package gbs
