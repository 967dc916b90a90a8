// Package history is the tray app's History window: pick a folder, find a
// file (search the folder's files, or type any path: a deleted file's
// too), see the versions the grid keeps of it (when, size, which device
// wrote it, which one was deleted) and restore one.
//
// Restoring goes through the engine's Restore (syncer.Manager.Restore):
// the version is downloaded to a temporary file beside the file and
// renamed into place; a file already at that name is first renamed to a
// conflict copy (NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.EXT), never
// overwritten. The window says where the restored file went and, when
// there was one, the name the current file was kept under (it is listed
// in the Conflicts window). The restored file then syncs as a new change.
//
// Deleted files are under the Deleted tab: the engine's Deleted
// (syncer.Manager.Deleted, which reads the grid's .lafssync/history
// shards) lists the folder's files that were deleted and whose versions
// the grid still keeps, newest delete first, with who deleted them, when
// and their last size. It lists at most remote.MaxDeleted (the tab says
// when the list was cut); an older one is still found by typing its path.
// Picking one shows its versions, to restore as any file's.
//
// What it does not do: the current version (N = 0) is not restorable: it
// is what the folder already has (the engine's Restore treats 0 as "the
// most recent previous version"). The Deleted tab is read when the folder
// is chosen: a file restored since stays listed until the folder is
// chosen again.
package history
