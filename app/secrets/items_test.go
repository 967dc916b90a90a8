package secrets

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/webapi"
)

// writeOldLayout stores list as the folder list exactly as the store did
// before it kept more than one item: "<key>/folders" and
// "<key>/folders/<gen>/<i>", 1,536-byte chunks in base64.
func writeOldLayout(t *testing.T, nodeDir string, gen string, list []byte) {
	t.Helper()
	key := Key(nodeDir)
	n := 0
	for i := 0; i*1536 < len(list); i++ {
		c := list[i*1536 : min(len(list), (i+1)*1536)]
		if err := keyring.Set("LAFS Sync", fmt.Sprintf("%s/folders/%s/%d", key, gen, i), base64.StdEncoding.EncodeToString(c)); err != nil {
			t.Fatal(err)
		}
		n++
	}
	sum := sha256.Sum256(list)
	m := fmt.Sprintf("lafs-secrets v1 gen=%s chunks=%d size=%d sha256=%s", gen, n, len(list), hex.EncodeToString(sum[:]))
	if err := keyring.Set("LAFS Sync", key+"/folders", m); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(nodeDir, "private", "sync-folders.keyring"), []byte("in the keyring\n")); err != nil {
		t.Fatal(err)
	}
}

// A keyring written by the single-item store loads, and the next save
// goes on from it (the other generation, the old one deleted).
func TestOldFolderLayoutStillLoads(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	old := folderList(25, "before") // several chunks
	writeOldLayout(t, dir, "b", old)
	rec := newRecorder(OSKeyring{})
	s := New(dir, Options{Keyring: rec})
	if got := mustLoad(t, s); !bytes.Equal(got, old) || s.Mode() != ModeKeyring {
		t.Fatalf("old layout: %d bytes, mode %q", len(got), s.Mode())
	}
	next := folderList(3, "after")
	mustSave(t, s, next)
	if got := mustLoad(t, New(dir, Options{})); !bytes.Equal(got, next) {
		t.Fatal("the save after the old layout did not read back")
	}
	if _, err := keyring.Get(Service, Key(dir)+"/folders/b/0"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("the old generation's first chunk is still there: %v", err)
	}
	// The other items of the same node are beside it, not in it.
	st, restore := Install(Options{Keyring: OSKeyring{}})
	defer restore()
	if err := st.SaveAliases(dir, map[string]string{"home": "URI:DIR2:h:h"}); err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, New(dir, Options{})); !bytes.Equal(got, next) {
		t.Fatal("saving the aliases changed the folder list")
	}
}

func aliasesOf(n int, tag string) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("%s%d", tag, i)] = fmt.Sprintf("URI:DIR2:%s%052d:%s%052d", tag, i, tag, i)
	}
	return m
}

// Without a keyring the aliases are in Tahoe's file (and its format);
// when the keyring comes, they move into it, the file goes only after the
// copy read back equal, and nothing under the node directory holds a cap.
func TestAliasesFallBackThenMigrate(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	k := &switchable{Keyring: OSKeyring{}}
	k.set(true)
	st := NewStores(Options{Keyring: k})
	want := aliasesOf(60, "a") // > 2,560 bytes: chunked
	if err := st.SaveAliases(dir, want); err != nil {
		t.Fatal(err)
	}
	s := st.Store(dir, Aliases)
	if s.Mode() != ModeFile || !strings.Contains(s.Warning(), "the aliases (root directory caps) are kept in "+config.AliasesPath(dir)) {
		t.Fatalf("mode %q, warning %q", s.Mode(), s.Warning())
	}
	if got, err := (config.FileAliases{}).LoadAliases(dir); err != nil || !maps.Equal(got, want) {
		t.Fatalf("the fallback file in Tahoe's format: %d aliases, %v", len(got), err)
	}
	if !strings.HasPrefix(WhereItem(dir, Aliases(dir)), "Aliases: in "+config.AliasesPath(dir)) {
		t.Errorf("Where: %q", WhereItem(dir, Aliases(dir)))
	}

	k.set(false)
	got, err := NewStores(Options{Keyring: k}).LoadAliases(dir)
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("migrating load: %d aliases, %v", len(got), err)
	}
	if exists(config.AliasesPath(dir)) || !exists(config.AliasesMarkerPath(dir)) {
		t.Fatalf("after migration: file %v, marker %v", exists(config.AliasesPath(dir)), exists(config.AliasesMarkerPath(dir)))
	}
	if got, _ := NewStores(Options{Keyring: k}).LoadAliases(dir); !maps.Equal(got, want) {
		t.Fatal("the keyring's aliases differ after migration")
	}
	if w := WhereItem(dir, Aliases(dir)); !strings.Contains(w, "a stock tahoe CLI does not see them") {
		t.Errorf("Where: %q", w)
	}
	noCapUnder(t, dir)

	// The keyring gone again: Load says what to do, and names no cap.
	k.set(true)
	_, err = NewStores(Options{Keyring: k}).LoadAliases(dir)
	if err == nil || !strings.Contains(err.Error(), "unlock the keyring") || !strings.Contains(err.Error(), Key(dir)+"/aliases") || strings.Contains(err.Error(), "URI:") {
		t.Fatalf("Load with the keyring gone: %v", err)
	}
}

