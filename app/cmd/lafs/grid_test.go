package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	nodestatus "github.com/lafssync/lafssync/node/status"
)

var lafsBin string

func TestMain(m *testing.M) {
	if os.Getenv(httpHelperEnv) != "" {
		httpHelper()
	}
	testkit.RunWithLafs(m, &lafsBin)
}

// lafs runs a CLI command to completion (prefix: e.g. ip netns exec NS).
func lafs(t testing.TB, prefix []string, args ...string) string {
	t.Helper()
	return lafsExit(t, 0, prefix, args...)
}

// lafsExit runs lafs as lafs does and fails the test unless it exits with
// status want (lafs check exits 2 for an object that is not healthy).
func lafsExit(t testing.TB, want int, prefix []string, args ...string) string {
	t.Helper()
	argv := append(append(append([]string{}, prefix...), lafsBin), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if got := cmd.ProcessState.ExitCode(); err != nil && got != want || err == nil && want != 0 {
		t.Fatalf("lafs %s: exit %d (%v), want %d\n%s%s", strings.Join(args, " "), got, err, want, out, stderr.String())
	}
	return string(out)
}

// runNode starts `lafs run DIR` (behind prefix, e.g. ip netns exec NS)
// and waits until it prints the line that starts with want.
func runNode(t testing.TB, prefix []string, dir, want string) *exec.Cmd {
	t.Helper()
	argv := append(append(append([]string{}, prefix...), lafsBin), "run", dir)
	return testkit.RunNode(t, dir, want, argv...).Cmd
}

// nodeStatus is the node's /status document (lafs status --json).
type nodeStatus nodestatus.Document

func status(t testing.TB, prefix []string, dir string) nodeStatus {
	t.Helper()
	var s nodeStatus
	if err := json.Unmarshal([]byte(lafs(t, prefix, "-d", dir, "status", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s nodeStatus) connected() int {
	k := 0
	for _, srv := range s.Servers {
		if srv.Connected {
			k++
		}
	}
	return k
}

// writePattern writes size deterministic bytes to path and returns their
// SHA-256.
func writePattern(t *testing.T, path string, size int64) [32]byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	block := make([]byte, 1<<20)
	for i := int64(0); i < size; i += int64(len(block)) {
		for j := range block {
			block[j] = byte(i>>20) ^ byte(j*7) ^ byte(j>>8)
		}
		n := min(int64(len(block)), size-i)
		f.Write(block[:n])
		h.Write(block[:n])
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

func fileSHA(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return [32]byte(h.Sum(nil))
}

type checkResult struct {
	Shares      map[string][]string
	Recoverable bool
	Healthy     bool
	Repaired    int `json:"repaired"`
}

// An introducer, ten storage servers and a client node, each its own
// process, find each other through the introducer; a 256 MiB file goes up
// and comes back; after four servers lose their shares, check --repair
// restores all ten.
func TestIntroducerGridProcesses(t *testing.T) {
	size := int64(256 << 20)
	if testing.Short() {
		size = 8 << 20
	}
	root := t.TempDir()
	lafs(t, nil, "create-introducer", "--nickname", "intro", filepath.Join(root, "intro"))
	runNode(t, nil, filepath.Join(root, "intro"), "introducer address: ")
	b, err := os.ReadFile(filepath.Join(root, "intro", "private", "introducer.url"))
	if err != nil {
		t.Fatal(err)
	}
	iu := strings.TrimSpace(string(b))
	var servers []string
	for i := 0; i < 10; i++ {
		dir := filepath.Join(root, fmt.Sprintf("s%d", i))
		lafs(t, nil, "create-node", "--storage", "--nickname", fmt.Sprintf("s%d", i), "--introducer", iu, dir)
		runNode(t, nil, dir, "web API: ")
		servers = append(servers, dir)
	}
	client := filepath.Join(root, "client")
	lafs(t, nil, "create-node", "--nickname", "client", "--introducer", iu, client)
	runNode(t, nil, client, "web API: ")
	testkit.WaitFor(t, "the client node to connect to ten servers", 60*time.Second, func() bool { return status(t, nil, client).connected() == 10 })

	src := filepath.Join(root, "file")
	want := writePattern(t, src, size)
	t0 := time.Now()
	capText := strings.TrimSpace(lafs(t, nil, "-d", client, "put", src))
	t.Logf("put %d MiB in %v", size>>20, time.Since(t0).Round(time.Millisecond))
	if !strings.HasPrefix(capText, "URI:CHK:") {
		t.Fatalf("put printed %q", capText)
	}
	dst := filepath.Join(root, "back")
	t0 = time.Now()
	lafs(t, nil, "-d", client, "get", capText, dst)
	t.Logf("get %d MiB in %v", size>>20, time.Since(t0).Round(time.Millisecond))
	if fileSHA(t, dst) != want {
		t.Fatal("downloaded file differs")
	}
	os.Remove(dst)

	for _, dir := range servers[:4] {
		if err := os.RemoveAll(filepath.Join(dir, "storage", "shares")); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, "storage", "shares"), 0o700)
	}
	var before checkResult
	json.Unmarshal([]byte(lafsExit(t, 2, nil, "-d", client, "check", "--json", capText)), &before)
	if len(before.Shares) != 6 || before.Healthy || !before.Recoverable {
		t.Fatalf("after wiping four servers: %d shares, healthy %v, recoverable %v", len(before.Shares), before.Healthy, before.Recoverable)
	}
	var after checkResult
	json.Unmarshal([]byte(lafs(t, nil, "-d", client, "check", "--repair", "--json", capText)), &after)
	if len(after.Shares) != 10 || !after.Healthy || after.Repaired != 4 {
		t.Fatalf("after repair: %d shares, healthy %v, %d repaired", len(after.Shares), after.Healthy, after.Repaired)
	}
	var again checkResult
	json.Unmarshal([]byte(lafs(t, nil, "-d", client, "check", "--json", capText)), &again)
	if len(again.Shares) != 10 || !again.Healthy {
		t.Fatalf("a fresh check after repair: %d shares, healthy %v", len(again.Shares), again.Healthy)
	}
}
