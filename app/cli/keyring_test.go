package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/lafssync/lafssync/app/secrets"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
)

// TestMain runs every test of the package with the aliases and the web
// API token in a keyring: go-keyring's in-memory mock, so that no test
// touches the keyring of the desktop it runs on (the real one is
// app/secrets' realkeyring_test.go). So every test that creates and uses
// an alias uses the keyring store.
func TestMain(m *testing.M) {
	keyring.MockInit()
	// In place of the OS keyring init installed (a test binary may run
	// where no session bus is offered: OSKeyring is not checked for one).
	keyringStores, _ = secrets.Install(secrets.Options{Keyring: secrets.OSKeyring{}})
	os.Exit(m.Run())
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// The aliases and the web API token live in the keyring: no file holds
// them; a tahoe CLI gets its files only on request, and what it adds
// there comes back into the keyring; a program without keyring access
// refuses rather than start an empty aliases file.
func TestAliasesAndTokenInKeyring(t *testing.T) {
	dir := t.TempDir()
	startLocalGrid(t, dir)
	must := mustIn(t, dir)
	must("create-alias", "home")
	must("mkdir", "home:docs")
	if out := must("ls", "home:"); out != "dir  docs/\n" {
		t.Errorf("ls home: %q", out)
	}
	if exists(config.AliasesPath(dir)) || !exists(config.AliasesMarkerPath(dir)) {
		t.Fatalf("aliases file %v, marker %v", exists(config.AliasesPath(dir)), exists(config.AliasesMarkerPath(dir)))
	}
	if exists(client.TokenPath(dir)) {
		t.Fatal("the node wrote its token to a file though the keyring works")
	}
	if m, err := keyring.Get(secrets.Service, secrets.Key(dir)+"/aliases"); err != nil || !strings.HasPrefix(m, "lafs-secrets v1 ") {
		t.Fatalf("the aliases' manifest in the keyring: %q, %v", m, err)
	}
	token, err := client.ReadToken(dir)
	if err != nil || len(token) < 40 {
		t.Fatalf("token from the keyring: %d chars, %v", len(token), err)
	}
	aliases, err := config.LoadAliases(dir)
	if err != nil || !strings.HasPrefix(aliases["home"], "URI:DIR2:") {
		t.Fatalf("aliases %d, %v", len(aliases), err)
	}
	noSecretUnder(t, filepath.Join(dir, "private"), aliases["home"], token)

	out := must("status") // reaches the node with the keyring's token
	for _, want := range []string{`Aliases: in the OS keyring (service "LAFS Sync"); a stock tahoe CLI does not see them`,
		`Web API token: in the OS keyring`} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, aliases["home"]) || strings.Contains(out, token) {
		t.Fatal("status prints a secret")
	}

	// A program that reads only files (the node packages' default).
	old := config.SetAliasStore(nil)
	_, err = config.LoadAliases(dir)
	config.SetAliasStore(old)
	if !errors.Is(err, config.ErrAliasesElsewhere) || !strings.Contains(err.Error(), "export-tahoe") {
		t.Fatalf("file-only LoadAliases: %v", err)
	}

	out = must("secrets", "export-tahoe")
	if !strings.Contains(out, config.AliasesPath(dir)) || !strings.Contains(out, client.TokenPath(dir)) || strings.Contains(out, token) {
		t.Fatalf("export-tahoe: %q", out)
	}
	for p, want := range map[string]string{config.AliasesPath(dir): "home: " + aliases["home"] + "\n", client.TokenPath(dir): token + "\n"} {
		b, err := os.ReadFile(p)
		fi, _ := os.Stat(p)
		if err != nil || string(b) != want || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, right content %v, mode %v", p, err, string(b) == want, fi.Mode())
		}
	}
	if out := must("secrets"); !strings.Contains(out, "for a stock tahoe CLI, as you asked") {
		t.Errorf("secrets after export: %q", out)
	}
	// A tahoe CLI adds an alias to the exported file; lafs sees it, and the
	// keyring keeps it after the export ends.
	f, err := os.OpenFile(config.AliasesPath(dir), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("copy: " + aliases["home"] + "\n")
	f.Close()
	if out := must("list-aliases"); out != "copy:\nhome:\n" {
		t.Fatalf("list-aliases after a tahoe CLI added one: %q", out)
	}
	must("create-alias", "work") // written to both
	if b, _ := os.ReadFile(config.AliasesPath(dir)); !strings.Contains(string(b), "work: URI:DIR2:") {
		t.Fatal("an alias made while exported is not in the exported file")
	}
	if out := must("secrets", "export-tahoe", "--stop"); !strings.Contains(out, "removed") {
		t.Fatalf("export-tahoe --stop: %q", out)
	}
	if exists(config.AliasesPath(dir)) || exists(client.TokenPath(dir)) || exists(secrets.ExportPath(dir)) {
		t.Fatal("files left after export-tahoe --stop")
	}
	if out := must("list-aliases"); out != "copy:\nhome:\nwork:\n" {
		t.Fatalf("list-aliases from the keyring after the export: %q", out)
	}
	if out := must("ls", "copy:"); out != "dir  docs/\n" {
		t.Errorf("ls copy: %q", out)
	}
	must("status") // the token survived the round trip

	// Removing an alias is the one way to drop one: with an exported file
	// too, it does not come back.
	must("secrets", "export-tahoe")
	must("secrets", "remove-alias", "copy:")
	if out := must("list-aliases"); out != "home:\nwork:\n" {
		t.Fatalf("after remove-alias: %q", out)
	}
	if b, _ := os.ReadFile(config.AliasesPath(dir)); strings.Contains(string(b), "copy:") {
		t.Fatal("the removed alias is still in the exported file")
	}
	must("secrets", "export-tahoe", "--stop")
	if out := must("list-aliases"); out != "home:\nwork:\n" {
		t.Fatalf("the removed alias came back: %q", out)
	}
	fails := failsIn(t, dir)
	fails(`there is no alias "copy"`, "secrets", "remove-alias", "copy")
}

