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
package gbs
