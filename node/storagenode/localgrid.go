package storagenode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/lafssync/lafssync/node/config"
)

// LocalGridSize is how many storage nodes the embedded default grid has:
// enough for the default 3-of-10 encoding with happiness 7.
const LocalGridSize = 10

// RunLocalGrid is the embedded default a new installation starts with: n
// storage nodes under root (created on first use, loopback only), and the
// client's static server list at clientDir/private/servers.yaml naming
// them. It serves until ctx ends or a node fails. ready is called once all
// nodes listen.
func RunLocalGrid(ctx context.Context, root, clientDir string, n int, log *slog.Logger, ready func(dirs []string)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var dirs []string
	anns := map[string]config.Announcement{}
	var nodes []*Node
	for i := 0; i < n; i++ {
		dir := filepath.Join(root, fmt.Sprintf("storage-%d", i))
		if _, err := os.Stat(filepath.Join(dir, config.File)); errors.Is(err, os.ErrNotExist) {
			if _, err := Create(dir, CreateOptions{Storage: true, Nickname: fmt.Sprintf("local-%d", i)}); err != nil {
				return fmt.Errorf("create local storage node %d: %w", i, err)
			}
		}
		node, err := Open(dir, log.With("node", fmt.Sprintf("local-%d", i)))
		if err != nil {
			return err
		}
		ann, err := node.Announcement()
		if err != nil {
			return err
		}
		anns[node.ID.ServerID()] = ann
		nodes = append(nodes, node)
		dirs = append(dirs, dir)
	}
	if err := os.MkdirAll(filepath.Join(clientDir, "private"), 0o700); err != nil {
		return err
	}
	b, err := config.MarshalServers(anns)
	if err != nil {
		return err
	}
	if err := os.WriteFile(config.ServersPath(clientDir), b, 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var up sync.WaitGroup
	errs := make(chan error, n)
	for _, node := range nodes {
		up.Add(1)
		wg.Go(func() {
			once := sync.OnceFunc(up.Done)
			defer once()
			if err := node.Run(ctx, func(string) { once() }); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", node.Dir, err)
				cancel()
			}
		})
	}
	up.Wait()
	if ctx.Err() == nil && ready != nil {
		ready(dirs)
	}
	wg.Wait()
	close(errs)
	return <-errs
}
