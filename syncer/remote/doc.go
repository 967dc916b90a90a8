// Package remote is a synced folder's side on the grid, in the layout of
// docs/sync-format.md: a plain Tahoe directory tree (files as CHK/LIT
// entries with size/mtime/mode and a "lafssync" metadata key, subfolders
// as mutable directories) plus the hidden ".lafssync" entry holding the
// folder's generation and change journal ("state", for O(1) polls) and
// its history (previous versions and tombstones).
//
// A Folder is opened from its root cap (write cap: read-write; read cap:
// read-only, ErrReadOnly on writes). The engine uses it as:
//
//   - Poll: read .lafssync/state only (constant server requests), learn
//     the generation and which directories changed since the last one;
//   - List / Walk: read directories (.lafssync never appears; entries with
//     a cap that is not a file or a mutable directory come back with
//     Entry.Bad set, for status);
//   - Upload, then Commit: link the new caps into one directory in one
//     publish, each op tested against the version it was based on (the
//     test turns a concurrent change into a conflict the engine sees); the
//     replaced and deleted versions go to history first, then state gets
//     a new generation;
//   - History, Tombstone, Download: restore and delete decisions;
//   - Snapshot: a frozen DIR2-CHK copy to share.
//
// The implementation: folder.go (Create, Open, List, Walk, path
// resolution), commit.go (Commit), state.go (Poll and the journal),
// history.go (History, Tombstone, retention), files.go (Upload, Download,
// Snapshot), meta.go (the entry-metadata codec, hostile-input safe).
// gridtest is the in-memory Grid the engine's tests use.
//
// What it does not do: it keeps no local state (the engine's database
// does) and caches only the caps under .lafssync and the history shards;
// every directory is read afresh, so a directory another device replaced
// is never written through a stale cap. It does not schedule, retry
// uploads, or decide conflicts: it reports what it found.
package remote