// downKeyring is a keyring on a bus that has gone.
type downKeyring struct{}

var errDown = errors.New("dbus: the session bus is gone")

func (downKeyring) Set(string, string, string) error   { return errDown }
func (downKeyring) Get(string, string) (string, error) { return "", errDown }
func (downKeyring) Delete(string, string) error        { return errDown }

// With the token in a keyring that does not answer, a lafs sync command
// says so, not that no node runs.
func TestTokenInUnreachableKeyring(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "node.url"), []byte("http://127.0.0.1:9/\n"), 0o600)
	os.WriteFile(secrets.APIToken(dir).Marker, []byte("in the keyring\n"), 0o600)
	saved := keyringStores
	var restore func()
	keyringStores, restore = secrets.Install(secrets.Options{Keyring: downKeyring{}})
	t.Cleanup(func() { restore(); keyringStores = saved })
	failsIn(t, dir)("web API token is in the OS keyring (service \"LAFS Sync\"), but ", "sync", "status")
	failsIn(t, dir)(": unlock the keyring and try again", "sync", "status")
	os.Remove(secrets.APIToken(dir).Marker)
	failsIn(t, dir)("No LAFS Sync node is running", "sync", "status")
}

// noSecretUnder fails if a file under root holds one of secrets.
func noSecretUnder(t *testing.T, root string, secrets ...string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds a secret", p)
			}
		}
		return nil
	})
}

func TestTokenWhere(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	if got := tokenWhere(dir); got != client.TokenPath(dir) {
		t.Errorf("nothing yet: %q", got)
	}
	os.WriteFile(secrets.APIToken(dir).Marker, nil, 0o600)
	if got := tokenWhere(dir); got != `the OS keyring, service "LAFS Sync"` {
		t.Errorf("in the keyring: %q", got)
	}
	os.WriteFile(client.TokenPath(dir), []byte("t\n"), 0o600) // exported, or fallen back
	if got := tokenWhere(dir); got != client.TokenPath(dir) {
		t.Errorf("with the file: %q", got)
	}
}
