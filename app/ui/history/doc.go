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
// What it does not do: list deleted files. The engine keeps their
// versions and tombstones in the grid's .lafssync/history, one shard per
// directory named by a hash of the directory's path, but neither
// syncer.Manager nor remote.Folder has a call that lists a shard's
// entries: History takes an exact path. So the window's file list is the
// files in the local folder, and a deleted file is found by typing its
// path. The current version (N = 0) is not restorable: it is what the
// folder already has (the engine's Restore treats 0 as "the most recent
// previous version").
package history
