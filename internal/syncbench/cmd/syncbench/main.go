// Command syncbench runs the folder sync benchmarks of issue 9 (make
// bench runs it through scripts/bench-sync.sh): LAFS Sync beside
// Syncthing, in the same run. See package syncbench.
//
//	syncbench -lafs bin/lafs -syncthing syncthing -work DIR [-steps latency,first,rss,idle]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lafssync/lafssync/internal/syncbench"
)

func main() {
	var (
		lafsBin     = flag.String("lafs", "bin/lafs", "the lafs binary")
		stBin       = flag.String("syncthing", "syncthing", "the syncthing binary (\"\": skip the Syncthing anchors)")
		work        = flag.String("work", "", "scratch directory (default: a new one under $TMPDIR, removed at the end)")
		steps       = flag.String("steps", "latency,first,rss,idle", "which benchmarks, comma-separated")
		systems     = flag.String("systems", "syncthing,lafs", "which products, comma-separated")
		edits       = flag.Int("edits", 200, "LAFS Sync latency: edits measured")
		stEdits     = flag.Int("syncthing-edits", 10, "Syncthing latency with its default watcher delay: edits measured (each takes ~the delay)")
		stFastEdits = flag.Int("syncthing-fast-edits", 30, "Syncthing latency with fsWatcherDelayS=1: edits measured (0: skip)")
		files       = flag.Int("files", 10000, "first sync: files in the tree")
		treeBytes   = flag.Int64("bytes", 1<<30, "first sync: bytes in the tree")
		bigBytes    = flag.Int64("big", 4<<30, "RSS: size of the one big file")
		idleFolders = flag.Int("idle-folders", 10, "idle CPU: folders")
		idleFiles   = flag.Int("idle-files", 10000, "idle CPU: files per folder")
		idleFor     = flag.Duration("idle-for", 60*time.Second, "idle CPU: measured over")
		settle      = flag.Duration("settle", 5*time.Minute, "idle CPU: quiet time after the first sync, before measuring (5 min: the folders poll at their quiet rate)")
		idleSetup   = flag.Duration("idle-setup", 15*time.Minute, "idle CPU: longest the first sync of all the folders may take")
		stepLimit   = flag.Duration("step-timeout", 8*time.Minute, "longest one product's step may take")
		apart       = flag.Bool("client-apart", false, "LAFS Sync: sync on a second, client-only node (lafs run) joined to the daemon's local grid, and measure it alone (first sync, RSS, idle CPU)")
	)
	flag.Parse()
	who := "the daemon: node and its local grid's 10 storage servers in one process"
	if *apart {
		who = "a client-only node (lafs run) apart from the daemon's local grid"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir := *work
	if dir == "" {
		d, err := os.MkdirTemp("", "syncbench-")
		if err != nil {
			fatal(err)
		}
		dir = d
		defer os.RemoveAll(d)
	}
	want := func(list, s string) bool {
		for _, x := range strings.Split(list, ",") {
			if strings.TrimSpace(x) == s {
				return true
			}
		}
		return false
	}
	st := want(*systems, "syncthing") && *stBin != ""
	lafs := want(*systems, "lafs")
	if st {
		out, err := exec(*stBin, "--version")
		if err != nil {
			fmt.Printf("syncthing: not runnable (%v): the Syncthing anchors are skipped\n", err)
			st = false
		} else {
			fmt.Printf("anchor: %s", out)
		}
	}
	if lafs {
		if p, err := filepath.Abs(*lafsBin); err == nil {
			*lafsBin = p
		}
		if _, err := os.Stat(*lafsBin); err != nil {
			fmt.Printf("lafs: %v: the LAFS Sync figures are skipped\n", err)
			lafs = false
		}
	}
	// step runs one product's part of a benchmark in its own scratch
	// directory, bounded by -step-timeout, and removes the directory.
	stepFor := func(name string, limit time.Duration, f func(ctx context.Context, dir string) error) {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			fatal(err)
		}
		sctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		t0 := time.Now()
		if err := f(sctx, d); err != nil {
			fmt.Printf("  %s: NOT MEASURED: %v (after %s)\n", name, err, time.Since(t0).Round(time.Second))
		}
		if err := os.RemoveAll(d); err != nil {
			fmt.Printf("  %s: removing %s: %v\n", name, d, err)
		}
	}
	step := func(name string, f func(ctx context.Context, dir string) error) { stepFor(name, *stepLimit, f) }
	// The idle step's first sync of 10 x 10,000 files takes longer than
	// one step may (5 min 24 s to 5 min 53 s on a loaded 2-core machine).
	idleLimit := *idleSetup + *settle + *idleFor
	tree := syncbench.Tree{Files: *files, Bytes: *treeBytes, Seed: 1}

	if want(*steps, "latency") {
		fmt.Printf("\n== 1. latency, a file's close to its new content readable by another device (goal for LAFS Sync: p50 < 1 s, p95 < 2 s)\n")
		fmt.Printf("  magic-folder (Tahoe-LAFS): polls every 60 s (its documented default, not measured here)\n")
		if st {
			step("syncthing-latency", func(ctx context.Context, d string) error {
				lat, delay, err := syncbench.SyncthingLatency(ctx, *stBin, d, *stEdits, 0, 60*time.Second)
				if len(lat) > 0 {
					fmt.Printf("  syncthing, default fsWatcherDelayS=%d (documented default 10 s): %s\n", delay, lat)
				}
				return err
			})
			if *stFastEdits > 0 {
				step("syncthing-latency-fast", func(ctx context.Context, d string) error {
					lat, delay, err := syncbench.SyncthingLatency(ctx, *stBin, d, *stFastEdits, 1, 30*time.Second)
					if len(lat) > 0 {
						fmt.Printf("  syncthing, fsWatcherDelayS=%d (its fastest setting): %s\n", delay, lat)
					}
					return err
				})
			}
		}
		if lafs {
			step("lafs-latency", func(ctx context.Context, d string) error {
				lat, err := syncbench.LAFSLatency(ctx, *lafsBin, d, *edits, 20*time.Second)
				if len(lat) > 0 {
					fmt.Printf("  LAFS Sync (second node reads the folder's read cap from the 10-server loopback grid): %s\n", lat)
				}
				return err
			})
		}
	}

	if want(*steps, "first") {
		fmt.Printf("\n== 2. first sync of %d files / %s (goal for LAFS Sync: <= 1.5x Syncthing's time)\n", tree.Files, syncbench.MB(tree.Bytes))
		var stRun, lafsRun syncbench.FirstSync
		if st {
			step("syncthing-first", func(ctx context.Context, d string) error {
				r, err := syncbench.SyncthingFirstSync(ctx, *stBin, d, tree, *stepLimit)
				if err == nil {
					stRun = r
					fmt.Printf("  syncthing, instance A (tree on disk) to empty instance B, loopback: %s (%.1f MB/s), CPU %s (both instances)\n", syncbench.Seconds(r.Took), float64(tree.Bytes)/1e6/r.Took.Seconds(), syncbench.Seconds(r.CPU))
				}
				return err
			})
		}
		if lafs {
			step("lafs-first", func(ctx context.Context, d string) error {
				r, err := syncbench.LAFSFirstSync(ctx, *lafsBin, d, tree, *apart, *stepLimit)
				if err == nil {
					lafsRun = r
					fmt.Printf("  LAFS Sync, lafs sync add to up-to-date, 3-of-10 on the 10-server loopback grid: %s (%.1f MB/s), CPU %s (%s)\n", syncbench.Seconds(r.Took), float64(tree.Bytes)/1e6/r.Took.Seconds(), syncbench.Seconds(r.CPU), who)
					if *apart {
						fmt.Printf("  the local grid's daemon (introducer, 10 storage servers) meanwhile: CPU %s\n", syncbench.Seconds(r.GridCPU))
					}
				}
				return err
			})
		}
		if stRun.Took > 0 && lafsRun.Took > 0 {
			fmt.Printf("  ratio LAFS Sync / Syncthing: %.2fx wall, %.2fx CPU\n", lafsRun.Took.Seconds()/stRun.Took.Seconds(), lafsRun.CPU.Seconds()/max(stRun.CPU.Seconds(), 0.001))
		}
	}

	if want(*steps, "rss") {
		fmt.Printf("\n== 4a. memory while one %s file syncs (goal for LAFS Sync: flat, < 150 MB)\n", syncbench.MB(*bigBytes))
		if st {
			step("syncthing-rss", func(ctx context.Context, d string) error {
				r, err := syncbench.SyncthingBigFile(ctx, *stBin, d, *bigBytes, *stepLimit)
				if err == nil {
					fmt.Printf("  syncthing, %s: sender %s\n", syncbench.Seconds(r.Took), r.Sender)
					fmt.Printf("  syncthing, receiver: %s\n", r.Receiver)
				}
				return err
			})
		}
		if lafs {
			step("lafs-rss", func(ctx context.Context, d string) error {
				r, err := syncbench.LAFSBigFile(ctx, *lafsBin, d, *bigBytes, *apart, *stepLimit)
				if r.Samples > 0 {
					fmt.Printf("  LAFS Sync (%s), %s: %s\n", who, syncbench.Seconds(r.Took), r.MemoryReport)
				}
				return err
			})
		}
	}

	if want(*steps, "idle") {
		idle := syncbench.Tree{Files: *idleFiles, Bytes: int64(*idleFiles) * 32, Seed: 100, Fixed: true}
		fmt.Printf("\n== 4b. idle CPU with %d folders of %d files each, over %s after the first sync (goal for LAFS Sync: < 1%% of a core)\n", *idleFolders, idle.Files, *idleFor)
		if st {
			stepFor("syncthing-idle", idleLimit, func(ctx context.Context, d string) error {
				c, err := syncbench.SyncthingIdle(ctx, *stBin, d, *idleFolders, idle, *settle, *idleFor, *idleSetup)
				if err == nil {
					fmt.Printf("  syncthing instance A (its folders shared with B): %s\n", c)
				}
				return err
			})
		}
		if lafs {
			stepFor("lafs-idle", idleLimit, func(ctx context.Context, d string) error {
				c, err := syncbench.LAFSIdle(ctx, *lafsBin, d, *idleFolders, idle, *settle, *idleFor, *apart, *idleSetup)
				if err == nil {
					fmt.Printf("  LAFS Sync (%s): %s\n", who, c)
				}
				return err
			})
		}
	}
}

func exec(bin string, args ...string) (string, error) {
	return syncbench.Output(bin, args...)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "syncbench:", err)
	os.Exit(1)
}
