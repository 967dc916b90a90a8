package secrets

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/webapi"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
)

// childEnv marks the test binary re-run by TestRealKeyring: a fresh
// process whose go-keyring provider is the real Secret Service (the other
// tests replace it with keyring.MockInit, for good) and whose godbus
// session connection goes to the test's private bus.
const childEnv = "LAFSSYNC_KEYRING_CHILD"

// TestRealKeyring is the real round trip: gnome-keyring unlocked on a
// private D-Bus session bus; a node's folder sync stores its caps there
// (and the aliases and web API token go there, and come back),
// restarts, reads them back and syncs on; the keyring goes away (the
// fallback file with its warning), comes back (migration); and a node
// whose caps are in an unreachable keyring refuses to start empty.
func TestRealKeyring(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		var missing []string
		for _, bin := range []string{"dbus-daemon", "gnome-keyring-daemon"} {
			if _, err := exec.LookPath(bin); err != nil {
				missing = append(missing, bin)
			}
		}
		if len(missing) > 0 {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI must run the real keyring test, but %s is missing: scripts/deps.sh installs dbus and gnome-keyring", strings.Join(missing, " and "))
			}
			t.Skipf("the real keyring test needs %s (Debian: apt install dbus gnome-keyring; scripts/deps.sh does it)", strings.Join(missing, " and "))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRealKeyring$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), childEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the real keyring test (a child process) failed: %v\n%s", err, out)
		}
		t.Logf("child:\n%s", out)
		return
	}
	realKeyring(t)
}

// session is a private D-Bus session bus, optionally with gnome-keyring.
type session struct {
	t    *testing.T
	tmp  string
	addr string
	bus  *exec.Cmd
	gk   *exec.Cmd
	gkl  bytes.Buffer
	conn *dbus.Conn // the test's own connection, to watch names
}

const secretsName = "org.freedesktop.secrets"

