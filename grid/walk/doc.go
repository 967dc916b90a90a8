// Package walk visits every object reachable from a root cap: the root,
// and for each directory (mutable or immutable) its children, recursively.
//
// Each object is visited once, however many links lead to it: objects are
// identified by storage index (LIT caps, which have none, by their
// contents), so a mutable directory that links to itself or an ancestor
// ends the descent instead of looping. Directories are listed by a small
// Lister interface (Grid is the one over the real directory clients) with
// bounded concurrency; a directory that cannot be read is reported to the
// visit function with the error and the walk goes on.
//
// What it does not do: it does not check, download or lease anything
// itself (see grid/deepcheck and grid/lease), and it does not promise an
// order: with concurrency the visits interleave.
package walk
