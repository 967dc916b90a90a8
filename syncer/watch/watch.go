// Package watch tells the folder sync which paths of a folder changed:
// fsnotify on every directory (it does not recurse, so the tree is walked
// and each new directory is watched, and rescanned, as it appears), bursts
// debounced, and a full rescan asked for when the kernel queue overflows.
// When the kernel's watch limit is hit (ENOSPC) it falls back to polling
// and says so in its Status.
//
// CONTRACT (written by the coordinator before the implementation; the
// implementer may add to it but must keep these signatures and meanings).
package watch

import (
	"context"
	"errors"
	"time"
)

// Batch is a set of changed paths after a quiet period.
type Batch struct {
	// Paths are slash-separated, relative to the root, deduplicated; a
	// directory path means "rescan this directory recursively".
	Paths []string
	// Full asks for a scan of the whole folder (overflow, a new watch
	// root, a switch to polling, the periodic safety rescan).
	Full bool
}

// Options tune a watcher; zero values take the defaults.
type Options struct {
	// Debounce: a batch is sent once no event arrived for this long
	// (default 200 ms), and at most MaxDelay after its first event
	// (default 2 s) so a busy folder still syncs.
	Debounce, MaxDelay time.Duration
	// Rescan is the periodic safety rescan (default 1 h; a Full batch).
	Rescan time.Duration
	// PollInterval is the polling fallback's period (default 10 s).
	PollInterval time.Duration
	// Skip says whether a directory is not to be watched (ignored
	// directories, the engine's own temp files); nil watches everything.
	Skip func(rel string, isDir bool) bool
	// MaxWatches, if > 0, pretends the kernel limit is this many watches
	// (tests of the ENOSPC fallback).
	MaxWatches int
}

// Status is what the watcher is doing, for the folder's status.
type Status struct {
	Mode    string // "watching" or "polling"
	Watches int    // directories watched
	Message string // "" or, e.g., "the system's file-watch limit (fs.inotify.max_user_watches = 8192) is reached: checking for changes every 10 s instead. Raise it with: sudo sysctl fs.inotify.max_user_watches=524288"
}

// Watcher watches one folder.
type Watcher struct{}

// New starts watching root. The first Batch is always Full (the initial
// scan). Batches are delivered on C until ctx ends or Close; C is closed
// then.
func New(ctx context.Context, root string, o Options) (*Watcher, error) {
	return nil, errors.New("watch.New: not built yet")
}

// C delivers batches. A slow reader never blocks the watcher: pending
// paths merge into the next batch (and too many become Full).
func (w *Watcher) C() <-chan Batch { return nil }

// Status reports the current mode.
func (w *Watcher) Status() Status { return Status{} }

// Close stops watching and closes C.
func (w *Watcher) Close() error { return nil }
