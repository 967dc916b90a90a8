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
	// helper = off: the use-helper advice sets auto, a key the node takes live.
	if _, err := config.Edit(u, []config.Setting{{Section: "client", Key: "helper", Value: "off"}}); err != nil {
		t.Fatal(err)
	}
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
	// A key the running node takes at once: [client] helper. Its
	// connections stay up (the same since), and the advice goes.
	since := func() time.Time {
		for _, p := range status(t, nil, u).Node.Peers {
			if p.Nickname == "s" {
				return p.Since
			}
		}
		return time.Time{}
	}
	before := since()
	o := lafs(t, nil, "-d", u, "reachability", "--apply", nat.AdviceUseHelper)
	if !strings.Contains(o, "Applied "+nat.AdviceUseHelper) || !strings.Contains(o, "The running node took client.helper at once") {
		t.Errorf("--apply %s printed:\n%s", nat.AdviceUseHelper, o)
	}
	if after := since(); before.IsZero() || !after.Equal(before) {
		t.Errorf("the connection to s: since %v before --apply %s, %v after: want it kept", before, nat.AdviceUseHelper, after)
	}
	testkit.WaitFor(t, "the use-helper advice to go", 10*time.Second, func() bool {
		_, err := reach(t, u).Find(nat.AdviceUseHelper)
		return err != nil
	})
	// A key it cannot take live: the node restarts in its process (the
	// same lafs run, PID kept) and runs without its storage server.
	o = lafs(t, nil, "-d", u, "reachability", "--apply", nat.AdviceStorageOff)
	if !strings.Contains(o, "The running node restarted in its process to take storage.enabled") {
		t.Errorf("--apply %s printed:\n%s", nat.AdviceStorageOff, o)
	}
	t.Logf("lafs reachability --apply %s:\n%s", nat.AdviceStorageOff, o)
	if syscall.Kill(uproc.Process.Pid, 0) != nil {
		t.Fatal("the lafs run process exited on --apply")
	}
	if st := status(t, nil, u); st.Node == nil || st.Node.Storage {
		t.Errorf("after --apply %s the running node still serves storage: %+v", nat.AdviceStorageOff, st.Node)
	}
	// Every other advice the node gives: applied, and taken.
	done := map[string]bool{nat.AdviceUseHelper: true, nat.AdviceStorageOff: true}
	for range 6 {
		var next *nat.Advice
		for _, a := range reach(t, u).Advice {
			if !done[a.ID] {
				next = &a
				break
			}
		}
		if next == nil {
			break
		}
		done[next.ID] = true
		out := lafs(t, nil, "-d", u, "reachability", "--apply", next.ID)
		if !strings.Contains(out, "Applied "+next.ID) || !strings.Contains(out, "The running node") || strings.Contains(out, "Restart the node") {
			t.Errorf("--apply %s printed:\n%s", next.ID, out)
		}
		if _, err := config.Load(u); err != nil {
			t.Fatalf("after --apply %s: %v", next.ID, err)
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
