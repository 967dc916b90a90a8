package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/syncer/api"
)

// The tray app's benchmarks (issue 11), measured on the real binary on the
// private desktop of scripts/with-desktop.sh: scripts/bench-tray.sh runs
// them (LAFSSYNC_BENCH=1); docs/benchmarks.md "Tray app" has the figures.
//
//   - TestBenchTrayStart: process start → the tray's StatusNotifierItem
//     name owned on the session bus (the moment a desktop's tray can show
//     the icon), and → the tray menu listing the folder, with 10,000 files
//     in the folder, against a node with no folder and a first start.
//   - TestBenchTrayUpload: the UI event loop's longest wait (uiprobe.go)
//     while a 1 GiB file dropped into a synced folder uploads.
//
// Environment: LAFSSYNC_BENCH_RUNS (starts per case, default 7),
// LAFSSYNC_BENCH_CASES (the start cases, a comma-separated subset of
// "10k,empty,first"; default all three: without 10k there is no 10,000-file
// node to prepare), LAFSSYNC_BENCH_UPLOADS (1 GiB uploads, default 3),
// LAFSSYNC_BENCH_DIR
// (keeps the prepared 10,000-file node there across runs), LAFSSYNC_BENCH_BIN
// (a built lafsync; default: built from this directory). LAFSSYNC_BENCH_GRID
// (the upload only) names the node directory of a `lafs daemon` running
// meanwhile: each upload's node is then made a client of that daemon's
// local grid (lafs create-node --introducer, with LAFSSYNC_BENCH_LAFS or a
// lafs built from ../lafs), so the storage servers run in another process
// than the app, instead of in the app's own embedded local grid.

const (
	benchFiles    = 10000
	startGoal     = time.Second
	stallGoal     = 100 * time.Millisecond
	benchUploadSz = 1 << 30
)

func benchEnv(t *testing.T) {
	t.Helper()
	if os.Getenv("LAFSSYNC_BENCH") == "" {
		t.Skip("a benchmark of the real tray app: run scripts/bench-tray.sh (LAFSSYNC_BENCH=1 under scripts/with-desktop.sh)")
	}
	if os.Getenv("DISPLAY") == "" || os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("LAFSSYNC_BENCH is set but DISPLAY or DBUS_SESSION_BUS_ADDRESS is not: run under scripts/with-desktop.sh")
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func benchBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("LAFSSYNC_BENCH_BIN"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "lafsync")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer is the app's output, written by exec's copier and read by
// the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runningApp is one start of the real binary.
type runningApp struct {
	cmd     *exec.Cmd
	started time.Time // just before fork/exec
	exited  chan error
	logs    *lockedBuffer
	dest    string // its StatusNotifierItem's well-known name
}

func startApp(t *testing.T, bin, home, xdg string, env ...string) *runningApp {
	t.Helper()
	// LAFSSYNC_KEYRING=off: waitAPI reads the node's private/api_auth_token,
	// which an unlocked keyring would hold instead.
	return launchApp(t, bin, append([]string{"LAFSSYNC_HOME=" + home, "XDG_CONFIG_HOME=" + xdg, "LAFSSYNC_NO_WIZARD=1",
		"LAFSSYNC_KEYRING=off", startTraceEnv + "=1"}, env...))
}

// launchApp starts bin with args, env added to the test's. At the end of
// the test it is killed if still running, and its output logged if the
// test failed.
func launchApp(t *testing.T, bin string, env []string, args ...string) *runningApp {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	a := &runningApp{cmd: cmd, exited: make(chan error, 1), logs: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = a.logs, a.logs
	a.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.dest = "org.kde.StatusNotifierItem-" + strconv.Itoa(cmd.Process.Pid) + "-1"
	go func() { a.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-a.exited:
			a.exited <- err
		default:
			cmd.Process.Kill()
			<-a.exited
		}
		if t.Failed() {
			t.Logf("app output (%v):\n%s", env, tail(a.logs.String(), 4000))
		}
	})
	return a
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// signal is a D-Bus signal and when the test received it.
type signal struct {
	*dbus.Signal
	at time.Time
}

// busWatch is the test's own session-bus connection: it hears every
// StatusNotifierItem name change and every dbusmenu LayoutUpdated as
// they happen (no polling to distort the figures), and reads menus.
type busWatch struct {
	conn *dbus.Conn
	sigs chan signal
}

func newBusWatch(t *testing.T) *busWatch {
	t.Helper()
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg0Namespace("org.kde")); err != nil {
		t.Fatal(err)
	}
	if err := conn.AddMatchSignal(dbus.WithMatchInterface("com.canonical.dbusmenu"), dbus.WithMatchMember("LayoutUpdated")); err != nil {
		t.Fatal(err)
	}
	raw := make(chan *dbus.Signal, 1024)
	conn.Signal(raw)
	w := &busWatch{conn: conn, sigs: make(chan signal, 1024)}
	go func() {
		for s := range raw {
			w.sigs <- signal{s, time.Now()}
		}
	}()
	return w
}

