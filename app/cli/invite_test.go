package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/invite/invitetest"
	"github.com/lafssync/lafssync/node/storagenode"
	"github.com/lafssync/lafssync/node/webapi"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/api/apitest"
)

const testIntro = "lafs://v0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@127.0.0.1:1234"

// realCaps is the fake folder sync with real, parseable caps to share.
type realCaps struct {
	*apitest.Fake
	read, write string
}

func (r realCaps) Share(ctx context.Context, f, kind string) (string, error) {
	if _, err := r.Fake.Share(ctx, f, kind); err != nil {
		return "", err
	}
	if kind == api.ShareWrite {
		return r.write, nil
	}
	return r.read, nil
}

// inviteNode makes a node directory joined to testIntro and, unless
// running is false, serves a fake folder sync (with folders) for it as a
// running node would.
func inviteNode(t *testing.T, dir string, running bool, folders ...string) (*apitest.Fake, realCaps) {
	t.Helper()
	if _, err := storagenode.Create(dir, storagenode.CreateOptions{Introducers: map[string]string{"default": testIntro}}); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.SharesNeeded, c.SharesHappy, c.SharesTotal = 2, 3, 4
	if err := config.Save(dir, c); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 48)
	rand.Read(b)
	w := "URI:DIR2:" + base32.Encode(b[:16]) + ":" + base32.Encode(b[16:])
	wc, err := cap.Parse(w)
	if err != nil {
		t.Fatal(err)
	}
	m := realCaps{Fake: apitest.New(folders...), read: wc.ReadOnly().String(), write: w}
	if !running {
		return m.Fake, m
	}
	token, err := webapi.LoadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	web := webapi.NewDynamic(func() *client.Client { return nil }, nil, token)
	web.Mount(webapi.SyncPrefix, api.Handler(m))
	srv := httptest.NewServer(web)
	t.Cleanup(srv.Close)
	if err := os.WriteFile(filepath.Join(dir, "node.url"), []byte(srv.URL+"/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return m.Fake, m
}

// startInvite runs lafs invite ARGS and returns the code it printed and a
// wait for its end (exit status, all its output).
func startInvite(t *testing.T, args ...string) (code string, wait func() (int, string, string)) {
	t.Helper()
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- mainIO(args, strings.NewReader(""), pw, &errb)
		pw.Close()
	}()
	var seen strings.Builder
	r := bufio.NewReader(pr)
	for code == "" {
		line, err := r.ReadString('\n')
		seen.WriteString(line)
		if err != nil {
			t.Fatalf("lafs invite ended before printing a code: %q %q (exit %d)", seen.String(), errb.String(), <-done)
		}
		code, _ = strings.CutPrefix(strings.TrimSpace(line), "Invite code: ")
	}
	rest := make(chan string, 1)
	go func() { b, _ := io.ReadAll(r); rest <- seen.String() + string(b) }()
	return code, func() (int, string, string) {
		select {
		case c := <-done:
			return c, <-rest, errb.String()
		case <-time.After(30 * time.Second):
			t.Fatal("lafs invite did not end")
			return 0, "", ""
		}
	}
}

func TestInviteJoinNewNodeGetsGridAndFolderCommand(t *testing.T) {
	mailbox := invitetest.Mailbox(t)
	root := t.TempDir()
	a := filepath.Join(root, "a")
	_, caps := inviteNode(t, a, true, "docs")
	code, wait := startInvite(t, "-d", a, "invite", "--folder", "docs", "--mailbox", mailbox, "--timeout", "30s", "--nickname", "bobs-laptop", "--allow-local-grid")
	b, local := filepath.Join(root, "b"), filepath.Join(root, "Docs here")
	jc, jout, jerr := run("join", code, b, "--mailbox", mailbox, "--wait-node", "0", "--folder-dir", local)
	ic, iout, ierr := wait()
	if ic != 0 || !strings.Contains(iout, "Invite accepted: the other device has this grid's introducer and folder \"docs\" (read-only).") {
		t.Errorf("lafs invite: exit %d, %q %q", ic, iout, ierr)
	}
	if !strings.Contains(iout, "On the other device run: lafs join "+code) || strings.Contains(iout+ierr, caps.read) {
		t.Errorf("lafs invite printed %q %q", iout, ierr)
	}
	if jc != 0 || !strings.Contains(jout, "Node created in "+b+", joined to the grid (encoding 2 of 4, happy 3)") {
		t.Fatalf("lafs join: exit %d, %q %q", jc, jout, jerr)
	}
	// The new node is a valid one, on the inviter's grid with its encoding.
	c, err := config.Load(b)
	if err != nil {
		t.Fatalf("the joined node's tahoe.cfg: %v", err)
	}
	if c.Nickname != "bobs-laptop" || c.SharesNeeded != 2 || c.SharesHappy != 3 || c.SharesTotal != 4 || c.TubPort == "" || c.TubLocation == "" {
		t.Errorf("joined node config %+v", c)
	}
	if in, err := config.LoadIntroducers(b); err != nil || in["default"] != testIntro || len(in) != 1 {
		t.Errorf("joined node introducers %v %v", in, err)
	}
	if _, err := config.LoadIdentity(b); err != nil {
		t.Errorf("joined node identity: %v", err)
	}
	// No node runs there yet: the exact command to follow the folder.
	want := "  lafs -d " + client.ShellQuote(b) + " sync follow " + caps.read + " " + client.ShellQuote(local) + " --name docs\n"
	if !strings.Contains(jout, want) {
		t.Errorf("lafs join output %q lacks %q", jout, want)
	}
}

