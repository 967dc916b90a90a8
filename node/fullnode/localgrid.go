package fullnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/nodedir"
	"github.com/lafssync/lafssync/node/storagenode"
)

// LocalGridSize is how many storage nodes the embedded default grid has:
// enough for the default 3-of-10 encoding with happiness 7.
const LocalGridSize = storagenode.LocalGridSize

// LocalPetname is the introducer name the embedded grid has in a node's
// introducers.yaml.
const LocalPetname = "local"

// RunLocalGrid runs a grid on this machine in this process, loopback
// only: an introducer and n storage nodes under root, created on first
// use and kept (same keys and ports) after. ready gets the introducer's
// address once every node listens. It returns when ctx ends or a node
// fails.
func RunLocalGrid(ctx context.Context, root string, n int, log *slog.Logger, ready func(introURL string)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Each node directory is locked before it is created or changed, and
	// stays locked until every node has stopped.
	var locks []*nodedir.Lock
	defer func() {
		for _, l := range locks {
			l.Release()
		}
	}()
	lock := func(dir string) error {
		l, err := nodedir.Acquire(dir)
		if err != nil {
			return err
		}
		locks = append(locks, l)
		return nil
	}
	introDir := filepath.Join(root, "introducer")
	if err := lock(introDir); err != nil {
		return err
	}
	if err := ensureNode(introDir, storagenode.CreateOptions{Introducer: true, Nickname: "local-introducer"}); err != nil {
		return err
	}
	intro, err := Open(introDir, log.With("node", "local-introducer"))
	if err != nil {
		return err
	}
	intro.MovePortIfTaken, intro.dirLocked = true, true
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	start := func(node *Node, up func(*Node)) {
		wg.Go(func() {
			if err := node.Run(ctx, up); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", node.Dir, err)
				cancel()
			}
		})
	}
	introUp := make(chan struct{})
	start(intro, func(*Node) { close(introUp) })
	select {
	case <-introUp:
	case <-ctx.Done():
		wg.Wait()
		close(errs)
		return <-errs
	}
	url := intro.IntroducerURL()
	var up sync.WaitGroup
	for i := 0; i < n; i++ {
		dir := filepath.Join(root, fmt.Sprintf("storage-%d", i))
		if err := lock(dir); err != nil {
			errs <- err
			cancel()
			break
		}
		if err := ensureNode(dir, storagenode.CreateOptions{Storage: true, Nickname: fmt.Sprintf("local-%d", i)}); err != nil {
			errs <- err
			cancel()
			break
		}
		if err := Join(dir, LocalPetname, url); err != nil {
			errs <- err
			cancel()
			break
		}
		node, err := Open(dir, log.With("node", fmt.Sprintf("local-%d", i)))
		if err != nil {
			errs <- err
			cancel()
			break
		}
		node.MovePortIfTaken, node.dirLocked = true, true
		up.Add(1)
		once := sync.OnceFunc(up.Done)
		start(node, func(*Node) { once() })
		wg.Go(func() { <-ctx.Done(); once() })
	}
	up.Wait()
	if ctx.Err() == nil && ready != nil {
		ready(url)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// ensureNode creates a node directory unless it already holds a node.
func ensureNode(dir string, o storagenode.CreateOptions) error {
	if _, err := os.Stat(filepath.Join(dir, config.File)); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	_, err := storagenode.Create(dir, o)
	return err
}

// Join makes the node in dir use the introducer at url under petname
// (creating a client node there first if there is none).
func Join(dir, petname, url string) error {
	host, _ := os.Hostname()
	if err := ensureNode(dir, storagenode.CreateOptions{Nickname: host}); err != nil {
		return err
	}
	intros, err := config.LoadIntroducers(dir)
	if err != nil {
		return err
	}
	if strings.TrimSpace(intros[petname]) == url {
		return nil
	}
	intros[petname] = url
	return config.SaveIntroducers(dir, intros)
}

// RunEmbedded is what `make run` starts: the local grid under
// nodeDir/local-grid and the node in nodeDir as its client (with the web
// API), all in this process. ready is called with the client node once
// everything listens.
//
// It locks nodeDir first, before changing anything in it, and fails with
// a *nodedir.HeldError if another process runs it.
func RunEmbedded(ctx context.Context, nodeDir string, log *slog.Logger, ready func(*Node)) error {
	// The whole embedded node is locked first: its grid, its ports and
	// node.url belong to the process that holds nodeDir.
	lk, err := nodedir.Acquire(nodeDir)
	if err != nil {
		return err
	}
	defer lk.Release()
	return RunEmbeddedLocked(ctx, lk, log, ready)
}

// RunEmbeddedLocked is RunEmbedded for a caller that already holds the
// node directory's lock (to report a second instance before opening a
// window or a log file there); the node directory is lk.Dir().
func RunEmbeddedLocked(ctx context.Context, lk *nodedir.Lock, log *slog.Logger, ready func(*Node)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	nodeDir := lk.Dir()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	clientErr := make(chan error, 1)
	err := RunLocalGrid(ctx, filepath.Join(nodeDir, "local-grid"), LocalGridSize, log, func(url string) {
		if err := Join(nodeDir, LocalPetname, url); err != nil {
			clientErr <- err
			cancel()
			return
		}
		// The previous embedded grid listed its servers statically; they
		// are announced now.
		os.Remove(config.ServersPath(nodeDir))
		n, err := Open(nodeDir, log.With("node", "this computer"))
		if err != nil {
			clientErr <- err
			cancel()
			return
		}
		n.MovePortIfTaken, n.dirLocked = true, true
		// The daemon's node takes tahoe.cfg's live keys while it runs
		// (lafs reachability --apply: POST ReloadPath); it cannot restart
		// itself inside the daemon, so a change of any other key is
		// refused with what to do (Reload). Without what this run read
		// of tahoe.cfg there is nothing to compare a reload with, and no
		// ReloadPath.
		settings, serr := readSettings(nodeDir)
		if serr == nil {
			n.armReload(settings, 1, nil)
		}
		withReload := func(n *Node) {
			if serr == nil {
				n.MountWeb(ReloadPath, n.reloadHandler())
			}
			if ready != nil {
				ready(n)
			}
		}
		wg.Go(func() {
			if err := n.Run(ctx, withReload); err != nil && ctx.Err() == nil {
				clientErr <- err
				cancel()
			}
		})
	})
	wg.Wait()
	select {
	case e := <-clientErr:
		return e
	default:
		return err
	}
}
