package appnode

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/app/cli"
	"github.com/lafssync/lafssync/app/recovery"
	"github.com/lafssync/lafssync/app/ui/wizard"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/invite"
)

// fast are the recovery package's own test settings for Argon2.
var fast = recovery.Params{Time: 1, Memory: 256, Threads: 1}

const kitPass = "violet kettle harbour 42 glides"

// sealOpen puts k through a real kit's text and back, as a user's file.
func sealOpen(t *testing.T, k *recovery.Kit) *recovery.Kit {
	t.Helper()
	text, err := recovery.Seal(k, kitPass, fast)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recovery.Open(text, kitPass+"x"); !errors.Is(err, recovery.ErrWrongPassphrase) {
		t.Fatalf("a wrong passphrase opened the kit: %v", err)
	}
	out, err := recovery.Open(text, kitPass)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runNode runs r until the test ends.
func runNode(t *testing.T, ctx context.Context, r *Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ran:
			if err != nil {
				t.Errorf("Run %s: %v", r.Dir, err)
			}
		case <-time.After(time.Minute):
			t.Errorf("Run %s did not stop", r.Dir)
		}
	})
}

// TestRestoreAKitOfAJoinedGrid: a kit made on a computer that joined a
// grid, restored by the wizard's backend on a new computer (which starts
// on its own local grid, as the app does), joins that grid with the
// kit's encoding, off the local grid, restores the aliases and brings
// the folder back with its file, under the folder the user chose.
// Restoring it again changes nothing.
func TestRestoreAKitOfAJoinedGrid(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two grids and two nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	base := t.TempDir()

	// The grid, elsewhere.
	gctx, stopGrid := context.WithCancel(ctx)
	gridDone := make(chan struct{})
	t.Cleanup(func() { stopGrid(); <-gridDone })
	urls := make(chan string, 1)
	go func() {
		defer close(gridDone)
		fullnode.RunLocalGrid(gctx, filepath.Join(base, "grid"), 5, nil, func(u string) { urls <- u })
	}()
	var url string
	select {
	case url = <-urls:
	case <-ctx.Done():
		t.Fatal("the grid did not start")
	}

	// The old computer: a node of that grid with a folder, a file in it,
	// and an alias.
	oldDir := filepath.Join(base, "old")
	if err := cli.JoinGrid(oldDir, invite.Invite{Introducer: url, SharesNeeded: 2, SharesHappy: 3, SharesTotal: 5}); err != nil {
		t.Fatal(err)
	}
	oldR := &Runner{Dir: oldDir}
	runNode(t, ctx, oldR)
	old := &Setup{R: oldR}
	photos := filepath.Join(base, "old-home", "Photos")
	if err := os.MkdirAll(photos, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(photos, "beach.txt"), []byte("sand and sea"), 0o644); err != nil {
		t.Fatal(err)
	}
	addCtx, cancelAdd := context.WithTimeout(ctx, time.Minute)
	defer cancelAdd()
	if err := old.AddFolder(addCtx, photos, nil); err != nil {
		t.Fatalf("add a folder on the old computer: %v", err)
	}
	k, err := old.Kit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if k.Grid.Local || k.Grid.Introducers["default"] != url || len(k.Folders) != 1 {
		t.Fatalf("the old computer's kit: %v, grid %+v", k, k.Grid)
	}
	k.Aliases = map[string]string{"photos": k.Folders[0].Cap}
	k = sealOpen(t, k)

	// The new computer, as the app starts it: its own local grid.
	newDir := filepath.Join(base, "new")
	r := &Runner{Dir: newDir}
	runNode(t, ctx, r)
	s := &Setup{R: r}
	if _, err := r.Manager(ctx); err != nil {
		t.Fatal(err)
	}
	if !r.Local() {
		t.Fatal("the new computer did not start on its local grid")
	}
	into := filepath.Join(base, "new-home", "LAFS Sync")
	res, err := s.Restore(ctx, k, into)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	want := filepath.Join(into, "Photos")
	if res.Failed() != 0 || len(res.Folders) != 1 || res.Folders[0].Path != want || res.Folders[0].Mode != recovery.ModeSync {
		t.Fatalf("restored %+v, want Photos syncing in %s", res.Folders, want)
	}
	if !strings.Contains(res.Grid, "any 2 of which") || len(res.Aliases.Added) != 1 {
		t.Errorf("restored grid %q, aliases %+v", res.Grid, res.Aliases)
	}
	intros, err := config.LoadIntroducers(newDir)
	if err != nil || len(intros) != 1 || intros["default"] != url {
		t.Errorf("introducers %v, %v; want only the kit's", intros, err)
	}
	if OnLocalGrid(newDir) || r.Local() {
		t.Error("still on the local grid after restoring")
	}
	c, err := config.Load(newDir)
	if err != nil || c.SharesNeeded != 2 || c.SharesHappy != 3 || c.SharesTotal != 5 {
		t.Errorf("encoding %d/%d/%d (%v), want the kit's 2/3/5", c.SharesNeeded, c.SharesHappy, c.SharesTotal, err)
	}
	aliases, err := config.LoadAliases(newDir)
	if err != nil || aliases["photos"] != k.Folders[0].Cap {
		t.Errorf("the kit's alias was not restored (%v)", err)
	}
	// The file comes back.
	var got []byte
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if got, err = os.ReadFile(filepath.Join(want, "beach.txt")); err == nil {
			break
		}
	}
	if string(got) != "sand and sea" {
		t.Fatalf("the folder's file did not come back: %q, %v", got, err)
	}

	// Again: nothing new, nothing failed.
	again, err := s.Restore(ctx, k, into)
	if err != nil || again.Failed() != 0 || len(again.Folders) != 1 || !again.Folders[0].Exists || len(again.Aliases.Same) != 1 {
		t.Errorf("restoring again: %+v, %v", again, err)
	}
	if intros, _ := config.LoadIntroducers(newDir); len(intros) != 1 {
		t.Errorf("introducers after restoring again: %v", intros)
	}
}

