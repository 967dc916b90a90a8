package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/nat"
)

// reach is `lafs reachability --json` once the node has a verdict.
func reach(t *testing.T, dir string) nat.Report {
	t.Helper()
	var r nat.Report
	testkit.WaitFor(t, "a reachability verdict from "+filepath.Base(dir), 40*time.Second, func() bool {
		if err := json.Unmarshal([]byte(lafs(t, nil, "-d", dir, "reachability", "--json")), &r); err != nil {
			t.Fatal(err)
		}
		return r.Verdict != nat.VerdictUnknown
	})
	return r
}

// Separate lafs processes on loopback: a storage server others reach is
// found public; one whose tub.location nobody can reach is found behind
// NAT (a firewall, here), says why and what to do; --apply with an
// unknown ID lists the valid ones; applying each advice leaves a
// tahoe.cfg the node runs with.
func TestReachabilityProcesses(t *testing.T) {
	root := t.TempDir()
	lafs(t, nil, "create-introducer", "--nickname", "intro", filepath.Join(root, "intro"))
	runNode(t, nil, filepath.Join(root, "intro"), "introducer address: ")
	b, err := os.ReadFile(filepath.Join(root, "intro", "private", "introducer.url"))
	if err != nil {
		t.Fatal(err)
	}
	iu := strings.TrimSpace(string(b))
	s := filepath.Join(root, "s")
	lafs(t, nil, "create-node", "--storage", "--nickname", "s", "--introducer", iu, s)
	runNode(t, nil, s, "web API: ")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	u := filepath.Join(root, "u")
	lafs(t, nil, "create-node", "--storage", "--nickname", "u", "--introducer", iu, "--location", "tcp:127.0.0.1:"+strconv.Itoa(closed), u)
	uproc := runNode(t, nil, u, "web API: ")

	if r := reach(t, s); r.Verdict != nat.VerdictPublic || len(r.Announce) != 1 {
		t.Errorf("reachable server: verdict %q, announces %q\n%s", r.Verdict, r.Announce, strings.Join(r.Evidence, "\n"))
	}
	if st := status(t, nil, s); st.Node == nil || st.Node.Reach == nil || st.Node.Reach.Verdict != nat.VerdictPublic {
		t.Errorf("lafs status --json has no public verdict: %+v", st.Node)
	}
	r := reach(t, u)
	if r.Verdict != nat.VerdictNAT || len(r.Announce) != 0 {
		t.Fatalf("unreachable server: verdict %q, announces %q\n%s", r.Verdict, r.Announce, strings.Join(r.Evidence, "\n"))
	}
	text := lafs(t, nil, "-d", u, "reachability")
	t.Logf("lafs reachability of the unreachable server:\n%s", text)
	for _, want := range []string{"Verdict: behind NAT", "Announces: no address", "no peer could open a connection to 127.0.0.1:" + strconv.Itoa(closed),
		"[" + nat.AdviceStorageOff + "]", "apply: lafs reachability --apply " + nat.AdviceStorageOff} {
		if !strings.Contains(text, want) {
			t.Errorf("lafs reachability lacks %q:\n%s", want, text)
		}
	}
	if st := lafs(t, nil, "-d", u, "status"); !strings.Contains(st, "Reachability: behind NAT") {
		t.Errorf("lafs status lacks the verdict:\n%s", st)
	}

	cmd := exec.Command(lafsBin, "-d", u, "reachability", "--apply", "no-such-advice")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "there is no advice \"no-such-advice\"") || !strings.Contains(string(out), nat.AdviceStorageOff) {
		t.Errorf("unknown advice ID: %v\n%s", err, out)
	}

	original, _ := os.ReadFile(filepath.Join(u, config.File))
	if len(r.Advice) < 2 {
		t.Fatalf("advice %+v, want several", r.Advice)
	}
	for _, a := range r.Advice {
		out := lafs(t, nil, "-d", u, "reachability", "--apply", a.ID)
		if !strings.Contains(out, "Applied "+a.ID) || !strings.Contains(out, "Restart the node") {
			t.Errorf("--apply %s printed:\n%s", a.ID, out)
		}
		if _, err := config.Load(u); err != nil {
			t.Fatalf("after --apply %s: %v", a.ID, err)
		}
	}
	if bak, _ := os.ReadFile(filepath.Join(u, nat.BackupFile)); len(bak) == 0 {
		t.Error("no tahoe.cfg.bak")
	}
	if now, _ := os.ReadFile(filepath.Join(u, config.File)); string(now) == string(original) {
		t.Error("tahoe.cfg unchanged")
	}
	// The node runs with the result.
	uproc.Process.Signal(os.Interrupt)
	testkit.WaitFor(t, "the node to stop", 20*time.Second, func() bool { return syscall.Kill(uproc.Process.Pid, 0) != nil })
	runNode(t, nil, u, "web API: ")
}
