// Package immutable uploads, downloads, checks, verifies and repairs
// immutable (CHK and LIT) files over storage.Server: it picks servers on the
// permuted ring, places shares for servers-of-happiness, streams segments
// to and from servers with bounded concurrency, and switches to other
// shares when one is corrupt, missing or slow. The format itself is
// grid/chk; this package owns the conversation with servers.
//
// An upload of a file new to the grid costs two requests per server:
// one allocation (placed as if no server held a share, which the
// allocation answers confirm) and the share's bytes. Each server's
// version answer (its limits and free space) is kept between uploads by
// a VersionCache. Only when a server already holds a share of the file,
// refuses, or fails does the upload ask every server what it holds and
// place again (upload.go, allocate).
package immutable
