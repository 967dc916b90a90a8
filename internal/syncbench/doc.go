// Package syncbench measures the folder sync for make bench (issue 9),
// each figure beside an anchor measured in the same run: LAFS Sync's
// daemon (lafs daemon, its embedded 10-server loopback grid, and a second
// node reading the grid) against two Syncthing instances syncing the same
// data between them on loopback.
//
// It drives both products only from the outside, as a user would: their
// binaries, their config files, their HTTP APIs, and the files in the
// synced folders. Processes are measured through /proc (Linux only):
// VmRSS/VmHWM from /proc/PID/status, utime+stime from /proc/PID/stat.
//
// What it measures (cmd/syncbench runs them, scripts/bench-sync.sh wires
// them into make bench, docs/benchmarks.md keeps the figures):
//
//   - latency: from a file's close on one device to its new content being
//     readable by another (for LAFS Sync: a second node reading the
//     folder's read cap from the grid; for Syncthing: the file's content on
//     the other instance's disk), p50 and p95;
//   - first sync of a generated tree (10,000 files, 1 GiB, deterministic
//     content) into an empty grid folder / an empty peer;
//   - RSS of the syncing process while one 4 GiB file syncs;
//   - idle CPU with 10 folders of 10,000 files each after the first sync.
//
// It deliberately never opens a port except on 127.0.0.1, never runs as
// part of make test (only its small unit tests do), and bounds every step
// with a timeout.
package syncbench
