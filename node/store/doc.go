// Package store is a storage server's share store on disk, in Tahoe-LAFS's
// layout, implementing storage.Server (docs/formats.md "Storage server
// containers"):
//
//	<dir>/shares/<first 2 chars of SI>/<SI>/<shnum>   complete shares
//	<dir>/shares/incoming/<SI>.<shnum>               uploads in progress
//	<dir>/corruption-advisories/                     reports from clients
//	<dir>/journal/                                   undo journals (ours; Tahoe ignores it)
//
// Immutable shares use Tahoe's v2 container (12-byte header, share data,
// 72-byte leases with BLAKE2b-hashed secrets; v1 containers are read too);
// mutable slots use the v2 mutable container. An upload is written under
// incoming/ and becomes visible only when complete, by fsync and rename,
// so a crash never leaves a partial share where readers look; leftovers in
// incoming/ are removed at start. An upload holds no open file between
// writes. incoming/ is flat (Tahoe nests it like shares/; nobody else
// reads it) and an allocation writes nothing: the file is made by the
// first write, so an upload costs no directory and an allocation no
// inode. A write of no bytes (node/gbs checks each request with one
// before reading its body) opens nothing. The container header goes out
// in the same pwritev(2) as the write at share offset 0 and the lease in
// the one that completes the share at its end (else each is written
// when the share completes): neither is read before the share leaves
// incoming/, and both are final when written. Share files are opened
// outside the runtime's poller (a regular file never blocks in it): no
// epoll_ctl and O_NONBLOCK fcntls per open. A new bucket directory is
// made with one mkdir (MkdirAll only when its prefix directory is
// missing), and its entry in the prefix directory is flushed too.
//
// Share data is never held in memory whole: reads, test vectors and
// writes go to the file at offsets, and only headers and leases are
// parsed. Mutable writes and lease changes are made in place, as Tahoe
// does, under an undo journal (journal.go): the bytes about to be
// overwritten are saved and fsynced first, so a read-test-write (or lease
// change) that fails, or is cut by a crash, leaves every share of the slot
// as it was, byte for byte (the journal is played back at once, or at the
// next Open). A growing share is extended sparsely; every byte a change
// may put on disk (growth, overwritten bytes, their copy in the journal)
// must fit in free space minus reserved_space, the check immutable
// allocations get.
//
// # Group commit
//
// On Linux (5.8 or later, where syncfs reports writeback errors) the
// stores of one process on one filesystem share a committer (commit.go)
// that makes complete immutable shares durable in batches instead of two
// fsyncs each: a finishing share's file is written whole (data, lease,
// then header) and closed, and the share waits in the queue; a batch is
// whatever queued while the previous one was flushed, at most 512. For a
// batch, in order: (1) one syncfs of the filesystem, so every file of the
// batch is on disk whole; (2) each file renamed into its bucket directory
// (made with one mkdir if new); (3) one syncfs, so the renames and new
// directories are on disk. Each share is reported stored only after (3).
//
// Why this keeps the promises: a share appears where readers look only by
// the rename in (2), after (1) made its complete bytes durable, so a crash
// at any point leaves each share absent or whole (what is left in
// incoming/ is removed at the next Open). A crash after (2) and before
// (3) may leave a share visible that its client was never told was stored
// — as a crash between the rename and the directory fsync always could.
// An error in (1) fails every share of the batch and leaves them uploads
// (writing their last bytes again retries); an error in (3) fails every
// share renamed in (2), which stay in place whole, their uploads over.
// syncfs reports every writeback error on the filesystem since the last
// call on the committer's directory descriptor, so an error in another
// file fails a batch too: spurious failures, never a false success. The
// committer holds that one descriptor while a store on the filesystem is
// open (a bound of one per filesystem, not per request). No goroutine: the
// first share to arrive runs the batch and hands the next one to the
// oldest waiter, so a request runs at most its own batch and waits for
// the one under way when it came (and more only behind 512 others).
//
// The cost: syncfs also writes out other programs' dirty data on that
// filesystem, which an fsync of one file on ext4 mostly does not, so a
// batch can wait on someone else's writes. Elsewhere (Windows, macOS,
// older Linux, stores spanning filesystems) each share is fsynced, renamed
// and its directories fsynced on its own, as before. Mutable writes and
// lease changes are not batched (undo journal, above).
//
// Where Tahoe is weaker we are stricter: a read-only store refuses mutable
// writes as well as new immutable shares, and everything a client can make
// the server keep is bounded.
//
// # Limits
//
//   - Mutable share: at most MaxMutableShareSize = 64 GiB of data (the
//     figure advertised as maximum-mutable-share-size), and no more than
//     free space minus reserved_space allows. Larger writes or new lengths
//     are ErrTooLarge, ones that do not fit ErrNoSpace, before anything is
//     allocated or written.
//   - Reads: ReadShare and ReadMutableShare return at most 64 MiB per call
//     (a full 64 MiB read means "maybe more"); the read vectors of one
//     read-test-write at most 64 MiB in all (else ErrTooLarge).
//   - Uploads in progress: at most Options.MaxUploads (DefaultMaxUploads =
//     1000) immutable shares allocated and not complete, from all clients
//     together; beyond it shares are not allocated, and a request that gets
//     none fails with ErrNoSpace ("uploads already in progress"). What they
//     may still write counts against free space. Idle uploads are dropped
//     after Options.IdleAbort (30 min, as Tahoe).
//   - File descriptors: an operation holds at most two files open at a
//     time, and none between requests.
//   - Leases: at most 1000 per share (more is ErrNoSpace); containers with
//     more than 65,536 are not parsed.
//   - Corruption advisories: each reason cut to 32,765 bytes (Tahoe's
//     limit) and 200 bytes in the log; at most 500 files and 4 MiB kept,
//     the oldest dropped; none written into reserved_space (ErrNoSpace).
package store
