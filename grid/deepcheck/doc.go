// Package deepcheck checks (and optionally verifies and repairs) every
// object reachable from a root cap, as Tahoe's deep-check does: it walks
// the tree with grid/walk and checks each immutable object with
// grid/immutable and each mutable one with grid/mutable, and tallies the
// results Tahoe prints.
//
// Repair of immutable files regenerates missing shares; repair of mutable
// files and directories publishes the newest version again (Tahoe's
// mutable repairer), which needs the write cap: a mutable object reached
// only through a read cap is reported as not repairable. LIT objects have
// no shares and, as in Tahoe, are not counted. Results carry paths, kinds
// and storage indexes, never caps.
package deepcheck
