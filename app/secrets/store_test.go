package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/lafssync/lafssync/internal/testkit"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// The real-keyring child keeps godbus' session connection open.
		os.Exit(m.Run())
	}
	// go-keyring is mocked (keyring.MockInit) in every test here: there
	// is no bus to look for.
	busOffered = func() bool { return true }
	testkit.VerifyNoLeaks(m)
}

// folderList is a folder list like syncer's, n folders long, each with a
// (fake) write cap of the shape Tahoe's are.
func folderList(n int, tag string) []byte {
	var b strings.Builder
	b.WriteString(`{"v":1,"folders":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":"%016x","name":"folder %d %s","path":"/home/ü/%s/%d","mode":"sync","cap":"URI:DIR2:%s%052d:%s%052d"}`,
			i, i, tag, tag, i, tag, i, tag, i)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// recorder wraps a Keyring and remembers what exists and the largest
// value set.
type recorder struct {
	Keyring
	mu      sync.Mutex
	items   map[string]bool
	largest int
	sets    int
}

func newRecorder(k Keyring) *recorder { return &recorder{Keyring: k, items: map[string]bool{}} }

func (r *recorder) Set(service, user, pw string) error {
	err := r.Keyring.Set(service, user, pw)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.items[service+"|"+user] = true
		r.largest = max(r.largest, len(pw))
		r.sets++
	}
	return err
}

func (r *recorder) Delete(service, user string) error {
	err := r.Keyring.Delete(service, user)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		delete(r.items, service+"|"+user)
	}
	return err
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

// crashing passes the first n calls through, then fails every call as a
// process that died would (nothing more reaches the keyring).
type crashing struct {
	Keyring
	mu sync.Mutex
	n  int
}

var errCrashed = errors.New("crashed")

func (c *crashing) ok() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	return c.n >= 0
}
func (c *crashing) Set(s, u, p string) error {
	if !c.ok() {
		return errCrashed
	}
	return c.Keyring.Set(s, u, p)
}
func (c *crashing) Get(s, u string) (string, error) {
	if !c.ok() {
		return "", errCrashed
	}
	return c.Keyring.Get(s, u)
}
func (c *crashing) Delete(s, u string) error {
	if !c.ok() {
		return errCrashed
	}
	return c.Keyring.Delete(s, u)
}

func mustLoad(t *testing.T, s *Store) []byte {
	t.Helper()
	b, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return b
}

func mustSave(t *testing.T, s *Store, b []byte) {
	t.Helper()
	if err := s.Save(b); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func TestChunkedListRoundTripsAndShrinks(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	rec := newRecorder(OSKeyring{})
	s := New(dir, Options{Keyring: rec})
	big := folderList(40, "big") // ~7 KB: five chunks
	if len(big) < 3*2560 {
		t.Fatalf("test list only %d bytes", len(big))
	}
	mustSave(t, s, big)
	if s.Mode() != ModeKeyring || s.Warning() != "" {
		t.Fatalf("mode %q, warning %q", s.Mode(), s.Warning())
	}
	if rec.largest > 2560 {
		t.Errorf("an item of %d bytes: over Windows' 2,560", rec.largest)
	}
	// macOS: base64 again, its prefix and the account, in 4,096 bytes.
	if mac := 18 + (rec.largest+2)/3*4 + len(s.chunkAccount("a", 999)) + len(Service) + 60; mac > 4096 {
		t.Errorf("a macOS security command of ~%d bytes: over 4,096", mac)
	}
	chunks := (len(big) + chunkSize - 1) / chunkSize
	if got := rec.count(); got != chunks+1 {
		t.Errorf("%d items in the keyring, want %d chunks and the manifest", got, chunks)
	}
	if exists(FilePath(dir)) {
		t.Error("the file exists in keyring mode")
	}
	if got := mustLoad(t, New(dir, Options{Keyring: rec})); !bytes.Equal(got, big) {
		t.Fatalf("after restart: %d bytes, want %d", len(got), len(big))
	}
	small := folderList(1, "small")
	mustSave(t, s, small)
	if got := rec.count(); got != 2 {
		t.Errorf("%d items after shrinking to one chunk, want 2 (old generation deleted)", got)
	}
	if got := mustLoad(t, New(dir, Options{Keyring: rec})); !bytes.Equal(got, small) {
		t.Fatalf("after shrinking: %q", got)
	}
	// An empty list is a list, not "nothing saved".
	mustSave(t, s, []byte{})
	if got, err := New(dir, Options{Keyring: rec}).Load(); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty list: %q, %v", got, err)
	}
}

