package storagenode_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/node/storagenode"
)

// startLocalGrid runs the embedded default grid until the test ends.
func startLocalGrid(t *testing.T, root, client string) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- storagenode.RunLocalGrid(ctx, root, client, storagenode.LocalGridSize, nil, func([]string) { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("local grid did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("local grid not up in 30 s")
	}
	return func() error { cancel(); return <-done }
}

// The embedded default: ten storage servers in one process, a client's
// servers.yaml naming them, and data that survives a restart.
func TestLocalGrid(t *testing.T) {
	dir := t.TempDir()
	root, client := filepath.Join(dir, "local-grid"), dir
	stop := startLocalGrid(t, root, client)
	servers, err := storagenode.DialAll(client, nil)
	if err != nil || len(servers) != 10 {
		t.Fatalf("servers.yaml lists %d servers: %v", len(servers), err)
	}
	c := &immutable.Client{Servers: servers, Params: immutable.DefaultParams(), Convergence: []byte("c"), LeaseSecret: []byte("l")}
	data := bytes.Repeat([]byte("local grid "), 20000)
	up, err := c.Upload(context.Background(), bytes.NewReader(data))
	if err != nil || up.Happiness != 10 {
		t.Fatalf("upload: %v (happiness %d)", err, up.Happiness)
	}
	if err := stop(); err != nil {
		t.Fatalf("stopping the grid: %v", err)
	}
	// Restart on the same directories: same servers, same shares.
	stop = startLocalGrid(t, root, client)
	defer stop()
	servers, err = storagenode.DialAll(client, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Servers = servers
	var out bytes.Buffer
	if _, err := c.Download(context.Background(), up.Cap.(*cap.CHK), &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("download after restart: %v", err)
	}
}