// A migration whose read-back does not match keeps the file.
func TestAliasMigrationKeepsFileUnlessVerified(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	want := aliasesOf(3, "v")
	if err := (config.FileAliases{}).SaveAliases(dir, want); err != nil {
		t.Fatal(err)
	}
	st := NewStores(Options{Keyring: corruptingAll{OSKeyring{}}})
	if got, err := st.LoadAliases(dir); err != nil || !maps.Equal(got, want) {
		t.Fatalf("Load: %v, %v", got, err)
	}
	if s := st.Store(dir, Aliases); s.Mode() != ModeFile || !exists(config.AliasesPath(dir)) {
		t.Fatalf("mode %q, file %v", s.Mode(), exists(config.AliasesPath(dir)))
	}
}

// corruptingAll returns every chunk damaged.
type corruptingAll struct{ Keyring }

func (c corruptingAll) Get(s, u string) (string, error) {
	v, err := c.Keyring.Get(s, u)
	if err == nil && strings.Count(u, "/") >= 3 {
		v = "AAAA" + v[4:]
	}
	return v, err
}

// A crash at any step of migrating the aliases file loses no alias: the
// file, or the keyring copy, or both, hold them all.
func TestCrashDuringAliasMigrationLosesNothing(t *testing.T) {
	before := aliasesOf(30, "old")
	for n := 0; ; n++ {
		if n > 300 {
			t.Fatal("the migration never completed")
		}
		keyring.MockInit()
		dir := t.TempDir()
		// Some aliases already in the keyring, more in the file.
		if err := NewStores(Options{Keyring: OSKeyring{}}).SaveAliases(dir, before); err != nil {
			t.Fatal(err)
		}
		want := maps.Clone(before)
		maps.Copy(want, aliasesOf(20, "new"))
		if err := os.WriteFile(config.AliasesPath(dir), config.FormatAliases(aliasesOf(20, "new")), 0o600); err != nil {
			t.Fatal(err)
		}
		c := &crashing{Keyring: OSKeyring{}, n: n}
		NewStores(Options{Keyring: c}).LoadAliases(dir)
		completed := c.n >= 0
		got, err := NewStores(Options{Keyring: OSKeyring{}}).LoadAliases(dir)
		if err != nil {
			t.Fatalf("crash after %d calls: %v", n, err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("crash after %d calls: %d aliases, want %d", n, len(got), len(want))
		}
		if exists(config.AliasesPath(dir)) {
			t.Fatalf("crash after %d calls: the file is still there after a working load", n)
		}
		if completed {
			break
		}
	}
}

// Aliases that a program without keyring access (or a tahoe CLI, after
// an export) wrote to the file are merged with the keyring's: a name both
// have takes the file's cap, the keyring's is kept beside it.
func TestMergeAliases(t *testing.T) {
	kr := config.FormatAliases(map[string]string{"home": "URI:DIR2:k:k", "old": "URI:DIR2:o:o", "same": "URI:DIR2:s:s"})
	file := config.FormatAliases(map[string]string{"home": "URI:DIR2:f:f", "new": "URI:DIR2:n:n", "same": "URI:DIR2:s:s"})
	b, err := mergeAliases(file, kr)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := config.ParseAliases(b, "merged")
	want := map[string]string{"home": "URI:DIR2:f:f", "home.keyring": "URI:DIR2:k:k", "old": "URI:DIR2:o:o", "new": "URI:DIR2:n:n", "same": "URI:DIR2:s:s"}
	if !maps.Equal(got, want) {
		t.Fatalf("merged %v", got)
	}
	if again, _ := mergeAliases(b, kr); !bytes.Equal(again, b) {
		t.Error("merging twice adds more")
	}
	if _, err := mergeAliases([]byte("no colon URI-secret\n"), kr); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("a bad file: %v", err)
	}
}

// A keyring that never answers: the aliases file is used within the
// timeout; with the aliases in the keyring and no file, the error says
// to unlock it.
func TestLockedKeyringAliasesTimeOut(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	if err := NewStores(Options{Keyring: OSKeyring{}}).SaveAliases(dir, aliasesOf(2, "l")); err != nil {
		t.Fatal(err)
	}
	b := &blocking{release: make(chan struct{})}
	st := NewStores(Options{Keyring: b, Timeout: 100 * time.Millisecond})
	t.Cleanup(func() { close(b.release); st.Store(dir, Aliases).gate.wait() })
	start := time.Now()
	_, err := st.LoadAliases(dir)
	if err == nil || !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "unlock the keyring") {
		t.Fatalf("Load: %v", err)
	}
	// A new alias while it hangs goes to the file (refused at once), and
	// is read back from it.
	want := aliasesOf(1, "x")
	if err := st.SaveAliases(dir, want); err != nil {
		t.Fatal(err)
	}
	if got, err := st.LoadAliases(dir); err != nil || !maps.Equal(got, want) {
		t.Fatalf("Load from the file: %v, %v", got, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v with a 100 ms timeout", took)
	}
}

