// Package appnode runs the tray app's node in the app's process: the
// embedded local grid with this computer's node as its client (the
// default, what a first start gets), or, once the node joined another
// grid, the node alone as that grid's client. The folder sync runs inside
// it. Restart runs the node again after its settings changed (the
// first-run wizard joining a grid or restoring a recovery kit, an applied
// reachability advice).
package appnode

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/lafssync/lafssync/app/cli"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/nodedir"
	"github.com/lafssync/lafssync/syncer"
)

// Runner runs the node in Dir until its context ends.
type Runner struct {
	Dir string
	// Lock, when set, is Dir's lock, held by the caller for the whole
	// run (so that no other instance takes the directory during a
	// restart); otherwise each start locks Dir itself.
	Lock *nodedir.Lock
	Log  *slog.Logger
	// Ready is called, from the node's goroutine, each time the node has
	// started and its folder sync runs; m is nil when the folder sync
	// could not start (the log says why). ctx ends when this node stops.
	Ready func(ctx context.Context, n *fullnode.Node, m *syncer.Manager, local bool)

	once    sync.Once
	restart chan struct{}

	mu    sync.Mutex
	n     *fullnode.Node
	m     *syncer.Manager
	up    chan struct{} // closed once n is ready; replaced at each start
	gen   int           // of the start under way; a Restart moves it on
	local bool
}

// stopped forgets the node that ran: Manager waits for the next one.
// r.mu is held.
func (r *Runner) stoppedLocked() {
	r.n, r.m = nil, nil
	select {
	case <-r.up:
		r.up = make(chan struct{})
	default: // never came up: waiters keep waiting for the next start
	}
}

func (r *Runner) init() {
	r.once.Do(func() {
		r.restart = make(chan struct{}, 1)
		r.mu.Lock()
		r.up = make(chan struct{})
		r.mu.Unlock()
		if r.Log == nil {
			r.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// OnLocalGrid says whether the node in dir is (or will be) a client of
// this computer's own local grid: no node yet, no grid configured, or the
// local grid among its introducers.
func OnLocalGrid(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, config.File)); err != nil {
		return true
	}
	intros, err := config.LoadIntroducers(dir)
	if err != nil {
		return true // RunEmbedded reports the broken file
	}
	if _, ok := intros[fullnode.LocalPetname]; ok {
		return true
	}
	c, err := config.Load(dir)
	return err == nil && len(intros) == 0 && c.IntroducerFURL == ""
}

// Run runs the node until ctx ends or it fails; a Restart stops it and
// starts it again with its settings as they are then.
func (r *Runner) Run(ctx context.Context) error {
	r.init()
	for {
		local := OnLocalGrid(r.Dir)
		r.mu.Lock()
		gen := r.gen
		r.mu.Unlock()
		rctx, cancel := context.WithCancel(ctx)
		var syncing sync.WaitGroup
		ready := func(n *fullnode.Node) {
			m := cli.StartSyncManager(rctx, &syncing, n, r.Log)
			r.mu.Lock()
			if r.gen != gen { // a Restart came first: this node is stopping
				r.mu.Unlock()
				return
			}
			r.n, r.m, r.local = n, m, local
			close(r.up)
			r.mu.Unlock()
			if r.Ready != nil {
				r.Ready(rctx, n, m, local)
			}
		}
		done := make(chan error, 1)
		go func() { done <- r.runOnce(rctx, local, ready) }()
		var err error
		restart := false
		select {
		case <-ctx.Done():
			cancel()
			<-done
		case <-r.restart:
			r.Log.Info("restarting the node with its new settings")
			restart = true
			cancel()
			<-done
		case err = <-done:
			cancel()
		}
		syncing.Wait()
		r.mu.Lock()
		if !restart {
			r.stoppedLocked()
		}
		r.mu.Unlock()
		if !restart || ctx.Err() != nil {
			return err
		}
	}
}

func (r *Runner) runOnce(ctx context.Context, local bool, ready func(*fullnode.Node)) error {
	if local && r.Lock != nil {
		return fullnode.RunEmbeddedLocked(ctx, r.Lock, r.Log, ready)
	}
	if local {
		return fullnode.RunEmbedded(ctx, r.Dir, r.Log, ready)
	}
	var n *fullnode.Node
	var err error
	if r.Lock != nil {
		n, err = fullnode.OpenLocked(r.Lock, r.Log.With("node", "this computer"))
	} else {
		n, err = fullnode.Open(r.Dir, r.Log.With("node", "this computer"))
	}
	if err != nil {
		return err
	}
	n.MovePortIfTaken = true
	return n.Run(ctx, ready)
}

// Restart stops the node and starts it again (asynchronously; Manager
// waits for the new one from now on).
func (r *Runner) Restart() {
	r.init()
	r.mu.Lock()
	r.gen++
	r.stoppedLocked()
	r.mu.Unlock()
	select {
	case r.restart <- struct{}{}:
	default: // one is pending
	}
}

// ErrNoSync is Manager's error when the node runs but its folder sync
// did not start.
var ErrNoSync = errors.New("the folder sync did not start (the log says why)")

// Manager waits until the node runs and returns its folder sync.
func (r *Runner) Manager(ctx context.Context) (*syncer.Manager, error) {
	r.init()
	for {
		r.mu.Lock()
		up, m, n := r.up, r.m, r.n
		r.mu.Unlock()
		select {
		case <-up:
			if n == nil {
				continue // stopped in between
			}
			if m == nil {
				return nil, ErrNoSync
			}
			return m, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Local says whether the node runs on the local grid (as last started).
func (r *Runner) Local() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.local
}

// Current is the running node and its folder sync, nil while none runs
// (starting, restarting, stopped).
func (r *Runner) Current() (*fullnode.Node, *syncer.Manager) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.m
}