func (w *busWatch) drain() {
	for {
		select {
		case <-w.sigs:
		default:
			return
		}
	}
}

// menuItem is one item of a dbusmenu layout.
type menuItem struct {
	id    int32
	label string
}

// menu reads the tray menu of dest (com.canonical.dbusmenu.GetLayout).
func (w *busWatch) menu(dest string) ([]menuItem, error) {
	call := w.conn.Object(dest, "/StatusNotifierMenu").Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if call.Err != nil {
		return nil, call.Err
	}
	var items []menuItem
	for _, v := range call.Body {
		walkLayout(v, &items)
	}
	return items, nil
}

// walkLayout collects the items of a layout: each is (id, properties,
// children as variants).
func walkLayout(v any, items *[]menuItem) {
	switch x := v.(type) {
	case dbus.Variant:
		walkLayout(x.Value(), items)
	case []dbus.Variant:
		for _, c := range x {
			walkLayout(c, items)
		}
	case []any:
		if len(x) == 3 {
			id, ok1 := x[0].(int32)
			props, ok2 := x[1].(map[string]dbus.Variant)
			if ok1 && ok2 {
				if l, ok := props["label"].Value().(string); ok {
					*items = append(*items, menuItem{id, l})
				}
			}
		}
		for _, c := range x {
			walkLayout(c, items)
		}
	}
}

func hasLabel(items []menuItem, prefix string) bool {
	return slices.ContainsFunc(items, func(i menuItem) bool { return strings.HasPrefix(i.label, prefix) })
}

