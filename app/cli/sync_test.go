package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/fullnode/fullnodetest"
	"github.com/lafssync/lafssync/node/webapi"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/api/apitest"
	"github.com/lafssync/lafssync/syncer/remote"
)

// fakeSyncNode serves the web API (token and all) with the folder sync
// over a fake Manager mounted, as a running node does, and writes the
// node directory's node.url and token. mount false: not mounted yet.
func fakeSyncNode(t *testing.T, mount bool) (dir string, m *apitest.Fake, srv *httptest.Server) {
	t.Helper()
	dir = t.TempDir()
	token, err := webapi.LoadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	m = apitest.New("docs", "photos")
	web := webapi.NewDynamic(func() *client.Client { return nil }, nil, token)
	if mount {
		web.Mount(webapi.SyncPrefix, api.Handler(m))
	}
	srv = httptest.NewServer(web)
	t.Cleanup(srv.Close)
	if err := os.WriteFile(filepath.Join(dir, "node.url"), []byte(srv.URL+"/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, m, srv
}

func TestSyncNoNode(t *testing.T) {
	empty := t.TempDir()
	dir, _, srv := fakeSyncNode(t, true)
	srv.Close() // a node that ran and stopped leaves node.url behind
	for _, d := range []string{empty, dir} {
		for _, args := range [][]string{{"list"}, {"status", "docs"}, {"add", "x"}, {"pause"}, {"share", "docs"}, {"history", "a"}} {
			code, out, errs := run(append([]string{"-d", d, "sync"}, args...)...)
			want := "lafs: No LAFS Sync node is running for " + d + ". Start one with: lafs daemon (or make run)\n"
			if code == 0 || out != "" || errs != want {
				t.Errorf("sync %v in %s: exit %d, %q %q", args, d, code, out, errs)
			}
		}
	}
}

func TestSyncStarting(t *testing.T) {
	dir, _, _ := fakeSyncNode(t, false)
	code, _, errs := run("-d", dir, "sync", "list")
	if code == 0 || !strings.Contains(errs, "the folder sync is starting (node in "+dir+"); try again in a moment") {
		t.Errorf("before the mount: %d %q", code, errs)
	}
}

func TestSyncCommands(t *testing.T) {
	dir, m, _ := fakeSyncNode(t, true)
	m.Set("docs", api.FolderStatus{Path: "/home/u/docs", Mode: "sync", State: api.Syncing, Detail: "syncing 3 files, 2.1 MB of 10 MB, about 4 s left",
		Files: 12, Bytes: 10_000_000, Servers: api.Servers{Reachable: 8, Known: 10, Happy: 7}, Watcher: "polling",
		Progress:  &api.Progress{Files: 3, DoneBytes: 2_100_000, TotalBytes: 10_000_000, ETASeconds: 4, Current: []api.FileProgress{{Path: "big.iso", Direction: "up", DoneBytes: 1_000_000, TotalBytes: 8_000_000}}},
		Conflicts: []api.Conflict{{Path: "notes.txt", Copy: "notes.sync-conflict-20261201-100000-abcdefghij.txt", Time: time.Now()}},
		Errors:    []api.FileError{{Path: "secret.txt", Error: "permission denied", Hint: "give yourself read permission: chmod u+r secret.txt"}},
		Skipped:   []api.Skipped{{Path: "link", Reason: "a symbolic link"}}})
	lafs := func(args ...string) (int, string, string) {
		return run(append([]string{"-d", dir, "sync"}, args...)...)
	}
	wd, _ := os.Getwd()
	tests := []struct {
		args      []string
		code      int
		out, errs []string // each in stdout / stderr
	}{
		{args: []string{"list"}, out: []string{"NAME    STATE       DIRECTORY", "docs    syncing     /home/u/docs  (syncing 3 files, 2.1 MB of 10 MB, about 4 s left)", "photos  up-to-date  /home/u/photos"}},
		{args: []string{"list", "--json"}, out: []string{`"name": "photos"`, `"state": "syncing"`}},
		{args: []string{"status", "docs"}, out: []string{
			"docs  /home/u/docs  (synced both ways)",
			"State        syncing 3 files, 2.1 MB of 10 MB, about 4 s left",
			"Transfers    3 files left, 2.1 MB of 10.0 MB, about 4s left",
			"uploading   big.iso  1.0 MB of 8.0 MB",
			"Servers      8 of 10 storage servers reachable (7 needed to store new files)",
			"Watcher      polling (the system's limit on watched directories was reached",
			"Conflicts    1: both sides changed these files",
			"notes.txt  (other version: notes.sync-conflict-20261201-100000-abcdefghij.txt",
			"secret.txt: permission denied — give yourself read permission: chmod u+r secret.txt",
			"link: a symbolic link"}},
		{args: []string{"status", "/home/u/photos/"}, out: []string{"photos  /home/u/photos", "State        up-to-date"}},
		{args: []string{"status"}, out: []string{"docs  /home/u/docs", "photos  /home/u/photos"}},
		{args: []string{"status", "--json", "photos"}, out: []string{`"name": "photos"`}},
		{args: []string{"status", "nope"}, code: 1, errs: []string{`"nope" is not a synced folder's name or directory: lafs sync list shows them`}},
		{args: []string{"add", "music", "--name", "tunes"}, out: []string{"Syncing " + filepath.Join(wd, "music") + ` as folder "tunes", in a new grid directory.`, "lafs sync share tunes --write"}},
		{args: []string{"add", "/home/u/laptop", "--to", "URI:DIR2:a:b"}, out: []string{"joined to your existing folder"}},
		{args: []string{"add", "/home/u/docs", "--name", "docs"}, code: 1, errs: []string{`add /home/u/docs: folder "docs": folder already exists`}},
		{args: []string{"follow", "URI:DIR2-RO:a:b", "/home/u/friend"}, out: []string{`Following into /home/u/friend as folder "friend" (read-only`}},
		{args: []string{"follow", "URI:DIR2-RO:a:b"}, code: 1, errs: []string{"accepts 2 arg(s), received 1", "usage: lafs sync follow READCAP LOCAL_DIR"}},
		{args: []string{"pause", "docs", "--for", "30m"}, out: []string{"Paused docs until "}},
		{args: []string{"pause"}, out: []string{"Paused every folder (5) until resumed (lafs sync resume)."}},
		{args: []string{"resume", "/home/u/docs"}, out: []string{"Resumed docs: up-to-date."}},
		{args: []string{"resume"}, out: []string{"Resumed every folder (5)."}},
		{args: []string{"share", "docs"}, out: []string{"URI:DIR2-RO:aaaa:bbbb\n"}},
		{args: []string{"share", "docs", "--snapshot"}, out: []string{"URI:DIR2-CHK:eeee:ffff:1:1:100\n"}},
		{args: []string{"share", "docs", "--write"}, out: []string{"URI:DIR2:cccc:dddd\n"}, errs: []string{"Warning: this is the WRITE cap of folder docs"}},
		{args: []string{"share", "friend", "--write"}, code: 1, errs: []string{`share friend: folder "friend": folder is read-only`}},
		{args: []string{"share", "docs", "--write", "--snapshot"}, code: 1, errs: []string{"none of the others can be"}},
		{args: []string{"history", "/home/u/docs/a.txt"}, out: []string{"a.txt in folder docs:", "current", "replaced ", "devB", "lafs sync restore /home/u/docs/a.txt --version N"}},
		{args: []string{"history", "--json", "/home/u/docs/a.txt"}, out: []string{`"by": "devB"`}},
		{args: []string{"history", "/home/u/docs/b.txt"}, code: 1, errs: []string{"b.txt: the grid keeps no version of it in folder docs"}},
		{args: []string{"history", "/elsewhere/a.txt"}, code: 1, errs: []string{"/elsewhere/a.txt is not inside a synced folder"}},
		{args: []string{"history", "/home/u/docs"}, code: 1, errs: []string{"is the folder docs itself"}},
		{args: []string{"restore", "/home/u/docs/sub/../a.txt", "--version", "2", "--to", "out.txt"}, out: []string{"Restored version 2 of a.txt to " + filepath.Join(wd, "out.txt")}},
		{args: []string{"restore", "/home/u/docs/a.txt"}, out: []string{"Restored the most recent previous version of a.txt to /home/u/docs/a.txt"}},
		{args: []string{"remove", "photos", "--keep-remote"}, out: []string{"Stopped syncing photos (/home/u/photos); the local files are untouched.", "grid directory is kept"}},
		{args: []string{"remove", "photos"}, code: 1, errs: []string{`"photos" is not a synced folder's name`}},
	}
	for _, tt := range tests {
		code, out, errs := lafs(tt.args...)
		bad := code != tt.code
		for _, w := range tt.out {
			bad = bad || !strings.Contains(out, w)
		}
		for _, w := range tt.errs {
			bad = bad || !strings.Contains(errs, w)
		}
		if bad {
			t.Errorf("lafs sync %s: exit %d\n%s%s", strings.Join(tt.args, " "), code, out, errs)
		}
	}
	want := []string{
		"add " + filepath.Join(wd, "music") + " name=tunes to=false follow=false",
		"add /home/u/laptop name= to=true follow=false",
		"add /home/u/docs name=docs to=false follow=false",
		"add /home/u/friend name= to=false follow=true",
		"pause docs 30m0s",
	}
	if got := m.Calls(); len(got) < len(want) || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s", strings.Join(got, "\n"))
	}
	calls := strings.Join(m.Calls(), "\n")
	for _, w := range []string{"restore docs a.txt v2 to=" + filepath.Join(wd, "out.txt"), "restore docs a.txt v0 to=", "remove photos keep=true"} {
		if !strings.Contains(calls, w) {
			t.Errorf("no call %q in\n%s", w, calls)
		}
	}
	var l []api.FolderStatus
	_, out, _ := lafs("list", "--json")
	if err := json.Unmarshal([]byte(out), &l); err != nil || len(l) != 4 {
		t.Errorf("list --json: %d folders, %v", len(l), err)
	}
}

// A folder added at a path that did not exist is made, and the output
// says so (a mistyped path shows); an existing one is not mentioned. A
// bad cap is said without the API's "bad request".
func TestSyncAddSaysItMadeTheDirectory(t *testing.T) {
	dir, m, _ := fakeSyncNode(t, true)
	m.MakeDirs = true
	root := t.TempDir()
	fresh, existing := filepath.Join(root, "fresh"), filepath.Join(root, "existing")
	os.Mkdir(existing, 0o755)
	code, out, errs := run("-d", dir, "sync", "add", fresh)
	if code != 0 || !strings.Contains(out, fresh+" did not exist: made it, empty.") {
		t.Errorf("add of a missing directory: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run("-d", dir, "sync", "add", existing)
	if code != 0 || strings.Contains(out, "did not exist") {
		t.Errorf("add of an existing directory: exit %d\n%s%s", code, out, errs)
	}
	bad := &api.ResponseError{Status: 400, Code: api.CodeBadInput, Message: "bad request: not a LAFS Sync folder: the cap given is not valid"}
	if err := (&syncConn{nodeDir: dir}).explain(bad); err.Error() != "not a LAFS Sync folder: the cap given is not valid" || !errors.Is(err, api.ErrBadInput) {
		t.Errorf("a bad request is said as %q (still a bad request: %v)", err, errors.Is(err, api.ErrBadInput))
	}
}

// TestSyncShareQR: a terminal gets a QR code of the cap; a pipe only the cap.
func TestSyncShareQR(t *testing.T) {
	dir, _, _ := fakeSyncNode(t, true)
	code, out, _ := runTTY(t, true, false, "-d", dir, "sync", "share", "docs")
	if code != 0 || !strings.HasPrefix(out, "URI:DIR2-RO:aaaa:bbbb\n") || !strings.Contains(out, "█") {
		t.Errorf("terminal: %d %q", code, out)
	}
	code, out, _ = runTTY(t, false, false, "-d", dir, "sync", "share", "docs")
	if code != 0 || out != "URI:DIR2-RO:aaaa:bbbb\n" {
		t.Errorf("pipe: %d %q", code, out)
	}
}

func TestDeviceID(t *testing.T) {
	if got := deviceID("v0-abcdefghijklmnopqrstuvwxyz"); got != "abcdefghij" {
		t.Errorf("deviceID: %q", got)
	}
}

// TestSyncMountedInRunningNode: a running node's web API serves what the
// app mounts at /sync/ (503 "starting" before), behind its token, and the
// grid adapter sees the local grid's ten servers.
func TestSyncMountedInRunningNode(t *testing.T) {
	dir := t.TempDir()
	n := fullnodetest.StartLocalGrid(t, dir)
	code, _, errs := run("-d", dir, "sync", "list")
	if code == 0 || !strings.Contains(errs, "the folder sync is starting") {
		t.Errorf("before the mount: %d %q", code, errs)
	}
	n.MountWeb(webapi.SyncPrefix, api.Handler(apitest.New("docs")))
	code, out, errs := run("-d", dir, "sync", "list")
	if code != 0 || !strings.Contains(out, "docs  up-to-date  /home/u/docs") {
		t.Errorf("after the mount: %d %q %q", code, out, errs)
	}
	// The last of the ten connections may still be coming up.
	var h remote.Health
	if !testkit.Poll(20*time.Second, func() bool {
		h = (nodeGrid{n: n}).Health()
		return h.Reachable == fullnode.LocalGridSize
	}) || h.Known != fullnode.LocalGridSize || h.Happy != 7 || !h.OK() {
		t.Errorf("health %+v", h)
	}
	if g := (nodeGrid{n: n}); g.Immutable() == nil || g.Dirs() == nil {
		t.Error("no grid clients")
	}
	// The event stream flushes through the node's web server.
	token, _ := readToken(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, err := api.NewClient(n.WebURL(), token, nil).Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-evs:
		if ev.Type != "status" || ev.Folder != "docs" {
			t.Errorf("first event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Error("no event through the node's web API")
	}
	cancel()
	for range evs {
	}
}

// fakeHealth is a remote.Grid whose health a test sets.
type fakeHealth struct {
	remote.Grid
	ok    atomic.Bool
	calls atomic.Int32
}

func (f *fakeHealth) Health() remote.Health {
	f.calls.Add(1)
	if f.ok.Load() {
		return remote.Health{Reachable: 7, Known: 10, Happy: 7}
	}
	return remote.Health{Reachable: 2, Known: 10, Happy: 7}
}

// TestKickOnReconnect: the folders are told to check the grid when it
// comes back, once per return.
func TestKickOnReconnect(t *testing.T) {
	g := &fakeHealth{}
	var kicks atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); kickOnReconnect(ctx, g, func() { kicks.Add(1) }, time.Millisecond) }()
	// seen waits until the loop has looked at the health twice more.
	seen := func() {
		n := g.calls.Load()
		testkit.WaitFor(t, "health checks", 5*time.Second, func() bool { return g.calls.Load() >= n+2 })
	}
	seen()
	if kicks.Load() != 0 {
		t.Fatal("kicked while the grid stayed away")
	}
	g.ok.Store(true)
	testkit.WaitFor(t, "a kick", 5*time.Second, func() bool { return kicks.Load() == 1 })
	seen()
	g.ok.Store(false)
	seen()
	g.ok.Store(true)
	testkit.WaitFor(t, "a second kick", 5*time.Second, func() bool { return kicks.Load() == 2 })
	seen()
	cancel()
	<-done
	if k := kicks.Load(); k != 2 {
		t.Errorf("%d kicks for two returns", k)
	}
}

// TestSyncPathsThroughSymlinks: a folder and a file in it are found by a
// path through a symbolic link (macOS's /tmp is one), also for a file
// that no longer exists.
func TestSyncPathsThroughSymlinks(t *testing.T) {
	dir, m, _ := fakeSyncNode(t, true)
	root := t.TempDir()
	real := filepath.Join(root, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(root, "link")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	m.Set("docs", api.FolderStatus{Path: real, Mode: "sync", State: api.UpToDate})
	code, out, errs := run("-d", dir, "sync", "history", filepath.Join(root, "link", "a.txt"))
	if code != 0 || !strings.Contains(out, "a.txt in folder docs:") {
		t.Errorf("history through a link: %d %q %q", code, out, errs)
	}
	code, out, errs = run("-d", dir, "sync", "status", filepath.Join(root, "link"))
	if code != 0 || !strings.Contains(out, "docs  "+real) {
		t.Errorf("status through a link: %d %q %q", code, out, errs)
	}
}

// TestBannerSuggestsSyncAdd: the daemon's banner starts the next steps
// with the folder sync, which runs now.
func TestBannerSuggestsSyncAdd(t *testing.T) {
	var b strings.Builder
	printBanner(&b, "/n", "http://127.0.0.1:1/", 10, false)
	steps := b.String()[strings.Index(b.String(), "Next, in another terminal:"):]
	if !strings.Contains(steps, "sync add DIR") || strings.Index(steps, "sync add DIR") > strings.Index(steps, "create-alias") ||
		strings.Contains(b.String(), "not built") {
		t.Errorf("banner:\n%s", b.String())
	}
}
