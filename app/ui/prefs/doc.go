// Package prefs is the tray app's Preferences window: the synced folders
// (name, local path; remove with a confirmation that says the files and
// the grid copy are kept), the encoding (k, happy, n, validated
// 1 ≤ k ≤ happy ≤ n ≤ 256, with what they mean), the upload helper
// (automatic, off, or a named one), the storage server (off, on,
// read-only, reserved space), and start at login.
//
// Node settings are tahoe.cfg's: Config reads them and saves only the
// keys the user changed, through config.Edit (checked by node/config's
// loaders before anything is written, the old file kept as tahoe.cfg.bak,
// replaced atomically). The running node reads tahoe.cfg when it starts,
// so saved settings take effect after a restart, and the window says so.
// Folder removal and start at login take effect at once.
//
// Bandwidth limits are not offered: the node has no such setting
// (node/config), and the window says so instead of showing a control
// that does nothing.
package prefs
