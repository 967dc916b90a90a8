// Package fullnodetest starts what `make run` starts, for other packages'
// tests. Tests only.
package fullnodetest

import (
	"context"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/fullnode"
)

// StartLocalGrid runs the embedded local grid (introducer and ten storage
// nodes) with the node in dir as its client, in this process, until the
// test ends, and waits until the node is connected to all ten servers. The
// lafs commands, in process or as a binary, then work through it.
func StartLocalGrid(t testing.TB, dir string) *fullnode.Node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan *fullnode.Node, 1), make(chan error, 1)
	go func() { done <- fullnode.RunEmbedded(ctx, dir, nil, func(n *fullnode.Node) { ready <- n }) }()
	ended := false
	t.Cleanup(func() {
		cancel()
		if !ended {
			<-done
		}
	})
	select {
	case n := <-ready:
		testkit.WaitFor(t, "the node to connect to the ten local servers", 30*time.Second, func() bool { return len(n.Servers()) == fullnode.LocalGridSize })
		return n
	case err := <-done:
		ended = true
		t.Fatalf("the local grid stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("local grid did not start")
	}
	return nil
}
