// Package nodedir guards a node directory against a second process: one
// running node (or tray app, or embedded grid) per directory, enforced
// with an OS file lock on DIR/lafs.lock that holds the holder's PID.
//
// The lock is advisory and released by the kernel when the process ends
// (kill -9 included), so a stale lock file never blocks a restart. It is
// taken before anything in the directory is changed: ports in tahoe.cfg,
// node.url, the sweep of temporary and incoming files.
//
// It does not lock against tools that only read the directory or talk to
// the running node's web API (lafs put, get, ls, status).
package nodedir