// quit clicks the tray menu's Quit over D-Bus, as a desktop's tray does,
// and waits for the app to exit.
func (w *busWatch) quit(t *testing.T, a *runningApp) {
	t.Helper()
	items, err := w.menu(a.dest)
	if err != nil {
		t.Fatalf("read the tray menu to quit: %v", err)
	}
	i := slices.IndexFunc(items, func(i menuItem) bool { return i.label == ui.QuitLabel })
	if i < 0 {
		t.Fatalf("no Quit in the tray menu: %v", items)
	}
	if call := w.conn.Object(a.dest, "/StatusNotifierMenu").Call("com.canonical.dbusmenu.Event", 0,
		items[i].id, "clicked", dbus.MakeVariant(int32(0)), uint32(0)); call.Err != nil {
		// The app may quit before it answers the click.
		if e, ok := call.Err.(dbus.Error); !ok || e.Name != "org.freedesktop.DBus.Error.NoReply" {
			t.Fatalf("click Quit: %v", call.Err)
		}
	}
	select {
	case err := <-a.exited:
		a.exited <- err
		if err != nil {
			t.Fatalf("app exited with %v after Quit", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("app still running 60 s after Quit was clicked in the tray menu")
	}
}

// startTimes is one start: from just before fork/exec to the SNI name
// owned, to the first menu with the folder's line (read back over D-Bus),
// and to that line saying "up to date" (the background scan and grid
// check done).
type startTimes struct {
	sni, menu, upToDate time.Duration
	// main is when main logged "started" (the window and tray set up,
	// the node not yet started, the event loop not yet running), from
	// the log's millisecond timestamp; 0 if not found.
	main time.Duration
	// sniCPU is the CPU time (user + system, all threads) the app had
	// used when its tray name appeared: what the start costs, which the
	// machine's load does not stretch (10 ms resolution).
	sniCPU time.Duration
	// stages are the app's start-up trace (LAFSSYNC_START_TRACE,
	// starttrace.go), by stage.
	stages map[string]stageTime
}

// stageTime is when a start-up stage came (from the start) and the CPU
// the app had used by then (its own getrusage).
type stageTime struct{ at, cpu time.Duration }

// startStages reads the start-up trace's lines from the app's log.
func startStages(logs string, since time.Time) map[string]stageTime {
	m := map[string]stageTime{}
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, `msg="start stage"`) {
			continue
		}
		f := strings.Fields(l)
		if len(f) == 0 || !strings.HasPrefix(f[0], "time=") {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
		if err != nil {
			continue
		}
		stage := ""
		if i := strings.Index(l, " stage="); i >= 0 {
			rest := l[i+len(" stage="):]
			if strings.HasPrefix(rest, `"`) {
				if j := strings.Index(rest[1:], `"`); j >= 0 {
					stage = rest[1 : j+1]
				}
			} else if j := strings.IndexByte(rest, ' '); j >= 0 {
				stage = rest[:j]
			}
		}
		var cpu time.Duration
		for _, x := range f {
			if v, ok := strings.CutPrefix(x, "cpu_ms="); ok {
				n, _ := strconv.Atoi(v)
				cpu = time.Duration(n) * time.Millisecond
			}
		}
		if stage != "" {
			m[stage] = stageTime{at.Sub(since), cpu}
		}
	}
	return m
}

// traceStages are the start-up stages the benchmark reports, in order.
var traceStages = []string{stageMain, stageWindow, stageTraySetup, stageShown, stageTray, stageNodeGo, stageNode}

// cpuTime is a process's user + system CPU time from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+sys) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// mainStarted finds main's "started" line in the app's log.
func mainStarted(logs string, since time.Time) time.Duration {
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, " msg=started ") {
			continue
		}
		f := strings.Fields(l)
		if len(f) == 0 || !strings.HasPrefix(f[0], "time=") {
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time=")); err == nil {
			return at.Sub(since)
		}
	}
	return 0
}

// measureStart starts the app and times it. folder "" waits for any menu
// with Quit (a node with no folder has no folder line).
func measureStart(t *testing.T, w *busWatch, bin, home, xdg, folder string) startTimes {
	t.Helper()
	w.drain()
	a := startApp(t, bin, home, xdg)
	var st startTimes
	var owner string
	want := ui.QuitLabel
	if folder != "" {
		want = folder + " — "
	}
	deadline := time.After(120 * time.Second)
	poll := time.NewTicker(100 * time.Millisecond) // only if a LayoutUpdated were missed
	defer poll.Stop()
	check := func() {
		items, err := w.menu(a.dest)
		if err != nil {
			return
		}
		now := time.Since(a.started)
		if st.menu == 0 && hasLabel(items, want) {
			st.menu = now
		}
		if folder != "" && st.upToDate == 0 && hasLabel(items, folder+" — up to date") {
			st.upToDate = now
		}
	}
	for st.menu == 0 || (folder != "" && st.upToDate == 0) {
		select {
		case s := <-w.sigs:
			switch {
			case s.Name == "org.freedesktop.DBus.NameOwnerChanged" && len(s.Body) == 3 && s.Body[0] == a.dest:
				if o, _ := s.Body[2].(string); o != "" && st.sni == 0 {
					st.sni, owner = s.at.Sub(a.started), o
					st.sniCPU = cpuTime(a.cmd.Process.Pid)
					check()
				}
			case s.Name == "com.canonical.dbusmenu.LayoutUpdated" && owner != "" && s.Sender == owner:
				check()
			}
		case <-poll.C:
			if owner != "" {
				check()
			}
		case err := <-a.exited:
			a.exited <- err
			t.Fatalf("app exited (%v) before its tray showed", err)
		case <-deadline:
			t.Fatalf("after 120 s: name owned %v, menu %v, up to date %v", st.sni, st.menu, st.upToDate)
		}
	}
	// Quit once the node is up and the tray has settled: a Quit while
	// the folder sync comes up can crash the app (a tray refresh queued
	// before Quit runs after the tray's D-Bus connection closed; reported
	// to the tray's owner), which is not what this measures.
	waitAPI(t, context.Background(), home)
	time.Sleep(2 * time.Second)
	st.main = mainStarted(a.logs.String(), a.started)
	st.stages = startStages(a.logs.String(), a.started)
	w.quit(t, a)
	return st
}

