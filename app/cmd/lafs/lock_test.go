package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/webapi"
)

// startDaemon starts `lafs daemon -d dir` and waits until its node uses
// the local grid's ten servers.
func startDaemon(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(lafsBin, "daemon", "-d", dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	testkit.WaitFor(t, "the daemon's node connected to ten servers", 60*time.Second, func() bool {
		select {
		case <-done:
			t.Fatalf("lafs daemon exited before it was up:\n%s", out.String())
		default:
		}
		b, err := exec.Command(lafsBin, "-d", dir, "status", "--json").Output()
		var s nodeStatus
		return err == nil && json.Unmarshal(b, &s) == nil && s.connected() == 10
	})
	return cmd
}

// Two daemons on one node directory: the second says which process runs
// it and exits non-zero, without touching the first one's ports, its
// node.url or its upload in progress.
func TestSecondDaemonOnSameDirectoryExits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	first := startDaemon(t, dir)

	files := []string{"tahoe.cfg", "node.url", filepath.Join("local-grid", "introducer", "tahoe.cfg"),
		filepath.Join("local-grid", "storage-0", "tahoe.cfg"), filepath.Join("local-grid", "storage-9", "tahoe.cfg"),
		filepath.Join("private", "introducers.yaml")}
	before := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		before[f] = string(b)
	}

	// An upload is in progress through the first daemon's web API: half
	// its body is sent when the second daemon starts.
	u := strings.TrimSpace(before["node.url"])
	token, err := webapi.LoadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	const size = 4 << 20
	data, err := io.ReadAll(testkit.NewPattern(size))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPut, u+"uri", pr)
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+token)
	type result struct {
		status int
		body   string
		err    error
	}
	put := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			put <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		put <- result{status: resp.StatusCode, body: string(b)}
	}()
	if _, err := pw.Write(data[:size/2]); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, lafsBin, "daemon", "-d", dir)
	var out bytes.Buffer
	second.Stdout, second.Stderr = &out, &out
	err = second.Run()
	if ctx.Err() != nil {
		t.Fatalf("the second daemon on %s was still running after 30 s (it should refuse the directory):\n%s", dir, out.String())
	}
	if err == nil {
		t.Fatalf("the second daemon exited 0:\n%s", out.String())
	}
	want := "LAFS Sync is already running on " + dir + " (process " + strconv.Itoa(first.Process.Pid) + "); stop it first or use -d OTHERDIR"
	if !strings.Contains(out.String(), want) {
		t.Errorf("second daemon said:\n%s\nwant it to say: %s", out.String(), want)
	}

	for _, f := range files {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); string(b) != before[f] {
			t.Errorf("the second daemon changed %s:\nbefore: %q\nafter:  %q", f, before[f], b)
		}
	}
	if _, err := pw.Write(data[size/2:]); err != nil {
		t.Fatalf("the rest of the upload: %v", err)
	}
	pw.Close()
	r := <-put
	if r.err != nil || (r.status != http.StatusOK && r.status != http.StatusCreated) || !strings.HasPrefix(r.body, "URI:CHK:") {
		t.Fatalf("the first daemon's upload: %d %q %v", r.status, r.body, r.err)
	}
	back := filepath.Join(t.TempDir(), "back")
	lafs(t, nil, "-d", dir, "get", strings.TrimSpace(r.body), back)
	if b, err := os.ReadFile(back); err != nil || !bytes.Equal(b, data) {
		t.Errorf("the upload read back: %d bytes, %v; want the %d bytes sent", len(b), err, size)
	}
}
