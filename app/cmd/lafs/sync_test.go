package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer/api"
)

// syncWait bounds each wait for a change to travel between devices (the
// folders poll every 10 s; a local change is noticed within a second).
const syncWait = 90 * time.Second

// lafsOutErr runs lafs and returns its standard output and error, failing
// the test unless it exits with want.
func lafsOutErr(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(lafsBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if got := cmd.ProcessState.ExitCode(); got != want {
		t.Fatalf("lafs %s: exit %d (%v), want %d\n%s%s", strings.Join(args, " "), got, err, want, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

// startRunNode starts `lafs run dir` and returns a stop function (also
// run at the test's end) that interrupts it and waits for it to exit.
func startRunNode(t *testing.T, dir string) (stop func()) {
	t.Helper()
	cmd := exec.Command(lafsBin, "run", dir)
	logf, err := os.OpenFile(dir+".log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	testkit.WaitFor(t, "lafs run "+dir+" connected to the ten servers", 60*time.Second, func() bool {
		select {
		case <-done:
			b, _ := os.ReadFile(dir + ".log")
			t.Fatalf("lafs run %s exited:\n%s", dir, b)
		default:
		}
		b, err := exec.Command(lafsBin, "-d", dir, "status", "--json").Output()
		var s nodeStatus
		return err == nil && json.Unmarshal(b, &s) == nil && s.connected() == 10
	})
	return stop
}

// folderStatus is `lafs sync status NAME --json` on node dir.
func folderStatus(t *testing.T, dir, name string) api.FolderStatus {
	t.Helper()
	out, _ := lafsOutErr(t, 0, "-d", dir, "sync", "status", name, "--json")
	var st api.FolderStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("sync status --json: %v\n%s", err, out)
	}
	return st
}

// waitContent waits until every file has the contents given.
func waitContent(t *testing.T, what string, want map[string]string) {
	t.Helper()
	testkit.WaitFor(t, what, syncWait, func() bool {
		for p, c := range want {
			if b, err := os.ReadFile(p); err != nil || string(b) != c {
				return false
			}
		}
		return true
	})
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// conflictCopies lists the conflict copies of name (a.txt →
// a.sync-conflict-*.txt) in dir.
func conflictCopies(dir, name string) []string {
	ext := filepath.Ext(name)
	m, _ := filepath.Glob(filepath.Join(dir, strings.TrimSuffix(name, ext)+".sync-conflict-*"+ext))
	return m
}

// TestSyncTwoDevicesAndAFollower runs three nodes as separate processes
// on one local grid, driven only through the CLI: device A (lafs daemon,
// which also runs the grid) adds a folder; device B joins it with the
// write cap from `lafs sync share --write` and sees A's files; B's edit
// reaches A; a friend following the read cap gets every change, cannot
// get the write cap, and its local edit is not uploaded; A and B editing
// the same file while B is offline leave a conflict copy on both.
func TestSyncTwoDevicesAndAFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes and a local grid")
	}
	root := t.TempDir()
	nodeA, nodeB, nodeF := filepath.Join(root, "A"), filepath.Join(root, "B"), filepath.Join(root, "F")
	docsA, docsB, docsF := filepath.Join(root, "docsA"), filepath.Join(root, "docsB"), filepath.Join(root, "docsF")
	startDaemon(t, nodeA)
	intro, err := os.ReadFile(filepath.Join(nodeA, "local-grid", "introducer", "private", "introducer.url"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{nodeB, nodeF} {
		lafs(t, nil, "create-node", "--introducer", strings.TrimSpace(string(intro)), d)
	}
	stopB := startRunNode(t, nodeB)
	startRunNode(t, nodeF)

	// No folders yet; a path outside any folder is refused with a hint.
	if out, _ := lafsOutErr(t, 0, "-d", nodeA, "sync", "list"); !strings.Contains(out, "No folders are synced yet") {
		t.Errorf("sync list before any folder: %q", out)
	}
	write(t, filepath.Join(docsA, "a.txt"), "a from A\n")
	write(t, filepath.Join(docsA, "sub", "b.txt"), "b from A\n")
	out, _ := lafsOutErr(t, 0, "-d", nodeA, "sync", "add", docsA, "--name", "docs")
	if !strings.Contains(out, `as folder "docs", in a new grid directory`) {
		t.Errorf("sync add: %q", out)
	}
	testkit.WaitFor(t, "A's folder up to date with its two files", syncWait, func() bool {
		st := folderStatus(t, nodeA, "docs")
		return st.State == api.UpToDate && st.Files == 2
	})

	wcap, warn := lafsOutErr(t, 0, "-d", nodeA, "sync", "share", "docs", "--write")
	wcap = strings.TrimSpace(wcap)
	if !strings.HasPrefix(wcap, "URI:DIR2") || strings.Contains(wcap, "-RO:") || !strings.Contains(warn, "WRITE cap") {
		t.Fatalf("share --write: %q, stderr %q", wcap, warn)
	}
	rcap, _ := lafsOutErr(t, 0, "-d", nodeA, "sync", "share", docsA) // by its local path
	rcap = strings.TrimSpace(rcap)
	if !strings.Contains(rcap, "-RO:") {
		t.Fatalf("share: %q", rcap)
	}

	// B joins with the write cap and sees A's files.
	lafsOutErr(t, 0, "-d", nodeB, "sync", "add", docsB, "--to", wcap, "--name", "docs")
	waitContent(t, "A's files on B", map[string]string{
		filepath.Join(docsB, "a.txt"): "a from A\n", filepath.Join(docsB, "sub", "b.txt"): "b from A\n"})
	// The friend follows with the read cap and gets them too.
	out, _ = lafsOutErr(t, 0, "-d", nodeF, "sync", "follow", rcap, docsF, "--name", "friend")
	if !strings.Contains(out, "read-only") {
		t.Errorf("sync follow: %q", out)
	}
	waitContent(t, "A's files on the follower", map[string]string{
		filepath.Join(docsF, "a.txt"): "a from A\n", filepath.Join(docsF, "sub", "b.txt"): "b from A\n"})
	if _, errs := lafsOutErr(t, 1, "-d", nodeF, "sync", "share", "friend", "--write"); !strings.Contains(errs, "read-only") {
		t.Errorf("a follower's share --write: %q", errs)
	}

	// B edits one file; A and the follower get it. A adds one; B and the
	// follower get it.
	write(t, filepath.Join(docsB, "a.txt"), "a edited on B\n")
	write(t, filepath.Join(docsA, "c.txt"), "c from A\n")
	waitContent(t, "B's edit and A's new file everywhere", map[string]string{
		filepath.Join(docsA, "a.txt"): "a edited on B\n", filepath.Join(docsF, "a.txt"): "a edited on B\n",
		filepath.Join(docsB, "c.txt"): "c from A\n", filepath.Join(docsF, "c.txt"): "c from A\n"})

	// The follower's local edit is reported and not uploaded: after A
	// has checked the grid again, A still has B's version, and the grid
	// keeps no version by the follower.
	write(t, filepath.Join(docsF, "sub", "b.txt"), "b edited by the friend\n")
	var noticed time.Time
	testkit.WaitFor(t, "the follower to report its local edit as not uploaded", syncWait, func() bool {
		noticed = time.Now()
		return folderStatus(t, nodeF, "friend").LocalChangesIgnored > 0
	})
	testkit.WaitFor(t, "A to check the grid after that", syncWait, func() bool {
		st := folderStatus(t, nodeA, "docs")
		return st.LastCheck != nil && st.LastCheck.After(noticed)
	})
	if b, _ := os.ReadFile(filepath.Join(docsA, "sub", "b.txt")); string(b) != "b from A\n" {
		t.Errorf("the follower's edit reached A: %q", b)
	}
	hist, _ := lafsOutErr(t, 0, "-d", nodeA, "sync", "history", filepath.Join(docsA, "sub", "b.txt"), "--json")
	var vs []api.Version
	if err := json.Unmarshal([]byte(hist), &vs); err != nil {
		t.Fatalf("history --json: %v %q", err, hist)
	}
	for _, v := range vs {
		if v.Size == int64(len("b edited by the friend\n")) {
			t.Errorf("the grid has a version of sub/b.txt the size of the follower's edit: %+v", v)
		}
	}

	// A and B edit the same file while B is offline: when B is back, both
	// have both versions (one as a conflict copy).
	stopB()
	write(t, filepath.Join(docsA, "c.txt"), "c edited on A while B was away\n")
	write(t, filepath.Join(docsB, "c.txt"), "c edited on B while offline\n")
	testkit.WaitFor(t, "A to upload its edit", syncWait, func() bool {
		st := folderStatus(t, nodeA, "docs")
		return st.State == api.UpToDate && st.Progress == nil
	})
	startRunNode(t, nodeB)
	testkit.WaitFor(t, "a conflict copy of c.txt on both devices", syncWait, func() bool {
		return len(conflictCopies(docsA, "c.txt")) == 1 && len(conflictCopies(docsB, "c.txt")) == 1
	})
	versions := func(dir string) map[string]bool {
		got := map[string]bool{}
		for _, p := range append(conflictCopies(dir, "c.txt"), filepath.Join(dir, "c.txt")) {
			b, _ := os.ReadFile(p)
			got[string(b)] = true
		}
		return got
	}
	testkit.WaitFor(t, "both versions of c.txt on both devices", syncWait, func() bool {
		a, b := versions(docsA), versions(docsB)
		return a["c edited on A while B was away\n"] && a["c edited on B while offline\n"] &&
			b["c edited on A while B was away\n"] && b["c edited on B while offline\n"]
	})
	// The device that found the conflict says so in its status.
	reported := false
	for _, node := range []string{nodeA, nodeB} {
		for _, c := range folderStatus(t, node, "docs").Conflicts {
			reported = reported || c.Path == "c.txt" && strings.Contains(c.Copy, ".sync-conflict-")
		}
	}
	if !reported {
		t.Error("neither device's status reports the conflict on c.txt")
	}
}

// TestSyncOnIntroducerOnly: a bare introducer has no folder sync, and
// lafs sync says so rather than "starting" forever; a stopped node is
// told apart from a running one.
func TestSyncOnIntroducerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "intro")
	lafs(t, nil, "create-introducer", dir)
	if _, errs := lafsOutErr(t, 1, "-d", dir, "sync", "list"); !strings.Contains(errs, "No LAFS Sync node is running for "+dir) {
		t.Errorf("before it runs: %q", errs)
	}
	runNode(t, nil, dir, "web API:")
	_, errs := lafsOutErr(t, 1, "-d", dir, "sync", "list")
	if !strings.Contains(errs, "this node is an introducer only: it has no folder sync") || strings.Contains(errs, "try again") {
		t.Errorf("sync list on an introducer: %q", errs)
	}
}