// waitAPI waits for the app's node to answer the folder sync's API.
func waitAPI(t *testing.T, ctx context.Context, home string) *api.Client {
	t.Helper()
	var c *api.Client
	waitFor(t, 120*time.Second, "the folder sync's API in the app's node", func() bool {
		u, err1 := os.ReadFile(filepath.Join(home, "node.url"))
		tok, err2 := os.ReadFile(filepath.Join(home, "private", "api_auth_token"))
		if err1 != nil || err2 != nil {
			return false
		}
		cl := api.NewClient(strings.TrimRight(strings.TrimSpace(string(u)), "/"), strings.TrimSpace(string(tok)), nil)
		if _, err := cl.List(ctx); err != nil {
			return false
		}
		c = cl
		return true
	})
	return c
}

// addFolder adds a folder, retrying while the node has not yet found
// enough storage servers on its local grid (it answers 503 then).
func addFolder(t *testing.T, ctx context.Context, c *api.Client, r api.AddRequest) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if _, err = c.Add(ctx, r); err == nil {
			return
		}
	}
	t.Fatalf("add the folder %s: %v", r.Name, err)
}

// waitUpToDate waits for folder to be up to date with files files.
func waitUpToDate(t *testing.T, ctx context.Context, c *api.Client, folder string, files int, limit time.Duration) api.FolderStatus {
	t.Helper()
	var st api.FolderStatus
	deadline := time.Now().Add(limit)
	last := time.Now()
	for {
		var err error
		st, err = c.Status(ctx, folder)
		if err == nil && st.State == api.UpToDate && st.Files == files && st.Progress == nil {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not up to date with %d files after %v: %+v (err %v)", folder, files, limit, st, err)
		}
		if time.Since(last) > 30*time.Second {
			t.Logf("%s: %s, %d files, %s", folder, st.State, st.Files, st.Detail)
			last = time.Now()
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// prepare10k makes (or finds, in LAFSSYNC_BENCH_DIR) a node whose folder
// "Docs" holds benchFiles small files, all synced to its local grid.
func prepare10k(t *testing.T, w *busWatch, bin, dir, xdg string) (home string) {
	t.Helper()
	home = filepath.Join(dir, "node-10k")
	ready := filepath.Join(dir, "node-10k.ready")
	if _, err := os.Stat(ready); err == nil {
		t.Logf("using the prepared node in %s", home)
		return home
	}
	// Preparing resumes where a run that timed out left it: the files
	// are made once, and a node that has the folder goes on syncing it.
	docs := filepath.Join(dir, "Docs")
	made := filepath.Join(dir, "Docs.made")
	if _, err := os.Stat(made); err != nil {
		os.RemoveAll(home)
		os.RemoveAll(docs)
		makeSmallFiles(t, docs)
		if err := os.WriteFile(made, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	a := startApp(t, bin, home, xdg)
	c := waitAPI(t, ctx, home)
	if _, err := c.Status(ctx, "Docs"); err != nil {
		addFolder(t, ctx, c, api.AddRequest{Path: docs, Name: "Docs"})
	}
	begin := time.Now()
	st := waitUpToDate(t, ctx, c, "Docs", benchFiles, time.Duration(envInt("LAFSSYNC_BENCH_PREP_MINUTES", 45))*time.Minute)
	t.Logf("prepared: %d files, %d bytes synced in %v", st.Files, st.Bytes, time.Since(begin).Round(time.Second))
	waitFor(t, 30*time.Second, "the tray menu", func() bool { _, err := w.menu(a.dest); return err == nil })
	w.quit(t, a)
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

// makeSmallFiles makes benchFiles files in 100 directories, 100 B – 4 KiB
// each (CHK files, not literal caps: Tahoe keeps files ≤ 55 bytes inside
// the cap).
func makeSmallFiles(t *testing.T, docs string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4096)
	for d := range 100 {
		sub := filepath.Join(docs, fmt.Sprintf("dir%03d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range benchFiles / 100 {
			for i := range buf {
				buf[i] = byte('a' + rng.IntN(26))
			}
			n := 100 + rng.IntN(4096-100)
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("note%03d.txt", f)), buf[:n], 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// prepareEmpty makes a node that has run once and has no folder.
func prepareEmpty(t *testing.T, w *busWatch, bin, dir, xdg string) string {
	t.Helper()
	home := filepath.Join(dir, "node-empty")
	os.RemoveAll(home)
	a := startApp(t, bin, home, xdg)
	waitAPI(t, context.Background(), home)
	waitFor(t, 30*time.Second, "the tray menu", func() bool { _, err := w.menu(a.dest); return err == nil })
	w.quit(t, a)
	return home
}

// durStats is the median and max of ds, "–" if none was measured.
func durStats(ds []time.Duration) string {
	if len(ds) == 0 || slices.Contains(ds, 0) {
		return "–"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("median %v, min %v, max %v", s[len(s)/2].Round(time.Millisecond), s[0].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func TestBenchTrayStart(t *testing.T) {
	benchEnv(t)
	bin := benchBinary(t)
	dir := os.Getenv("LAFSSYNC_BENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	xdg := filepath.Join(t.TempDir(), "config")
	w := newBusWatch(t)
	runs := envInt("LAFSSYNC_BENCH_RUNS", 7)

	want := map[string]bool{"10k": true, "empty": true, "first": true}
	if c := os.Getenv("LAFSSYNC_BENCH_CASES"); c != "" {
		want = map[string]bool{}
		for _, k := range strings.Split(c, ",") {
			want[strings.TrimSpace(k)] = true
		}
	}
	type result struct {
		main, sni, sniCPU, menu, upToDate []time.Duration
		stageAt, stageCPU                 map[string][]time.Duration
	}
	type benchCase struct {
		name, folder string
		home         func(run int) string
	}
	var cases []benchCase
	if want["10k"] {
		home10k := prepare10k(t, w, bin, dir, xdg)
		cases = append(cases, benchCase{"10,000 files", "Docs", func(int) string { return home10k }})
	}
	if want["empty"] {
		homeEmpty := prepareEmpty(t, w, bin, t.TempDir(), xdg)
		cases = append(cases, benchCase{"no folder", "", func(int) string { return homeEmpty }})
	}
	if want["first"] {
		cases = append(cases, benchCase{"first start (new node dir)", "", func(run int) string { return filepath.Join(t.TempDir(), fmt.Sprintf("fresh%d", run)) }})
	}
	if len(cases) == 0 {
		t.Fatalf("LAFSSYNC_BENCH_CASES=%q names none of 10k, empty, first", os.Getenv("LAFSSYNC_BENCH_CASES"))
	}
	t.Logf("load before the runs: %s", loadAvg())
	res := make([]result, len(cases))
	// Interleaved, so that the machine's load drifts over all cases alike.
	for run := range runs {
		for i, c := range cases {
			st := measureStart(t, w, bin, c.home(run), xdg, c.folder)
			res[i].main = append(res[i].main, st.main)
			res[i].sni = append(res[i].sni, st.sni)
			res[i].sniCPU = append(res[i].sniCPU, st.sniCPU)
			res[i].menu = append(res[i].menu, st.menu)
			if c.folder != "" {
				res[i].upToDate = append(res[i].upToDate, st.upToDate)
			}
			if res[i].stageAt == nil {
				res[i].stageAt, res[i].stageCPU = map[string][]time.Duration{}, map[string][]time.Duration{}
			}
			for name, s := range st.stages {
				res[i].stageAt[name] = append(res[i].stageAt[name], s.at)
				res[i].stageCPU[name] = append(res[i].stageCPU[name], s.cpu)
			}
			t.Logf("run %d, %s: main set up %v, name owned %v (CPU used by then %v), menu %v, up to date %v (load %s)", run+1, c.name,
				st.main.Round(time.Millisecond), st.sni.Round(time.Millisecond), st.sniCPU, st.menu.Round(time.Millisecond), st.upToDate.Round(time.Millisecond), loadAvg())
		}
	}
	for i, c := range cases {
		t.Logf("BENCH tray start, %s, %d runs: main set up (log) %s; tray icon (SNI name owned) %s, CPU used by then %s; menu with %s %s", c.name, runs,
			durStats(res[i].main), durStats(res[i].sni), durStats(res[i].sniCPU), map[bool]string{true: "the folder's line", false: "Quit"}[c.folder != ""], durStats(res[i].menu))
		for _, name := range traceStages {
			if len(res[i].stageAt[name]) == runs {
				t.Logf("BENCH tray start, %s, stage %q: at %s; CPU used by then %s", c.name, name, durStats(res[i].stageAt[name]), durStats(res[i].stageCPU[name]))
			}
		}
		if c.folder != "" {
			t.Logf("BENCH tray start, %s: folder up to date in the menu (background scan and grid check) %s", c.name, durStats(res[i].upToDate))
		}
	}
	for i, c := range cases {
		s := slices.Clone(res[i].sni)
		slices.Sort(s)
		met := s[len(s)/2] < startGoal && s[len(s)-1] < startGoal
		t.Logf("BENCH tray start goal (< %v, median and max), %s: met=%v (the goal is for %d files) (load %s)", startGoal, c.name, met, benchFiles, loadAvg())
	}
}

// probeWindow is the probe's figures over the samples taken in [from, to].
func probeWindow(r ProbeReport, from, to time.Time) (n int, p50, p99, maxd time.Duration, over int) {
	var ds []int64
	for i, at := range r.At {
		if at >= from.UnixMilli() && at <= to.UnixMilli() {
			ds = append(ds, r.DelayUS[i])
		}
	}
	slices.Sort(ds)
	for _, d := range ds {
		if time.Duration(d)*time.Microsecond > stallGoal {
			over++
		}
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	if len(ds) == 0 {
		return 0, 0, 0, 0, 0
	}
	return len(ds), us(percentile(ds, 50)), us(percentile(ds, 99)), us(ds[len(ds)-1]), over
}

// probeGap is the longest time in [from, to] between one sample's end
// (handed over plus its wait) and the next sample.
func probeGap(r ProbeReport, from, to time.Time) time.Duration {
	var g int64
	prev := -1
	for i, at := range r.At {
		if at < from.UnixMilli() || at > to.UnixMilli() {
			continue
		}
		if prev >= 0 {
			g = max(g, at-r.At[prev]-r.DelayUS[prev]/1000)
		}
		prev = i
	}
	return time.Duration(g) * time.Millisecond
}

// writeRandom writes n pseudo-random (incompressible, never seen by the
// grid before) bytes to path.
func writeRandom(t *testing.T, path string, n int64, seed uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 7})
	if _, err := io.CopyN(f, rng, n); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func dirSize(root string) int64 {
	var n int64
	filepath.Walk(root, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// benchGrid is LAFSSYNC_BENCH_GRID's local grid: its introducer, where its
// shares are, and a lafs binary to make clients of it; "" intro: none.
func benchGrid(t *testing.T) (intro, shares, lafs string) {
	t.Helper()
	dir := os.Getenv("LAFSSYNC_BENCH_GRID")
	if dir == "" {
		return "", "", ""
	}
	intros, err := config.LoadIntroducers(dir)
	if err != nil || intros["local"] == "" {
		t.Fatalf("LAFSSYNC_BENCH_GRID=%s: no local grid's introducer there (is lafs daemon running on it?): %v", dir, err)
	}
	lafs = os.Getenv("LAFSSYNC_BENCH_LAFS")
	if lafs == "" {
		lafs = filepath.Join(t.TempDir(), "lafs")
		if out, err := exec.Command("go", "build", "-o", lafs, "../lafs").CombinedOutput(); err != nil {
			t.Fatalf("build lafs: %v\n%s", err, out)
		}
	}
	return intros["local"], filepath.Join(dir, "local-grid"), lafs
}

func TestBenchTrayUpload(t *testing.T) {
	benchEnv(t)
	bin := benchBinary(t)
	intro, gridShares, lafs := benchGrid(t)
	w := newBusWatch(t)
	uploads := envInt("LAFSSYNC_BENCH_UPLOADS", 3)
	idle := 20 * time.Second
	var maxes []time.Duration
	for run := range uploads {
		dir := t.TempDir()
		home, folder, probe := filepath.Join(dir, "node"), filepath.Join(dir, "Big"), filepath.Join(dir, "probe.json")
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		shares, where := filepath.Join(home, "local-grid"), "the app's embedded local grid"
		if intro != "" {
			if out, err := exec.Command(lafs, "create-node", "--introducer", intro, "--nickname", "bench", home).CombinedOutput(); err != nil {
				t.Fatalf("make the node a client of LAFSSYNC_BENCH_GRID: %v\n%s", err, out)
			}
			shares, where = gridShares, "a local grid in another process (LAFSSYNC_BENCH_GRID)"
		}
		a := startApp(t, bin, home, filepath.Join(dir, "config"), probeEnv+"="+probe)
		c := waitAPI(t, ctx, home)
		addFolder(t, ctx, c, api.AddRequest{Path: folder, Name: "Big"})
		waitUpToDate(t, ctx, c, "Big", 0, 2*time.Minute)
		// The file is written beside the folder and renamed into it: it
		// appears whole, as a file dropped from a file manager does.
		src := filepath.Join(dir, "big.bin")
		writeRandom(t, src, benchUploadSz, uint64(run)+uint64(time.Now().UnixNano()))
		idleFrom := time.Now()
		time.Sleep(idle) // the baseline: the same app, idle
		grid0 := dirSize(shares)
		drop := time.Now()
		if err := os.Rename(src, filepath.Join(folder, "big.bin")); err != nil {
			t.Fatal(err)
		}
		st := waitUpToDate(t, ctx, c, "Big", 1, 20*time.Minute)
		done := time.Now()
		if st.Bytes != benchUploadSz {
			t.Errorf("folder holds %d bytes, want %d", st.Bytes, benchUploadSz)
		}
		// Every byte went to the local grid's storage servers (shares are
		// n/k times the file, n ≥ k).
		if grew := dirSize(shares) - grid0; grew < benchUploadSz {
			t.Errorf("the local grid's shares grew by %d bytes for a %d-byte file", grew, benchUploadSz)
		}
		w.quit(t, a)
		b, err := os.ReadFile(probe)
		if err != nil {
			t.Fatalf("the probe's report: %v", err)
		}
		var r ProbeReport
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("the probe's report: %v", err)
		}
		n, p50, p99, mx, over := probeWindow(r, drop, done)
		in, ip50, ip99, imx, _ := probeWindow(r, idleFrom, drop)
		up := done.Sub(drop)
		// The probe must have run the whole time: after each sample the
		// next one follows within its wait plus a tick (1 s allowed).
		if n == 0 {
			t.Fatalf("no probe samples during the upload")
		}
		if g := probeGap(r, drop, done); g > time.Second {
			t.Errorf("the probe paused for %v during the upload: it did not run throughout", g)
		}
		maxes = append(maxes, mx)
		t.Logf("BENCH ui stall, upload %d (storage servers: %s): 1 GiB up to date in %v (%.1f MB/s); event loop wait over %d samples: p50 %v, p99 %v, max %v, %d over %v; idle before (%v, %d samples): p50 %v, p99 %v, max %v; whole run max %.1f ms, loop first ran %.0f ms after start, longest probe gap %v (load %s)",
			run+1, where, up.Round(100*time.Millisecond), float64(benchUploadSz)/up.Seconds()/1e6, n, p50, p99, mx, over, stallGoal,
			idle, in, ip50, ip99, imx, r.MaxMS, float64(r.FirstRunUS)/1000, probeGap(r, drop, done), loadAvg())
		os.RemoveAll(dir)
	}
	t.Logf("BENCH ui stall goal (no wait > %v during a 1 GiB upload, %d uploads): max waits %v, met=%v", stallGoal, uploads, maxes,
		!slices.ContainsFunc(maxes, func(d time.Duration) bool { return d > stallGoal }))
}

// TestUIProbeReport checks the probe's figures on samples with known
// answers (nearest-rank percentiles; the window's stats the benchmark reads).
func TestUIProbeReport(t *testing.T) {
	p := &uiProbe{}
	base := time.UnixMilli(1_000_000)
	// 100 samples 10 ms apart waiting 1, 2, …, 100 ms.
	for i := range 100 {
		p.add(base.Add(time.Duration(i)*10*time.Millisecond), time.Duration(i+1)*time.Millisecond)
	}
	r := p.report()
	if r.Samples != 100 || r.MaxMS != 100 || r.P50MS != 50 || r.P99MS != 99 {
		t.Errorf("report: %d samples, max %v, p50 %v, p99 %v; want 100, 100, 50, 99", r.Samples, r.MaxMS, r.P50MS, r.P99MS)
	}
	// The samples handed over in the first 200 ms: waits of 1 … 21 ms.
	n, p50, _, mx, over := probeWindow(r, base, base.Add(200*time.Millisecond))
	if n != 21 || p50 != 11*time.Millisecond || mx != 21*time.Millisecond || over != 0 {
		t.Errorf("window: %d samples, p50 %v, max %v, %d over; want 21, 11ms, 21ms, 0", n, p50, mx, over)
	}
	if _, _, _, _, over := probeWindow(r, base, base.Add(time.Second)); over != 0 {
		t.Errorf("%d samples over %v; want 0 (the longest waits 100 ms)", over, stallGoal)
	}
	for _, c := range []struct {
		in   []int64
		q    int
		want int64
	}{{nil, 99, 0}, {[]int64{7}, 50, 7}, {[]int64{7}, 99, 7}, {[]int64{1, 2}, 50, 1}, {[]int64{1, 2}, 99, 2}} {
		if got := percentile(c.in, c.q); got != c.want {
			t.Errorf("percentile(%v, %d) = %d, want %d", c.in, c.q, got, c.want)
		}
	}
}

// TestUIProbeTrace: with the flight recorder on, a stall past the start
// writes an execution trace (at most probeTraceMax), and one during the
// start writes none.
func TestUIProbeTrace(t *testing.T) {
	dir := t.TempDir()
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Second, MaxBytes: 1 << 20})
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	defer fr.Stop()
	p := &uiProbe{log: slog.New(slog.DiscardHandler), fr: fr, traceDir: dir, started: time.Now()}
	p.snapshot(150 * time.Millisecond)
	if fs, _ := os.ReadDir(dir); len(fs) != 0 {
		t.Fatalf("a stall during the start wrote %d traces", len(fs))
	}
	p.started = time.Now().Add(-probeTraceAfter)
	for range probeTraceMax + 2 {
		p.snapshot(150 * time.Millisecond)
	}
	fs, err := os.ReadDir(dir)
	if err != nil || len(fs) != probeTraceMax {
		t.Fatalf("%d traces (%v), want %d", len(fs), err, probeTraceMax)
	}
	for _, f := range fs {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil || !bytes.HasPrefix(b, []byte("go 1.")) {
			t.Errorf("%s is not an execution trace (%d bytes, %v)", f.Name(), len(b), err)
		}
	}
}