// The token: made in the keyring; without a keyring a new one is made in
// the file (losing a token costs nothing), and it moves into the keyring
// when that is back.
func TestTokenInKeyringAndFallback(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	k := &switchable{Keyring: OSKeyring{}}
	_, restore := Install(Options{Keyring: k})
	defer restore()
	tok, err := webapi.LoadToken(dir)
	if err != nil || len(tok) < 40 {
		t.Fatalf("LoadToken: %v", err)
	}
	if exists(client.TokenPath(dir)) || !exists(APIToken(dir).Marker) {
		t.Fatal("the token went to a file")
	}
	if again, _ := client.ReadToken(dir); again != tok {
		t.Fatal("ReadToken differs")
	}
	k.set(true)
	_, restore2 := Install(Options{Keyring: k}) // a new process
	defer restore2()
	if got, err := client.ReadToken(dir); err != nil || got != "" {
		t.Fatalf("ReadToken with the keyring gone: %d chars, %v", len(got), err)
	}
	tok2, err := webapi.LoadToken(dir)
	if err != nil || tok2 == tok || !exists(client.TokenPath(dir)) {
		t.Fatalf("LoadToken with the keyring gone: %v, file %v", err, exists(client.TokenPath(dir)))
	}
	if fi, _ := os.Stat(client.TokenPath(dir)); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", fi.Mode())
	}
	k.set(false)
	if got, err := client.ReadToken(dir); err != nil || got != tok2 {
		t.Fatalf("ReadToken after the keyring came back: %v", err)
	}
	if exists(client.TokenPath(dir)) {
		t.Fatal("the token file stays after the keyring holds it")
	}
}

// Exported for Tahoe: the files are written and kept, a save writes them
// too; --stop moves them back.
func TestExportTahoe(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	st := NewStores(Options{Keyring: OSKeyring{}})
	if files, err := st.ExportTahoe(dir); err != nil || len(files) != 0 {
		t.Fatalf("export of a new node: %v, %v", files, err)
	}
	if err := st.SaveAliases(dir, aliasesOf(1, "e")); err != nil {
		t.Fatal(err)
	}
	if err := st.SetToken(dir, "tok"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{config.AliasesPath(dir), client.TokenPath(dir)} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s while exported: %v", p, err)
		}
	}
	if !strings.Contains(WhereItem(dir, Aliases(dir)), "as you asked") {
		t.Errorf("Where: %q", WhereItem(dir, Aliases(dir)))
	}
	os.Remove(config.AliasesPath(dir)) // a user tidying up: the next load writes it again
	if _, err := st.LoadAliases(dir); err != nil || !exists(config.AliasesPath(dir)) {
		t.Fatalf("exported file not rewritten: %v", err)
	}
	left, err := st.StopExport(dir)
	if err != nil || len(left) != 0 || exists(config.AliasesPath(dir)) || exists(client.TokenPath(dir)) {
		t.Fatalf("stop: %v, %v", left, err)
	}
	if got, _ := st.LoadAliases(dir); !maps.Equal(got, aliasesOf(1, "e")) {
		t.Fatal("aliases lost by the export round trip")
	}
	if got, _ := st.Token(dir); got != "tok" {
		t.Fatal("token lost by the export round trip")
	}
}

func TestSessionBusOffered(t *testing.T) {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		t.Skip("no session bus to look for")
	}
	run := t.TempDir()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", run)
	if sessionBusOffered() {
		t.Fatal("offered with no address and no socket")
	}
	if err := os.WriteFile(filepath.Join(run, "bus"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if sessionBusOffered() {
		t.Fatal("a plain file taken for the bus socket")
	}
	os.Remove(filepath.Join(run, "bus"))
	l, err := net.Listen("unix", filepath.Join(run, "bus"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !sessionBusOffered() {
		t.Fatal("the socket in XDG_RUNTIME_DIR not seen")
	}
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
	if !sessionBusOffered() {
		t.Fatal("the address in the environment not taken")
	}
}

// noCapUnder fails if a file under dir holds a cap.
func noCapUnder(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("URI:DIR2:")) {
				t.Errorf("%s holds a cap", p)
			}
		}
		return nil
	})
}

// A damaged token in the keyring is replaced, not a node that cannot
// start.
func TestDamagedTokenIsRemade(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	st := NewStores(Options{Keyring: OSKeyring{}})
	if err := st.SetToken(dir, "first"); err != nil {
		t.Fatal(err)
	}
	if err := keyring.Set(Service, Key(dir)+"/api-token/a/0", "not base64!"); err != nil {
		t.Fatal(err)
	}
	_, restore := Install(Options{Keyring: OSKeyring{}})
	defer restore()
	tok, err := webapi.LoadToken(dir)
	if err != nil || tok == "first" || len(tok) < 40 {
		t.Fatalf("LoadToken over a damaged copy: %v", err)
	}
	if got, err := NewStores(Options{Keyring: OSKeyring{}}).Token(dir); err != nil || got != tok {
		t.Fatalf("the new token read back: %v", err)
	}
}
