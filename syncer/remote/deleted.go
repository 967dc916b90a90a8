package remote

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/dirnode"
)

// DeletedFile is a deleted file whose versions the folder's history
// keeps: its history entry has a tombstone and the file is not in its
// directory now.
type DeletedFile struct {
	Path     string    // slash path from the folder's root
	Time     time.Time // when it was deleted (zero if the tombstone does not say)
	By       string    // the device that deleted it
	Size     int64     // its last version's size
	Mtime    time.Time // its last version's modification time
	Versions int       // versions kept; History lists them, the first being the last before the delete
}

// Bounds of Deleted, whatever the history holds: the files listed and
// the history shards (directories) read.
const (
	MaxDeleted     = 1000
	MaxDeletedDirs = 200
)

type shardRef struct{ dir, cap string }

// Deleted lists the deleted files in dir and its subdirectories ("": the
// whole folder), newest delete first (then by path), at most limit (0,
// or more than MaxDeleted: MaxDeleted). truncated says there may be more
// than listed: more files than limit, or more directories with history
// than MaxDeletedDirs (the first ones in path order are read).
//
// A file that is there again (re-created by any writer) is not listed,
// as Tombstone does. It costs one read of .lafssync/history, then per
// directory with history under dir one read of its shard and the reads
// that find the directory itself (walkConcurrency at a time). A folder
// without history lists nothing.
func (f *Folder) Deleted(ctx context.Context, dir string, limit int) (files []DeletedFile, truncated bool, err error) {
	if limit <= 0 || limit > MaxDeleted {
		limit = MaxDeleted
	}
	parts, err := splitPath(dir)
	if err != nil {
		return nil, false, fmt.Errorf("deleted files in %s: %w", showDir(dir), err)
	}
	dir = strings.Join(parts, "/")
	h, err := f.findHidden(ctx)
	if err != nil {
		return nil, false, f.withHealth(fmt.Errorf("deleted files in %s: %w", showDir(dir), err))
	}
	if h == nil || h.history == "" {
		return nil, false, nil
	}
	hd, err := f.open(h.history)
	if err != nil {
		return nil, false, err
	}
	_, es, err := list(ctx, hd)
	if err != nil {
		return nil, false, f.withHealth(fmt.Errorf("deleted files in %s: read the history: %w", showDir(dir), err))
	}
	var shards []shardRef
	for name, e := range es {
		d, ok := shardDir(name, e)
		if ok && (dir == "" || d == dir || strings.HasPrefix(d, dir+"/")) {
			shards = append(shards, shardRef{dir: d, cap: f.childCap(e)})
		}
	}
	sort.Slice(shards, func(i, j int) bool { return shards[i].dir < shards[j].dir })
	if len(shards) > MaxDeletedDirs {
		shards, truncated = shards[:MaxDeletedDirs], true
	}

	var (
		mu       sync.Mutex // guards files, truncated and firstErr
		firstErr error
		wg       sync.WaitGroup
	)
	byNewest := func() {
		sort.Slice(files, func(i, j int) bool {
			if !files[i].Time.Equal(files[j].Time) {
				return files[i].Time.After(files[j].Time)
			}
			return files[i].Path < files[j].Path
		})
	}
	sem := make(chan struct{}, walkConcurrency)
	for _, s := range shards {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			found, err := f.deletedIn(ctx, s)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			files = append(files, found...)
			if len(files) > 2*limit { // keep memory to the limit, not the history's size
				byNewest()
				files, truncated = files[:limit], true
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, false, f.withHealth(fmt.Errorf("deleted files in %s: %w", showDir(dir), firstErr))
	}
	byNewest()
	if len(files) > limit {
		files, truncated = files[:limit], true
	}
	return files, truncated, nil
}

// shardDir is the folder directory a history shard's link names, if the
// link is a shard's: a mutable directory whose metadata records a
// directory path that hashes to the link's name.
func shardDir(name string, e *dirnode.Entry) (string, bool) {
	if !isMutableDir(e) {
		return "", false
	}
	ls, _ := e.Metadata["lafssync"].(map[string]any)
	d, ok := ls["dir"].(string)
	if !ok {
		return "", false
	}
	d = strings.Trim(d, "/")
	if shardName(d) != name {
		return "", false
	}
	if _, err := splitPath(d); err != nil {
		return "", false
	}
	return d, true
}

// deletedIn reads one shard and its directory: the entries with a
// tombstone and a version whose name the directory does not have now.
func (f *Folder) deletedIn(ctx context.Context, s shardRef) ([]DeletedFile, error) {
	sd, err := f.open(s.cap)
	if err != nil {
		return nil, err
	}
	_, hist, err := list(ctx, sd)
	if err != nil {
		return nil, fmt.Errorf("read the history of %s: %w", showDir(s.dir), err)
	}
	f.rememberShard(s.dir, s.cap)
	live, err := f.List(ctx, s.dir)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	var out []DeletedFile
	for name, e := range hist {
		vs, tomb := decodeHistory(e)
		if tomb == nil || len(vs) == 0 || dirnode.CheckName(name) != nil {
			continue
		}
		if _, exists := live[dirnode.Normalize(name)]; exists {
			continue
		}
		out = append(out, DeletedFile{
			Path: joinPath(s.dir, name), Time: tomb.Time, By: tomb.By,
			Size: vs[0].Meta.Size, Mtime: vs[0].Meta.Mtime, Versions: len(vs),
		})
	}
	return out, nil
}
