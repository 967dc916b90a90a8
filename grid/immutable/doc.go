// Package immutable uploads, downloads, checks, verifies and repairs
// immutable (CHK and LIT) files over storage.Server: it picks servers on the
// permuted ring, places shares for servers-of-happiness, streams segments
// to and from servers with bounded concurrency, and switches to other
// shares when one is corrupt, missing or slow. The format itself is
// grid/chk; this package owns the conversation with servers.
package immutable