// localNode makes a node directory on this computer's local grid, as the
// app's first start leaves it.
func localNode(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "node")
	if err := fullnode.Join(dir, fullnode.LocalPetname, "lafs://v0-"+strings.Repeat("c", 52)+"@127.0.0.1:4444"); err != nil {
		t.Fatal(err)
	}
	if !OnLocalGrid(dir) {
		t.Fatal("not on the local grid")
	}
	return dir
}

func testKit(grid recovery.Grid) *recovery.Kit {
	return &recovery.Kit{V: recovery.KitVersion, Created: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), Grid: grid,
		Folders: []recovery.Folder{{Name: "Documents", Path: "/home/old/Documents", Mode: recovery.ModeSync,
			Cap: "URI:DIR2:aaaaaaaaaaaaaaaaaaaaaaaaaa:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbba"}},
		Aliases: map[string]string{"tahoe": "URI:DIR2:cccccccccccccccccccccccccc:dddddddddddddddddddddddddddddddddddddddddddddddddddd"}}
}

// TestRestoreALocalGridKit: a kit made on the old computer's own local
// grid restores its aliases only: the node stays on this computer's
// grid, no folder is added, nothing is made under into, and the node is
// not restarted (the Runner does not run: a restart or a wait for the
// folder sync would hang until the context ends).
func TestRestoreALocalGridKit(t *testing.T) {
	dir := localNode(t)
	before, _ := config.LoadIntroducers(dir)
	k := sealOpen(t, testKit(recovery.Grid{Introducers: map[string]string{recovery.LocalPetname: "lafs://v0-" + strings.Repeat("d", 52) + "@127.0.0.1:5555"},
		Local: true, SharesNeeded: 1, SharesHappy: 1, SharesTotal: 1}))
	if !wizard.KitOnItsComputer(k) {
		t.Fatal("the wizard would not explain a local-grid kit")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	into := filepath.Join(t.TempDir(), "LAFS Sync")
	s := &Setup{R: &Runner{Dir: dir}}
	res, err := s.Restore(ctx, k, into)
	if err != nil {
		t.Fatal(err)
	}
	if res.Grid != "" || len(res.Folders) != 0 || len(res.Aliases.Added) != 1 {
		t.Errorf("restored %+v", res)
	}
	after, err := config.LoadIntroducers(dir)
	if err != nil || len(after) != 1 || after[recovery.LocalPetname] != before[recovery.LocalPetname] {
		t.Errorf("introducers %v (%v), want them as they were: %v", after, err, before)
	}
	c, err := config.Load(dir)
	if err != nil || c.SharesTotal == 1 {
		t.Errorf("the kit's encoding was applied (%v)", err)
	}
	if a, err := config.LoadAliases(dir); err != nil || a["tahoe"] != k.Aliases["tahoe"] {
		t.Errorf("aliases %d, %v", len(a), err)
	}
	if _, err := os.Stat(into); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was made: %v", into, err)
	}
}

// TestRestoreAKitOfAnUnusableGrid: a kit whose only introducer is a
// Tahoe pb:// fURL fails in words, without the fURL (its swissnum is a
// secret), and changes nothing.
func TestRestoreAKitOfAnUnusableGrid(t *testing.T) {
	dir := localNode(t)
	before, _ := config.LoadIntroducers(dir)
	furl := "pb://tubid@tcp:example.org:1234/swissnumsecret"
	k := sealOpen(t, testKit(recovery.Grid{Introducers: map[string]string{"default": furl}}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := (&Setup{R: &Runner{Dir: dir}}).Restore(ctx, k, filepath.Join(t.TempDir(), "LAFS Sync"))
	if err == nil || !strings.Contains(err.Error(), `introducer "default" is a Tahoe pb:// fURL`) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("restore: %v", err)
	}
	if strings.Contains(err.Error(), "swissnumsecret") {
		t.Errorf("the error shows the fURL: %v", err)
	}
	after, _ := config.LoadIntroducers(dir)
	if len(after) != 1 || after[recovery.LocalPetname] != before[recovery.LocalPetname] {
		t.Errorf("introducers %v, want %v", after, before)
	}
	if a, _ := config.LoadAliases(dir); len(a) != 0 {
		t.Errorf("aliases were written: %d", len(a))
	}
}