func TestInviteJoinRunningNodeFollowsAndJoins(t *testing.T) {
	mailbox := invitetest.Mailbox(t)
	root := t.TempDir()
	a, c := filepath.Join(root, "a"), filepath.Join(root, "c")
	inviteNode(t, a, true, "docs")
	joined, _ := inviteNode(t, c, true)
	// The joiner already knows another introducer: it keeps it and gains ours.
	if err := config.SaveIntroducers(c, map[string]string{"default": strings.Replace(testIntro, "1234", "999", 1)}); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(root, "photos")
	for _, tc := range []struct {
		flags []string
		name  string
		want  string
		call  string
	}{
		{nil, "docs", "Following folder \"docs\" into " + local, "add " + local + " name=docs to=false follow=true"},
		{[]string{"--write"}, "docs", "Syncing " + local + " as folder \"docs\", joined to your folder", "add " + local + " name=docs to=true follow=false"},
	} {
		code, wait := startInvite(t, append([]string{"-d", a, "invite", "--folder", "docs", "--mailbox", mailbox, "--timeout", "30s", "--allow-local-grid"}, tc.flags...)...)
		jc, jout, jerr := run("join", code, c, "--mailbox", mailbox, "--folder-dir", local, "--wait-node", "5s")
		if ic, iout, ierr := wait(); ic != 0 {
			t.Errorf("lafs invite %v: exit %d %q %q", tc.flags, ic, iout, ierr)
		}
		if jc != 0 || !strings.Contains(jout, tc.want) || !strings.Contains(jout, "now knows the grid's introducers") {
			t.Errorf("lafs join %v: exit %d, %q %q", tc.flags, jc, jout, jerr)
		}
		calls := joined.Calls()
		if len(calls) == 0 || calls[len(calls)-1] != tc.call {
			t.Errorf("%v: the node's folder sync saw %q, want last %q", tc.flags, calls, tc.call)
		}
		joined.Remove(context.Background(), "docs", true)
	}
	in, err := config.LoadIntroducers(c)
	if err != nil || len(in) != 2 || in["default-2"] != testIntro {
		t.Errorf("introducers after joining: %v %v", in, err)
	}
}

// TestInviteRefusesTheLocalGrid: a grid whose introducer listens only on
// 127.0.0.1 (testIntro, as the tray's local grid) gets no code unless
// --allow-local-grid asks for one, and then a warning; a grid other
// computers can reach gets its code with no warning.
func TestInviteRefusesTheLocalGrid(t *testing.T) {
	mailbox := invitetest.Mailbox(t)
	a := filepath.Join(t.TempDir(), "a")
	inviteNode(t, a, false)
	code, out, errs := run("-d", a, "invite", "--mailbox", mailbox, "--timeout", "5s")
	if code == 0 || strings.Contains(out, "Invite code:") {
		t.Fatalf("an invite to a grid on 127.0.0.1 was made: exit %d, %q", code, out)
	}
	for _, want := range []string{"exists only on this computer", "of no use on another computer",
		"join a grid that other computers can reach", "lafs create-introducer", "invite --allow-local-grid"} {
		if !strings.Contains(errs, want) {
			t.Errorf("the refusal does not say %q: %q", want, errs)
		}
	}

	// 4 s: nobody joins, so each invite waits its timeout out; at 1 s a
	// loaded CI once timed out before the mailbox gave a code.
	_, wait := startInvite(t, "-d", a, "invite", "--mailbox", mailbox, "--timeout", "4s", "--allow-local-grid")
	if _, _, errs := wait(); !strings.Contains(errs, "Warning: this grid exists only on this computer") {
		t.Errorf("--allow-local-grid made the code without the warning: %q", errs)
	}

	// A grid on the LAN (a documentation address: never dialled, the
	// invite only talks to the mailbox server).
	if err := config.SaveIntroducers(a, map[string]string{"default": strings.Replace(testIntro, "127.0.0.1", "192.0.2.10", 1)}); err != nil {
		t.Fatal(err)
	}
	_, wait = startInvite(t, "-d", a, "invite", "--mailbox", mailbox, "--timeout", "4s")
	if _, _, errs := wait(); strings.Contains(errs, "only on this computer") {
		t.Errorf("a grid on 192.0.2.10 was warned about: %q", errs)
	}
}

func TestInviteAndJoinRefuse(t *testing.T) {
	mailbox := invitetest.Mailbox(t)
	empty := t.TempDir()
	if code, _, errs := run("-d", empty, "invite", "--mailbox", mailbox); code == 0 || !strings.Contains(errs, "read the node in "+empty) {
		t.Errorf("invite with no node: %d %q", code, errs)
	}
	if _, err := storagenode.Create(filepath.Join(empty, "n"), storagenode.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run("-d", filepath.Join(empty, "n"), "invite", "--mailbox", mailbox); code == 0 || !strings.Contains(errs, "has no introducer, so there is no grid") {
		t.Errorf("invite from a node with no grid: %d %q", code, errs)
	}
	start := time.Now()
	if code, _, errs := run("join", "4343-no-such", filepath.Join(empty, "j"), "--mailbox", mailbox); code == 0 || !strings.Contains(errs, "no invite with this code is waiting") {
		t.Errorf("join with an unknown code: %d %q", code, errs)
	}
	if code, _, errs := run("join", "hello", filepath.Join(empty, "j")); code == 0 || !strings.Contains(errs, "number and words") {
		t.Errorf("join with a malformed code: %d %q", code, errs)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("refusals took %v", d)
	}
	if _, err := os.Stat(filepath.Join(empty, "j")); !os.IsNotExist(err) {
		t.Errorf("a failed join left a node directory: %v", err)
	}
}