func TestNodesDoNotShareItems(t *testing.T) {
	keyring.MockInit()
	base := t.TempDir()
	a, b := filepath.Join(base, "n", "node"), filepath.Join(base, "m", "node") // same base name
	mustSave(t, New(a, Options{}), folderList(3, "A"))
	mustSave(t, New(b, Options{}), folderList(3, "B"))
	if Key(a) == Key(b) {
		t.Fatalf("same key %q for two nodes", Key(a))
	}
	if got := mustLoad(t, New(a, Options{})); !bytes.Equal(got, folderList(3, "A")) {
		t.Fatalf("node a reads %q", got)
	}
	if long := Key(strings.Repeat("ü", 100)); len(long) > 40+13 {
		t.Errorf("key of a long directory name: %d bytes", len(long))
	}
}

// A crash at any step of a save leaves the old list or the new one, never
// a mix or an error, and the next save cleans up.
func TestCrashMidSaveLeavesOneWholeList(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	rec := newRecorder(OSKeyring{})
	old, next := folderList(30, "old"), folderList(20, "new")
	mustSave(t, New(dir, Options{Keyring: rec}), old)
	sawNew := false
	for n := 0; ; n++ {
		if n > 200 {
			t.Fatal("the save never completed")
		}
		c := &crashing{Keyring: rec, n: n}
		s := New(dir, Options{Keyring: c})
		_ = s.Save(next)
		completed := c.n >= 0
		// The process died before it could write the fallback file.
		os.Remove(FilePath(dir))
		got, err := New(dir, Options{Keyring: rec}).Load()
		if err != nil {
			t.Fatalf("crash after %d calls: Load: %v", n, err)
		}
		switch {
		case bytes.Equal(got, next):
			sawNew = true
		case bytes.Equal(got, old):
			if sawNew {
				t.Fatalf("crash after %d calls: the old list is back", n)
			}
		default:
			t.Fatalf("crash after %d calls: a list of neither: %d bytes", n, len(got))
		}
		// Put the old list back (a complete save) for the next round.
		if completed {
			break
		}
		mustSave(t, New(dir, Options{Keyring: rec}), old)
	}
	if !sawNew {
		t.Fatal("never saw the new list")
	}
	last := folderList(12, "last") // two chunks
	mustSave(t, New(dir, Options{Keyring: rec}), last)
	if got, want := rec.count(), (len(last)+chunkSize-1)/chunkSize+1; got != want {
		t.Errorf("%d items after a clean save, want %d (no leftovers)", got, want)
	}
}

func TestNoKeyringFallsBackToFileThenMigrates(t *testing.T) {
	keyring.MockInitWithError(errors.New("dbus: couldn't determine address of session bus"))
	dir := t.TempDir()
	s := New(dir, Options{})
	if got := mustLoad(t, s); got != nil {
		t.Fatalf("fresh node: %q", got)
	}
	list := folderList(12, "fb")
	mustSave(t, s, list)
	w := s.Warning()
	if s.Mode() != ModeFile || !strings.Contains(w, "No OS keyring is available (no D-Bus session bus)") ||
		!strings.Contains(w, FilePath(dir)) || !strings.Contains(w, "move into the keyring automatically") {
		t.Fatalf("mode %q, warning %q", s.Mode(), w)
	}
	if strings.Contains(w, "URI:") {
		t.Fatal("the warning shows a cap")
	}
	fi, err := os.Stat(FilePath(dir))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("fallback file: %v %v", err, fi)
	}
	if !strings.HasPrefix(Where(dir), "Folder caps: in "+FilePath(dir)) {
		t.Errorf("Where: %q", Where(dir))
	}

	keyring.MockInit() // the keyring is there now
	s2 := New(dir, Options{})
	if got := mustLoad(t, s2); !bytes.Equal(got, list) {
		t.Fatalf("migrating Load: %d bytes", len(got))
	}
	if s2.Mode() != ModeKeyring || exists(FilePath(dir)) || !exists(MarkerPath(dir)) {
		t.Fatalf("after migration: mode %q, file %v, marker %v", s2.Mode(), exists(FilePath(dir)), exists(MarkerPath(dir)))
	}
	if got := mustLoad(t, New(dir, Options{})); !bytes.Equal(got, list) {
		t.Fatal("the keyring copy differs after migration")
	}
	if Where(dir) != `Folder caps: in the OS keyring (service "LAFS Sync").` {
		t.Errorf("Where: %q", Where(dir))
	}
	marker, _ := os.ReadFile(MarkerPath(dir))
	if strings.Contains(string(marker), "URI:") {
		t.Fatal("the marker holds a cap")
	}
}

