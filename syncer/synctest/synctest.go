// Package synctest runs a real folder sync (syncer.Manager) on an
// in-memory grid for tests of the packages built on it (the tray app's
// windows among them).
package synctest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
)

// StartManager runs a Manager for device on grid g, with its state in
// nodeDir, polling the grid every 100 ms, until the test ends (when it
// must stop without an error).
func StartManager(t testing.TB, g *gridtest.Grid, nodeDir, device string) *syncer.Manager {
	t.Helper()
	m, err := syncer.New(syncer.Config{NodeDir: nodeDir, Device: device, Grid: g, PollEvery: 100 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return m
}
