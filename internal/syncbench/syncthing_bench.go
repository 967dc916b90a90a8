package syncbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// SyncthingFirstSync times the first sync of tree from instance a (the
// tree already on its disk) to an empty folder on instance b, from the
// moment both have the folder to b holding every file: a's scan and
// hashing included, as LAFS Sync's first sync includes its own.
func SyncthingFirstSync(ctx context.Context, bin, work string, tree Tree, limit time.Duration) (FirstSync, error) {
	var r FirstSync
	a, b, err := Pair(ctx, bin, work)
	if err != nil {
		return r, err
	}
	defer a.Stop()
	defer b.Stop()
	src, dst := filepath.Join(work, "tree-a"), filepath.Join(work, "tree-b")
	total, err := tree.Write(src)
	if err != nil {
		return r, err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return r, err
	}
	c0, err := cpuOf(a.PID(), b.PID())
	if err != nil {
		return r, err
	}
	start := time.Now()
	if err := b.AddFolder(ctx, "tree", dst, 0, a); err != nil {
		return r, err
	}
	if err := a.AddFolder(ctx, "tree", src, 0, b); err != nil {
		return r, err
	}
	if err := b.WaitInSync(ctx, "tree", tree.Files, total, limit); err != nil {
		return r, err
	}
	r.Took = time.Since(start)
	c1, err := cpuOf(a.PID(), b.PID())
	if err != nil {
		return r, err
	}
	r.CPU = c1 - c0
	if err := tree.Verify(dst); err != nil {
		return r, fmt.Errorf("syncthing's copy: %w", err)
	}
	return r, nil
}

// SyncthingLatency edits files in a's folder n times, one at a time, and
// measures each edit's close to its content on b's disk (polled every
// 5 ms). watcherDelayS 0 keeps the default fsWatcherDelayS; the delay in
// effect is returned.
func SyncthingLatency(ctx context.Context, bin, work string, n, watcherDelayS int, perEdit time.Duration) (Latencies, int, error) {
	a, b, err := Pair(ctx, bin, work)
	if err != nil {
		return nil, 0, err
	}
	defer a.Stop()
	defer b.Stop()
	src, dst := filepath.Join(work, "edits-a"), filepath.Join(work, "edits-b")
	if err := WriteEditFiles(src); err != nil {
		return nil, 0, err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, 0, err
	}
	delay := a.WatcherDelayS
	if watcherDelayS > 0 {
		delay = watcherDelayS
	}
	if err := b.AddFolder(ctx, "edits", dst, watcherDelayS, a); err != nil {
		return nil, 0, err
	}
	if err := a.AddFolder(ctx, "edits", src, watcherDelayS, b); err != nil {
		return nil, 0, err
	}
	if err := b.WaitInSync(ctx, "edits", len(EditPaths), int64(len(EditPaths))*EditSize, 2*time.Minute); err != nil {
		return nil, delay, err
	}
	// The watcher starts after the folder's first scan; give it a moment
	// past a's own "idle" so the first edit is not missed.
	if err := a.WaitInSync(ctx, "edits", len(EditPaths), int64(len(EditPaths))*EditSize, time.Minute); err != nil {
		return nil, delay, err
	}
	time.Sleep(time.Second)
	var lat Latencies
	for i := range n {
		if err := Edit(src, i); err != nil {
			return lat, delay, err
		}
		start := time.Now()
		want := EditContent(i)
		target := filepath.Join(dst, filepath.FromSlash(EditPath(i)))
		err := poll(ctx, perEdit, 5*time.Millisecond, fmt.Sprintf("edit %d of %s on the other instance", i, EditPath(i)), func() (bool, error) {
			return hasContent(target, want), nil
		})
		if err != nil {
			return lat, delay, err
		}
		lat = append(lat, time.Since(start))
	}
	return lat, delay, nil
}

// SyncResources is the memory of the two processes while a big file
// syncs, and how long it took.
type SyncResources struct {
	Took             time.Duration
	Sender, Receiver MemoryReport
}

