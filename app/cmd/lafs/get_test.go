package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lafssync/lafssync/node/fullnode/fullnodetest"
)

// partialsIn lists the .lafs-get-* files in dir.
func partialsIn(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".lafs-get-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// startGet starts `lafs get CAP out` and waits until its partial file in
// out's directory has begun to fill.
func startGet(t *testing.T, node, capText, out string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(lafsBin, "-d", node, "get", "--quiet", capText, out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(out)
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, p := range partialsIn(t, dir) {
			if st, err := os.Stat(filepath.Join(dir, p)); err == nil && st.Size() > 0 {
				return cmd, &stderr
			}
		}
		if _, err := os.Stat(out); err == nil {
			cmd.Wait()
			t.Fatalf("get ended before it could be interrupted: %s", stderr.String())
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("no partial file appeared in 60 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// Issue 13 item 9: an interrupted get leaves nothing half-written behind
// (SIGINT, SIGTERM, SIGHUP: the partial file is removed and the exit
// status is 128+signal); after kill -9 the next get into the directory
// removes the stale partial file, and only ours. Item 18: errors name the
// OUTFILE typed, never the partial file.
func TestGetInterruptedLeavesNoPartialFile(t *testing.T) {
	root := t.TempDir()
	node := filepath.Join(root, "node")
	fullnodetest.StartLocalGrid(t, node)
	src := filepath.Join(root, "big.bin")
	want := writePattern(t, src, 64<<20)
	capText := strings.TrimSpace(lafs(t, nil, "-d", node, "put", "--quiet", src))

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		out := filepath.Join(t.TempDir(), "out.bin")
		cmd, stderr := startGet(t, node, capText, out)
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
			t.Errorf("get after %v: %v (%s), want exit status %d", sig, err, stderr, 128+int(sig))
		}
		if left := partialsIn(t, filepath.Dir(out)); len(left) > 0 {
			t.Errorf("after %v: partial files left: %v", sig, left)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("after %v: OUTFILE exists (%v)", sig, err)
		}
	}

	// kill -9: the partial file stays; the next get into the directory
	// removes it once stale, and leaves alone what is not ours or young.
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.bin")
	cmd, _ := startGet(t, node, capText, out)
	cmd.Process.Kill()
	cmd.Wait()
	left := partialsIn(t, outDir)
	if len(left) != 1 {
		t.Fatalf("after kill -9: partial files %v, want the one", left)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(outDir, left[0]), old, old)
	notOurs := filepath.Join(outDir, ".lafs-get-notes.txt")
	os.WriteFile(notOurs, []byte("mine"), 0o600)
	os.Chtimes(notOurs, old, old)
	young := filepath.Join(outDir, ".lafs-get-123456")
	os.WriteFile(young, []byte("another get, running"), 0o600)
	lafs(t, nil, "-d", node, "get", "--quiet", capText, out)
	if fileSHA(t, out) != want {
		t.Error("get after the sweep wrote different bytes")
	}
	got := partialsIn(t, outDir)
	if len(got) != 2 || got[0] != ".lafs-get-123456" || got[1] != ".lafs-get-notes.txt" {
		t.Errorf("after the sweep: %v, want the young one and the one not ours", got)
	}

	// Errors name OUTFILE.
	for _, c := range []struct{ out, want string }{
		{outDir, outDir + " is a directory: name the file to write in it"},
		{filepath.Join(outDir, "missing", "x.bin"), "cannot write " + filepath.Join(outDir, "missing", "x.bin") + ": no such file or directory"},
	} {
		cmd := exec.Command(lafsBin, "-d", node, "get", "--quiet", capText, c.out)
		b, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(b), c.want) || strings.Contains(string(b), ".lafs-get-") {
			t.Errorf("get into %s: %v %q, want an error with %q and no partial file's name", c.out, err, b, c.want)
		}
	}
}
