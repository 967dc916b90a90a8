package appnode

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/app/ui/wizard"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
)

// TestFirstRunOnTheLocalGridThenJoinAnother runs the app's node for real
// (the embedded local grid, in this process): the wizard's backend adds
// a folder and collects its kit; then joining another grid by its
// introducer's address restarts the node as that grid's client, off the
// local grid, and a folder is added there.
func TestFirstRunOnTheLocalGridThenJoinAnother(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two local grids")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := t.TempDir()
	dir := filepath.Join(base, "node")
	if !NeedsSetup(dir, 0) || !OnLocalGrid(dir) {
		t.Fatal("a missing node directory needs no setup or is not on the local grid")
	}
	var mu sync.Mutex
	var starts []bool // local, per start
	r := &Runner{Dir: dir, Ready: func(_ context.Context, _ *fullnode.Node, m *syncer.Manager, local bool) {
		mu.Lock()
		defer mu.Unlock()
		if m == nil {
			t.Error("the folder sync did not start")
		}
		starts = append(starts, local)
	}}
	ran := make(chan error, 1)
	go func() { ran <- r.Run(ctx) }()
	s := &Setup{R: r}

	j, err := s.Grid(ctx, wizard.Choice{Where: wizard.LocalGrid})
	if err != nil || j.Folder != nil {
		t.Fatalf("local grid: %+v, %v", j, err)
	}
	docs := filepath.Join(base, "Documents")
	if err := os.MkdirAll(docs, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docs, "a.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.AddFolder(ctx, docs, nil); err != nil {
		t.Fatalf("add a folder on the local grid: %v", err)
	}
	k, err := s.Kit(ctx)
	if err != nil || len(k.Folders) != 1 || k.Folders[0].Name != "Documents" || !k.Grid.Local {
		t.Fatalf("kit: %+v, %v", k, err)
	}

	// Another grid, elsewhere on this machine.
	gctx, stopGrid := context.WithCancel(ctx)
	defer stopGrid()
	urls := make(chan string, 1)
	go fullnode.RunLocalGrid(gctx, filepath.Join(base, "other-grid"), 5, nil, func(u string) { urls <- u })
	var url string
	select {
	case url = <-urls:
	case <-ctx.Done():
		t.Fatal("the other grid did not start")
	}
	if _, err := s.Grid(ctx, wizard.Choice{Where: wizard.Introducer, Address: url}); err != nil {
		t.Fatalf("join the other grid: %v", err)
	}
	if OnLocalGrid(dir) || r.Local() {
		t.Error("still on the local grid after joining another")
	}
	intros, err := config.LoadIntroducers(dir)
	if err != nil || len(intros) != 1 || intros["default"] != url {
		t.Errorf("introducers %v, %v; want only the other grid's", intros, err)
	}
	photos := filepath.Join(base, "Photos")
	if err := os.MkdirAll(photos, 0o700); err != nil {
		t.Fatal(err)
	}
	addCtx, cancelAdd := context.WithTimeout(ctx, time.Minute)
	defer cancelAdd()
	if err := s.AddFolder(addCtx, photos, nil); err != nil {
		t.Fatalf("add a folder on the other grid: %v", err)
	}
	m, err := r.Manager(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The folder list is the node's, so the first folder came along; the
	// new one is on the other grid.
	names := map[string]api.FolderStatus{}
	for _, f := range m.List() {
		names[f.Name] = f
	}
	if _, ok := names["Photos"]; !ok {
		t.Errorf("folders after the restart: %v", names)
	}
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not stop")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(starts) != 2 || !starts[0] || starts[1] {
		t.Errorf("starts (local?) %v, want [true false]", starts)
	}
}

func TestSetupRecordsItsEnd(t *testing.T) {
	dir := t.TempDir()
	s := &Setup{R: &Runner{Dir: dir}, Now: func() time.Time { return time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC) }}
	if !NeedsSetup(dir, 0) {
		t.Fatal("a new node directory does not need the setup")
	}
	if NeedsSetup(dir, 1) {
		t.Error("a node with a folder needs the setup")
	}
	if err := s.Finish(); err != nil {
		t.Fatal(err)
	}
	if NeedsSetup(dir, 0) {
		t.Error("still needs the setup after Finish")
	}
	b, err := os.ReadFile(filepath.Join(dir, SetupDoneFile))
	if err != nil || string(b) != "2026-12-02T13:00:00Z\n" {
		t.Errorf("the marker holds %q, %v", b, err)
	}
}