// SyncthingBigFile syncs one file of size bytes from a to b, sampling
// both processes' memory every 200 ms from the folder's adding to b
// holding the file.
func SyncthingBigFile(ctx context.Context, bin, work string, size int64, limit time.Duration) (SyncResources, error) {
	var r SyncResources
	a, b, err := Pair(ctx, bin, work)
	if err != nil {
		return r, err
	}
	defer a.Stop()
	defer b.Stop()
	src, dst := filepath.Join(work, "big-a"), filepath.Join(work, "big-b")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return r, err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return r, err
	}
	if err := WriteFile(filepath.Join(src, "big.bin"), 4, size); err != nil {
		return r, err
	}
	ma, mb := SampleMemory(a.PID(), 200*time.Millisecond), SampleMemory(b.PID(), 200*time.Millisecond)
	start := time.Now()
	err = b.AddFolder(ctx, "big", dst, 0, a)
	if err == nil {
		err = a.AddFolder(ctx, "big", src, 0, b)
	}
	if err == nil {
		err = b.WaitInSync(ctx, "big", 1, size, limit)
	}
	r.Took = time.Since(start)
	r.Sender, r.Receiver = ma.Stop(), mb.Stop()
	return r, err
}

// IdleCPU is a process's CPU use over a quiet period.
type IdleCPU struct {
	Over    time.Duration
	CPU     time.Duration
	Percent float64 // of one core
	Setup   time.Duration
}

func (c IdleCPU) String() string {
	return fmt.Sprintf("%.2f%% of a core (%s of CPU in %s; first sync of the folders took %s)", c.Percent, c.CPU, c.Over.Round(time.Second), c.Setup.Round(time.Second))
}

// measureIdle reads pid's CPU time over d.
func measureIdle(ctx context.Context, pid int, d time.Duration) (IdleCPU, error) {
	c0, err := ReadCPU(pid)
	if err != nil {
		return IdleCPU{}, err
	}
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return IdleCPU{}, ctx.Err()
	case <-time.After(d):
	}
	c1, err := ReadCPU(pid)
	if err != nil {
		return IdleCPU{}, err
	}
	over := time.Since(t0)
	return IdleCPU{Over: over, CPU: c1 - c0, Percent: 100 * (c1 - c0).Seconds() / over.Seconds()}, nil
}

// SyncthingIdle shares folders folders of tree between a and b, waits
// until both hold them in sync, lets them settle, then measures a's CPU
// over d. Both start with the tree on disk (Syncthing then only scans and
// exchanges indexes instead of pulling 100,000 small files with an fsync
// each, which would take most of make bench's time): the idle state at
// the end is the same.
func SyncthingIdle(ctx context.Context, bin, work string, folders int, tree Tree, settle, d, limit time.Duration) (IdleCPU, error) {
	a, b, err := Pair(ctx, bin, work)
	if err != nil {
		return IdleCPU{}, err
	}
	defer a.Stop()
	defer b.Stop()
	var totals []int64
	for i := range folders {
		t := tree
		t.Seed += uint64(i)
		total, err := t.Write(filepath.Join(work, fmt.Sprintf("idle-a/f%02d", i)))
		if err != nil {
			return IdleCPU{}, err
		}
		if _, err := t.Write(filepath.Join(work, fmt.Sprintf("idle-b/f%02d", i))); err != nil {
			return IdleCPU{}, err
		}
		totals = append(totals, total)
	}
	start := time.Now()
	for i := range folders {
		id := fmt.Sprintf("idle%02d", i)
		dst := filepath.Join(work, fmt.Sprintf("idle-b/f%02d", i))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return IdleCPU{}, err
		}
		if err := b.AddFolder(ctx, id, dst, 0, a); err != nil {
			return IdleCPU{}, err
		}
		if err := a.AddFolder(ctx, id, filepath.Join(work, fmt.Sprintf("idle-a/f%02d", i)), 0, b); err != nil {
			return IdleCPU{}, err
		}
	}
	for i := range folders {
		for _, s := range []*Syncthing{a, b} {
			if err := s.WaitInSync(ctx, fmt.Sprintf("idle%02d", i), tree.Files, totals[i], limit-time.Since(start)); err != nil {
				return IdleCPU{}, err
			}
		}
	}
	setup := time.Since(start)
	time.Sleep(settle)
	c, err := measureIdle(ctx, a.PID(), d)
	c.Setup = setup
	return c, err
}
