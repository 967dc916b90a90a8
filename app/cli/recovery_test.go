package cli

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/app/recovery"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/fullnode/fullnodetest"
	"github.com/lafssync/lafssync/syncer/api"
)

func TestLocalPetnameAgrees(t *testing.T) {
	if recovery.LocalPetname != fullnode.LocalPetname {
		t.Errorf("recovery.LocalPetname %q, fullnode.LocalPetname %q", recovery.LocalPetname, fullnode.LocalPetname)
	}
}

// withSync starts the folder sync of n until the test ends.
func withSync(t *testing.T, n *fullnode.Node) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	if startSync(ctx, &wg, n, slog.New(slog.DiscardHandler)) == nil {
		t.Fatal("the folder sync did not start")
	}
}

// TestRecoveryKitRestoresOntoANewNode: node A (on its local grid) syncs
// a folder and has an alias; its kit, exported by the CLI, is restored
// into a node directory that does not exist yet (made, joined to A's
// grid; no node runs, so the commands are printed, without caps); then,
// with that node running, restore adds the folder and A's file arrives.
func TestRecoveryKitRestoresOntoANewNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a local grid and two nodes")
	}
	t.Setenv("LAFSSYNC_KEYRING", "off")
	root := t.TempDir()
	dirA, dirB := filepath.Join(root, "A"), filepath.Join(root, "B")
	docsA := filepath.Join(root, "docsA")
	n := fullnodetest.StartLocalGrid(t, dirA)
	withSync(t, n)
	os.MkdirAll(docsA, 0o755)
	os.WriteFile(filepath.Join(docsA, "a.txt"), []byte("from A\n"), 0o644)
	if code, out, errs := run("-d", dirA, "sync", "add", docsA, "--name", "docs"); code != 0 {
		t.Fatalf("sync add: %s %s", out, errs)
	}
	if code, _, errs := run("-d", dirA, "create-alias", "home"); code != 0 {
		t.Fatalf("create-alias: %s", errs)
	}
	token, _ := readToken(dirA)
	c := api.NewClient(n.WebURL(), token, nil)
	testkit.WaitFor(t, "A's folder up to date", 90*time.Second, func() bool {
		st, err := c.Status(context.Background(), "docs")
		return err == nil && st.State == api.UpToDate && st.Files == 1
	})

	pf := filepath.Join(root, "pass")
	os.WriteFile(pf, []byte("violet kettle harbour 42 glides\n"), 0o600)
	weak := filepath.Join(root, "weak")
	os.WriteFile(weak, []byte("password1234\n"), 0o600)
	kit := filepath.Join(root, "kit.txt")
	if code, _, errs := run("-d", dirA, "recovery-kit", "export", kit, "--passphrase-file", weak); code == 0 || !strings.Contains(errs, "too easy to guess") {
		t.Errorf("export with a weak passphrase: %d %q", code, errs)
	}
	code, out, errs := run("-d", dirA, "recovery-kit", "export", kit, "--passphrase-file", pf)
	if code != 0 || !strings.Contains(out, "1 folder, 1 alias") || strings.Contains(out+errs, "URI:") {
		t.Fatalf("export: %d %q %q", code, out, errs)
	}
	for _, p := range []string{kit, kit + ".png"} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", p, fi, err)
		}
	}
	b, _ := os.ReadFile(kit)
	if !strings.HasPrefix(string(b), "LAFS-SYNC-RECOVERY-KIT 1\n") || strings.Contains(string(b), "URI:") {
		t.Errorf("the kit file:\n%s", b)
	}
	// A wrong passphrase says so.
	os.WriteFile(weak, []byte("violet kettle harbour 42 glide\n"), 0o600)
	if code, _, errs := run("recovery-kit", "restore", kit, dirB, "--passphrase-file", weak); code == 0 || !strings.Contains(errs, "wrong passphrase") {
		t.Errorf("restore with a wrong passphrase: %d %q", code, errs)
	}
	if _, err := os.Stat(dirB); err == nil {
		t.Error("a failed restore made the node directory")
	}

	into := filepath.Join(root, "restored")
	code, out, errs = run("recovery-kit", "restore", kit, dirB, "--passphrase-file", pf, "--into", into)
	if code != 0 || !strings.Contains(out, "Created a node in "+dirB) || !strings.Contains(out, "Aliases added: home") ||
		!strings.Contains(out, "No node is running for "+dirB) || !strings.Contains(out, "sync add "+filepath.Join(into, "docs")+" --name docs --to WRITECAP") ||
		strings.Contains(out+errs, "URI:") {
		t.Fatalf("restore with no node running: %d\n%s%s", code, out, errs)
	}
	aliasesA, _ := config.LoadAliases(dirA)
	aliasesB, _ := config.LoadAliases(dirB)
	if aliasesB["home"] == "" || aliasesB["home"] != aliasesA["home"] {
		t.Errorf("aliases on B: %v", aliasesB)
	}

	nb, err := fullnode.Open(dirB, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	up, done := make(chan *fullnode.Node, 1), make(chan error, 1)
	go func() { done <- nb.Run(ctx, func(n *fullnode.Node) { up <- n }) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-up:
	case err := <-done:
		done <- err // for the cleanup, which waits for it
		t.Fatalf("node B stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("node B did not start")
	}
	withSync(t, nb)
	testkit.WaitFor(t, "B connected to A's grid", 60*time.Second, func() bool { return len(nb.Servers()) == fullnode.LocalGridSize })
	code, out, errs = run("recovery-kit", "restore", kit, dirB, "--passphrase-file", pf, "--into", into)
	if code != 0 || !strings.Contains(out, "docs: syncing again in "+filepath.Join(into, "docs")) || !strings.Contains(out, "Aliases already here: home") || strings.Contains(out+errs, "URI:") {
		t.Fatalf("restore with B running: %d\n%s%s", code, out, errs)
	}
	testkit.WaitFor(t, "A's file on B", 90*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(into, "docs", "a.txt"))
		return err == nil && string(b) == "from A\n"
	})
	// Again: the folder is there, left alone; exit 0.
	code, out, _ = run("recovery-kit", "restore", kit, dirB, "--passphrase-file", pf, "--into", into, "--show-caps")
	if code != 0 || !strings.Contains(out, "docs: left as it is") {
		t.Errorf("restore twice: %d %s", code, out)
	}
}
