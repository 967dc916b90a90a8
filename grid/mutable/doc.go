// Package mutable reads and writes Tahoe-LAFS mutable files, SDMF and MDMF,
// over storage.Server.
//
// A file is addressed by a write cap (URI:SSK: / URI:MDMF:) or read cap
// (…-RO:). Its shares are signed with the file's RSA key (2048 bits, PSS
// with SHA-256, MGF1-SHA-256, 32-byte salt — Tahoe's crypto/rsa.py) and
// laid out exactly as Tahoe's mutable/layout.py (see layout.go for where
// each field was checked). Every share a reader uses is checked: the
// verification key against the cap's fingerprint, the signature over the
// header, the share hash chain against the signed root, each block against
// the block hash tree. Bad shares are skipped and the good version used.
//
// Whole-file API, used by directories:
//
//	f, err := mutable.Create(ctx, servers, contents, mutable.Options{...})
//	data, ver, err := f.Read(ctx)
//	ver2, err := f.Replace(ctx, newContents, ver) // *ConflictError if someone else wrote since ver
//	f, err = mutable.Open(capString, servers, opts)
//
// MDMF files also support ReadAt (only the segments covering the range are
// fetched) and WriteAt (only the blocks of touched segments are rewritten;
// hash trees, signature and header change).
//
// Uncoordinated writes. Every write carries test vectors on the checkstring
// (version, seqnum, root hash[, salt]) each server held when the writer
// mapped the file, so a server accepts at most one of two racing writers.
// The servers are not mapped at one instant, so a writer may see shares of
// a version newer than the one it is based on (published by another writer
// after part of the map was taken); it leaves those servers alone rather
// than replace them (TestStaleWriterLeavesNewerSharesAlone), and then
// reports a conflict even when its own shares landed: two writers that
// each leave the other's servers alone never meet a test vector, and
// both succeeding would lose the change of the one readers do not pick
// (TestWritersLeavingEachOthersSharesCannotBothSucceed). The retry, based
// on the then-newest version, outranks the shares left and replaces them.
// A writer that loses on any server gets a *ConflictError (errors.Is
// ErrUncoordinated) carrying the version it was based on and the newest
// version it saw. Some of its shares may have landed (after a torn race a
// reader may see either writer's version), so the write counts as not done
// and its content is still in the caller's hands. Policy: the caller
// re-reads, merges (directories merge entries) and calls Replace again with
// the version it read, until Replace succeeds. No writer's content is lost:
// each write either succeeded or its content was handed back to its caller
// (TestConcurrentWritersLoseNothing). Replace with a zero Version overwrites
// whatever is newest (Tahoe's overwrite).
//
// Readers racing writers. A reader maps the servers (reading each share's
// signed prefix) and fetches the block hash trees and blocks after; a
// writer may replace the shares in between, and the fetched tree then
// disagrees with the mapped chain. A share that fails a check is re-read
// at its checkstring: if that is no longer the one mapped, the share
// changed and is not corrupt (no *storage.CorruptShareError, no
// AdviseCorrupt). A read or check whose version changed under it maps
// again after a jittered, growing pause, at most 10 times and 15 s
// (racePolicy), and then fails with ErrChangedWhileReading, which also
// matches storage.ErrNotEnoughShares so callers that retry reads keep
// doing so (TestReadOutlastsWritersWithoutCallingSharesCorrupt,
// TestReadLosingEveryRaceSaysChangedNotCorrupt).
//
// Large writes. A server's share write larger than Options.MaxWriteSize
// (default 16 MiB; node/gbs refuses read-test-write bodies over 32 MiB)
// goes in several read-test-write calls: the first call that touches a
// share writes its header (testing the old checkstring, replacing it with
// the new one), later calls test the new checkstring, and the signature
// goes last, so a share cut short fails the signature check and is
// skipped as corrupt, never read. Such a write goes in two waves when it
// replaces the version readers get now: the servers keeping k of that
// version's shares are written only once k new shares are complete, so a
// writer that dies mid-write leaves the old version readable (a repair
// then clears the leftovers). See writeServer and lastWave;
// TestTornLargeWriteNeverReadsWrongBytes.
//
// Key generation takes 100 ms or more: pass Options.Key (tests, vectors)
// or Options.Pool (a KeyPool generating in the background).
//
// Check maps the servers and reports the newest version's shares (with
// verify, every block of every share is checked); Repair publishes the
// newest contents again as the next version, as Tahoe's mutable repairer
// does, which needs the write cap.
//
// Not done here: lease renewal (leases are added by each write; renewal
// is grid/lease), MDMF writes that grow the file in place (those
// fall back to rewriting the whole file), and Tahoe's early stop of the
// servermap query (every server is asked; grids here are small).
package mutable
