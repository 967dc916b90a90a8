// Package conflicts is the tray app's Conflicts window: every conflict
// copy in every synced folder (the original's path, the copy, when and on
// which device it was made), each with Keep mine, Keep theirs and Keep
// both, done as safe file operations in the user's folder.
//
// Which copies are listed: the engine (syncer/folder) names a conflict
// copy NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.EXT (docs/sync-format.md)
// and reports the ones it made in FolderStatus.Conflicts, but that list
// lives in memory, only grows, and knows nothing of copies that arrived
// from other devices (a copy syncs like any file). So the window lists the
// conflict copies found on disk in each folder, with the engine's record
// for the time where it has one; a copy that is no longer there is
// resolved, whoever removed or renamed it (this window, the user in a file
// manager, another device).
//
// Mine and theirs: a copy holds the version of the device named in it
// (that device found its own edit in conflict and moved it aside). A copy
// named with this computer's device ID is "mine" and the file at the
// original name "theirs"; a copy named with another device is "theirs"
// and the file at the original name "mine".
//
// What each choice does (Resolver):
//   - The original's side wins: the copy is removed. If the copy is the
//     grid's current version of its path (size and mtime match the grid's
//     entry), the engine's delete keeps it in the grid's history (the
//     History window shows it, as a deleted file, by its path). If it is
//     not on the grid yet (not uploaded, a read-only folder), it is first
//     moved to Options.KeepDir; with no KeepDir the choice is refused.
//   - The copy's side wins: the copy is renamed over the original, one
//     atomic rename (no moment without a file at the original name). The
//     replaced original is recoverable the same way: from the grid's
//     history if it was the grid's current version (the engine's upload of
//     the change moves it there), else it is first copied into KeepDir
//     (through a temporary file and a rename).
//   - Keep both: the copy is renamed, without replacing anything, to
//     "NAME (kept from DEVICE YYYY-MM-DD HHMMSS).EXT" beside the original:
//     an ordinary file from then on, so the conflict is resolved and both
//     versions sync.
//
// What it does not do: merge contents, show differences, or resolve a
// conflict the engine reported as an error (more than five copies of one
// file): resolving copies lets the engine sync that file again.
package conflicts