// corrupting returns damaged chunks.
type corrupting struct{ Keyring }

func (c corrupting) Get(s, u string) (string, error) {
	v, err := c.Keyring.Get(s, u)
	if err == nil && strings.Contains(u, "/folders/") {
		v = "AAAA" + v[4:]
	}
	return v, err
}

// A migration whose read-back does not match keeps the file.
func TestMigrationKeepsFileUnlessVerified(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	list := folderList(5, "v")
	if err := writeFile(FilePath(dir), list); err != nil {
		t.Fatal(err)
	}
	s := New(dir, Options{Keyring: corrupting{OSKeyring{}}})
	if got := mustLoad(t, s); !bytes.Equal(got, list) {
		t.Fatal("Load did not return the file's list")
	}
	if s.Mode() != ModeFile || !exists(FilePath(dir)) || exists(MarkerPath(dir)) {
		t.Fatalf("mode %q, file %v, marker %v", s.Mode(), exists(FilePath(dir)), exists(MarkerPath(dir)))
	}
	if !strings.Contains(s.Warning(), "did not keep the folder list") {
		t.Errorf("warning %q", s.Warning())
	}
}

// switchable is a keyring that can go away and come back with its items.
type switchable struct {
	Keyring
	mu   sync.Mutex
	down bool
}

var errNoBus = errors.New("dbus: couldn't determine address of session bus")

func (k *switchable) set(down bool) { k.mu.Lock(); k.down = down; k.mu.Unlock() }
func (k *switchable) isDown() bool  { k.mu.Lock(); defer k.mu.Unlock(); return k.down }
func (k *switchable) Set(s, u, p string) error {
	if k.isDown() {
		return errNoBus
	}
	return k.Keyring.Set(s, u, p)
}
func (k *switchable) Get(s, u string) (string, error) {
	if k.isDown() {
		return "", errNoBus
	}
	return k.Keyring.Get(s, u)
}
func (k *switchable) Delete(s, u string) error {
	if k.isDown() {
		return errNoBus
	}
	return k.Keyring.Delete(s, u)
}

// With the list in the keyring and the keyring gone, Load fails rather
// than start with no folders; a Save then goes to the file, which wins
// over the older keyring copy when the keyring is back.
func TestKeyringGoneAfterUseRefusesEmptyStart(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	k := &switchable{Keyring: OSKeyring{}}
	first, second := folderList(3, "one"), folderList(4, "two")
	mustSave(t, New(dir, Options{Keyring: k}), first)

	k.set(true)
	_, err := New(dir, Options{Keyring: k}).Load()
	if err == nil || !strings.Contains(err.Error(), "unlock the keyring") || !strings.Contains(err.Error(), MarkerPath(dir)) {
		t.Fatalf("Load with the keyring gone: %v", err)
	}
	s := New(dir, Options{Keyring: k})
	mustSave(t, s, second) // e.g. a running daemon whose keyring went away
	if s.Mode() != ModeFile || !strings.Contains(s.Warning(), "no D-Bus session bus") {
		t.Fatalf("mode %q, warning %q", s.Mode(), s.Warning())
	}
	if got := mustLoad(t, New(dir, Options{Keyring: k})); !bytes.Equal(got, second) {
		t.Fatal("the file's list is not read while the keyring is gone")
	}

	k.set(false) // back, still holding first
	if got := mustLoad(t, New(dir, Options{Keyring: k})); !bytes.Equal(got, second) {
		t.Fatal("the older keyring copy won over the file")
	}
	if exists(FilePath(dir)) {
		t.Fatal("the file was not removed after migration")
	}
	if got := mustLoad(t, New(dir, Options{Keyring: k})); !bytes.Equal(got, second) {
		t.Fatal("the keyring does not hold the migrated list")
	}

	keyring.MockInit() // a reset keyring: the marker says the list should be there
	if _, err := New(dir, Options{Keyring: k}).Load(); err == nil || !strings.Contains(err.Error(), "holds no folder list") {
		t.Fatalf("Load from a reset keyring: %v", err)
	}
}