// startBus starts a dbus-daemon with no service directories, so nothing
// is activated behind the test's back (a stock session bus would start a
// gnome-keyring of its own when the test has stopped ours).
func startBus(t *testing.T) *session {
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "bus.conf")
	err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=`+tmp+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, tmp: tmp}
	s.bus = exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	out, err := s.bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.bus.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(s.stopBus)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	s.addr = strings.TrimSpace(line)
	if s.conn, err = dbus.Connect(s.addr); err != nil {
		t.Fatalf("connect to the private bus: %v", err)
	}
	return s
}

func (s *session) stopBus() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	s.stopKeyring()
	if s.bus != nil {
		s.bus.Process.Kill()
		s.bus.Wait()
		s.bus = nil
	}
}

func (s *session) owned() bool {
	var has bool
	err := s.conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, secretsName).Store(&has)
	return err == nil && has
}

// startKeyring starts gnome-keyring-daemon (secrets only) with the login
// keyring unlocked by a password on stdin, as a desktop login does, its
// files in the test's own HOME; the same tmp keeps them across restarts.
func (s *session) startKeyring() {
	t := s.t
	home := filepath.Join(s.tmp, "home")
	run := filepath.Join(s.tmp, "run")
	for _, d := range []string{home, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	s.gkl.Reset()
	s.gk = exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	s.gk.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_RUNTIME_DIR=" + run,
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "DBUS_SESSION_BUS_ADDRESS=" + s.addr}
	s.gk.Stdin = strings.NewReader("the login password")
	s.gk.Stdout, s.gk.Stderr = &s.gkl, &s.gkl
	if err := s.gk.Start(); err != nil {
		t.Fatalf("start gnome-keyring-daemon: %v", err)
	}
	ok := testkit.Poll(20*time.Second, func() bool {
		if !s.owned() {
			return false
		}
		v, err := s.conn.Object(secretsName, "/org/freedesktop/secrets").GetProperty("org.freedesktop.Secret.Service.Collections")
		paths, _ := v.Value().([]dbus.ObjectPath)
		return err == nil && slices.Contains(paths, "/org/freedesktop/secrets/collection/login")
	})
	if !ok {
		t.Fatalf("gnome-keyring-daemon did not offer an unlocked login keyring on the bus:\n%s", s.gkl.String())
	}
}

func (s *session) stopKeyring() {
	if s.gk == nil {
		return
	}
	s.gk.Process.Signal(syscall.SIGTERM)
	s.gk.Wait()
	s.gk = nil
	if s.conn != nil && !testkit.Poll(10*time.Second, func() bool { return !s.owned() }) {
		s.t.Fatal("org.freedesktop.secrets still owned after gnome-keyring-daemon ended")
	}
}

// app is one start of the folder sync of a node: a Manager on the store.
type app struct {
	m     *syncer.Manager
	store *Store
	stop  func()
}

func startApp(t *testing.T, g *gridtest.Grid, nodeDir string) (*app, error) {
	t.Helper()
	st := New(nodeDir, Options{Log: slog.New(slog.DiscardHandler)})
	m, err := syncer.New(syncer.Config{NodeDir: nodeDir, Device: "deviceA", Grid: g, PollEvery: 100 * time.Millisecond,
		Log: slog.New(slog.DiscardHandler), Secrets: st})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	a := &app{m: m, store: st}
	var once sync.Once
	a.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	return a, nil
}

func mustStart(t *testing.T, g *gridtest.Grid, nodeDir string) *app {
	t.Helper()
	a, err := startApp(t, g, nodeDir)
	if err != nil {
		t.Fatalf("the folder sync did not start: %v", err)
	}
	t.Cleanup(a.stop)
	return a
}

func addFolder(t *testing.T, a *app, base, name string) string {
	t.Helper()
	dir := filepath.Join(base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Add(context.Background(), api.AddRequest{Path: dir, Name: name}); err != nil {
		t.Fatalf("add %s: %v", name, err)
	}
	return dir
}

func names(a *app) []string {
	var n []string
	for _, f := range a.m.List() {
		n = append(n, f.Name)
	}
	slices.Sort(n)
	return n
}

func realKeyring(t *testing.T) {
	s := startBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", s.addr)
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(s.tmp, "run")) // no stray $XDG_RUNTIME_DIR/bus
	t.Setenv(EnvKeyring, "")
	s.startKeyring()

	g := gridtest.New(10)
	base := t.TempDir()
	node := filepath.Join(base, "node")
	var want []string

	t.Log("1. the keyring is there: eight folders' caps go into it, in chunks")
	a := mustStart(t, g, node)
	for i := range 8 {
		name := fmt.Sprintf("folder-%d-with-a-longer-name-to-make-the-list-bigger", i)
		addFolder(t, a, base, name)
		want = append(want, name)
	}
	if a.store.Mode() != ModeKeyring || a.store.Warning() != "" {
		t.Fatalf("mode %q, warning %q", a.store.Mode(), a.store.Warning())
	}
	saved, err := New(node, Options{}).Load()
	if err != nil || len(saved) <= 2560 {
		t.Fatalf("the list in the keyring: %d bytes (want > 2,560, so chunked), %v", len(saved), err)
	}
	if exists(FilePath(node)) || !exists(MarkerPath(node)) {
		t.Fatalf("file %v, marker %v", exists(FilePath(node)), exists(MarkerPath(node)))
	}
	a.stop()

	t.Log("2. restart: the caps come back from the keyring and the folders sync on")
	a = mustStart(t, g, node)
	if got := names(a); !slices.Equal(got, want) {
		t.Fatalf("folders after restart: %v, want %v", got, want)
	}
	if a.store.Mode() != ModeKeyring {
		t.Fatalf("mode after restart %q", a.store.Mode())
	}
	if again, _ := New(node, Options{}).Load(); !bytes.Equal(again, saved) {
		t.Fatal("the caps read back differ from those stored")
	}
	first := filepath.Join(base, want[0])
	if err := os.WriteFile(filepath.Join(first, "after-restart.txt"), []byte("synced after a restart"), 0o644); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "after-restart.txt on the grid", 60*time.Second, func() bool {
		a.m.Kick()
		vs, err := a.m.History(context.Background(), want[0], "after-restart.txt")
		return err == nil && len(vs) > 0
	})

	t.Log("2b. the aliases (chunked) and the web API token round-trip through the keyring; export-tahoe and back")
	aliases := map[string]string{}
	for i := range 40 {
		aliases[fmt.Sprintf("alias-%02d", i)] = fmt.Sprintf("URI:DIR2:%052d:%052d", i, i)
	}
	if len(config.FormatAliases(aliases)) <= 2560 {
		t.Fatal("the aliases are too few to need chunks")
	}
	installed, restore := Install(Options{})
	defer restore()
	if err := config.SaveAliases(node, aliases); err != nil {
		t.Fatal(err)
	}
	token, err := webapi.LoadToken(node)
	if err != nil {
		t.Fatal(err)
	}
	if m := installed.Store(node, Aliases).Mode(); m != ModeKeyring {
		t.Fatalf("aliases in mode %q", m)
	}
	other := NewStores(Options{}) // another process
	if got, err := other.LoadAliases(node); err != nil || !maps.Equal(got, aliases) {
		t.Fatalf("aliases read back: %d, %v", len(got), err)
	}
	if got, err := other.Token(node); err != nil || got != token {
		t.Fatalf("token read back: %v", err)
	}
	if exists(config.AliasesPath(node)) || exists(client.TokenPath(node)) {
		t.Fatal("an aliases or token file exists beside the keyring")
	}
	if files, err := other.ExportTahoe(node); err != nil || len(files) != 2 {
		t.Fatalf("export-tahoe: %v, %v", files, err)
	}
	if b, _ := os.ReadFile(client.TokenPath(node)); strings.TrimSpace(string(b)) != token {
		t.Fatal("the exported token differs")
	}
	if left, err := other.StopExport(node); err != nil || len(left) != 0 {
		t.Fatalf("export-tahoe --stop: %v, %v", left, err)
	}

	t.Log("3. the keyring goes away: a new folder's caps fall back to the 0600 file, with the warning")
	s.stopKeyring()
	if _, err := NewStores(Options{}).LoadAliases(node); err == nil || !strings.Contains(err.Error(), "unlock the keyring") || strings.Contains(err.Error(), "URI:") {
		t.Fatalf("aliases with the keyring gone: %v", err)
	}
	if got, err := NewStores(Options{}).Token(node); err != nil || got != "" {
		t.Fatalf("token with the keyring gone: %d chars, %v", len(got), err)
	}
	_, restore = Install(Options{}) // a node started now makes a new token, in the file
	defer restore()
	token2, err := webapi.LoadToken(node)
	if err != nil || token2 == token || !exists(client.TokenPath(node)) {
		t.Fatalf("a new token without the keyring: %v, file %v", err, exists(client.TokenPath(node)))
	}
	addFolder(t, a, base, "added-without-keyring")
	want = append(want, "added-without-keyring")
	slices.Sort(want)
	w := a.store.Warning()
	if a.store.Mode() != ModeFile || !strings.Contains(w, "No OS keyring is available (no Secret Service on the session bus)") || !strings.Contains(w, FilePath(node)) {
		t.Fatalf("mode %q, warning %q", a.store.Mode(), w)
	}
	if fi, err := os.Stat(FilePath(node)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("fallback file: %v", err)
	}
	a.stop()
	a = mustStart(t, g, node) // restart without a keyring: the file is read
	if got := names(a); !slices.Equal(got, want) || a.store.Mode() != ModeFile {
		t.Fatalf("restart without a keyring: %v in %q", got, a.store.Mode())
	}
	a.stop()

	t.Log("4. a fresh node with no keyring starts in file mode")
	fresh := filepath.Join(base, "fresh")
	b := mustStart(t, g, fresh)
	addFolder(t, b, base, "fresh-folder")
	if b.store.Mode() != ModeFile || !exists(FilePath(fresh)) || !strings.HasPrefix(Where(fresh), "Folder caps: in "+FilePath(fresh)) {
		t.Fatalf("fresh node: mode %q, Where %q", b.store.Mode(), Where(fresh))
	}
	b.stop()

	t.Log("5. the keyring is back: both nodes' lists move into it, the files go")
	s.startKeyring()
	for _, n := range []string{node, fresh} {
		a := mustStart(t, g, n)
		if a.store.Mode() != ModeKeyring || exists(FilePath(n)) {
			t.Fatalf("%s after migration: mode %q, file %v", n, a.store.Mode(), exists(FilePath(n)))
		}
		a.stop()
	}
	a = mustStart(t, g, node)
	if got := names(a); !slices.Equal(got, want) {
		t.Fatalf("folders after migration: %v, want %v", got, want)
	}
	a.stop()
	back := NewStores(Options{})
	if got, err := back.LoadAliases(node); err != nil || !maps.Equal(got, aliases) {
		t.Fatalf("aliases after the keyring came back: %d, %v", len(got), err)
	}
	if got, err := back.Token(node); err != nil || got != token2 || exists(client.TokenPath(node)) {
		t.Fatalf("the file's token did not move into the keyring: %v, file %v", err, exists(client.TokenPath(node)))
	}

	t.Log("6. caps in the keyring, keyring gone, no file: the sync refuses to start empty")
	s.stopKeyring()
	if _, err := startApp(t, g, node); err == nil || !strings.Contains(err.Error(), "unlock the keyring") {
		t.Fatalf("start with the keyring gone: %v", err)
	}

	t.Log("7. no session bus at all (headless): file mode")
	s.stopBus()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("DISPLAY", "") // no dbus-launch autolaunch of a bus either
	headless := filepath.Join(base, "headless")
	st := New(headless, Options{})
	if err := st.Save([]byte(`{"v":1,"folders":[]}`)); err != nil {
		t.Fatal(err)
	}
	if st.Mode() != ModeFile || !strings.Contains(st.Warning(), "No OS keyring is available") {
		t.Fatalf("headless: mode %q, warning %q", st.Mode(), st.Warning())
	}
	t.Logf("headless warning: %s", st.Warning())
}