// blocking never answers until released.
type blocking struct {
	release chan struct{}
}

func (b *blocking) wait() error                      { <-b.release; return errors.New("too late") }
func (b *blocking) Set(string, string, string) error { return b.wait() }
func (b *blocking) Get(string, string) (string, error) {
	return "", b.wait()
}
func (b *blocking) Delete(string, string) error { return b.wait() }

func TestHangingKeyringTimesOutToFile(t *testing.T) {
	dir := t.TempDir()
	k := &blocking{release: make(chan struct{})}
	s := New(dir, Options{Keyring: k, Timeout: 100 * time.Millisecond})
	t.Cleanup(func() { close(k.release); s.gate.wait() })
	start := time.Now()
	if got := mustLoad(t, s); got != nil {
		t.Fatalf("Load: %q", got)
	}
	list := folderList(2, "h")
	mustSave(t, s, list) // the first call still hangs: refused at once
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Load and Save took %v with a 100 ms timeout", took)
	}
	if s.Mode() != ModeFile || !strings.Contains(s.Warning(), "did not answer") && !strings.Contains(s.Warning(), "has not answered") {
		t.Fatalf("mode %q, warning %q", s.Mode(), s.Warning())
	}
	if got := mustLoad(t, New(dir, Options{Keyring: k, Timeout: 100 * time.Millisecond})); !bytes.Equal(got, list) {
		t.Fatal("the file does not hold the list")
	}
}

func TestKeyringOffByEnvironment(t *testing.T) {
	keyring.MockInit()
	t.Setenv(EnvKeyring, "off")
	dir := t.TempDir()
	s := New(dir, Options{})
	mustSave(t, s, folderList(1, "off"))
	if s.Mode() != ModeFile || !strings.Contains(s.Warning(), "LAFSSYNC_KEYRING=off") {
		t.Fatalf("mode %q, warning %q", s.Mode(), s.Warning())
	}
}

// No file under the node directory holds a cap once the list is in the
// keyring.
func TestNoCapOnDiskInKeyringMode(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	if err := writeFile(FilePath(dir), folderList(3, "disk")); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, New(dir, Options{})) // migrates
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("URI:DIR2:")) {
				t.Errorf("%s holds a cap", p)
			}
		}
		return nil
	})
}

func TestParseManifest(t *testing.T) {
	m := manifest{gen: "b", chunks: 2, size: 2000, sum: strings.Repeat("0", 64)}
	if got, err := parseManifest(m.String()); err != nil || got != m {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "lafs-secrets v2 gen=a chunks=1 size=1 sha256=" + strings.Repeat("0", 64),
		"lafs-secrets v1 gen=c chunks=1 size=1 sha256=" + strings.Repeat("0", 64),
		"lafs-secrets v1 gen=a chunks=1 size=5000 sha256=" + strings.Repeat("0", 64),
		"lafs-secrets v1 gen=a chunks=99999 size=1 sha256=" + strings.Repeat("0", 64)} {
		if _, err := parseManifest(bad); err == nil {
			t.Errorf("parseManifest(%q) accepted", bad)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add(manifest{gen: "a", chunks: 3, size: 4000, sum: strings.Repeat("f", 64)}.String())
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseManifest(s)
		if err == nil && (m.chunks > maxChunks || m.size > m.chunks*chunkSize) {
			t.Fatalf("accepted %+v", m)
		}
	})
}
