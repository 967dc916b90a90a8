package invite_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/node/invite"
	"github.com/lafssync/lafssync/node/invite/invitetest"
)

// python is Debian's interpreter, whose dist-packages hold magic-wormhole
// (a python3 earlier on PATH may be another one).
const python = "/usr/bin/python3"

func needPythonWormhole(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import wormhole, twisted").Run(); err != nil {
		t.Skipf("Debian's magic-wormhole Python library is not installed (apt-get install magic-wormhole; scripts/deps.sh does): %v", err)
	}
}

// TestTahoeSideInvitesUs: a Tahoe-style inviter on the Python
// magic-wormhole library (Tahoe's own), our Accept.
func TestTahoeSideInvitesUs(t *testing.T) {
	url := invitetest.Mailbox(t)
	needPythonWormhole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Tahoe's tahoe invite sends the share counts as strings.
	config := `{"nickname": "bob", "introducer": "` + intro + `", "shares-needed": "2", "shares-happy": "3", "shares-total": "5"}`
	cmd := exec.CommandContext(ctx, python, "testdata/tahoe_side.py", url, "invite", config)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	code, ok := strings.CutPrefix(strings.TrimSpace(line), "code: ")
	if err != nil || !ok {
		cmd.Wait()
		t.Fatalf("the Python inviter printed %q (%v); stderr: %s", line, err, stderr.String())
	}
	got, err := invite.Accept(ctx, invite.Options{MailboxURL: url}, code)
	if err != nil {
		cmd.Wait()
		t.Fatalf("Accept of the Python side's invite: %v; its stderr: %s", err, stderr.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the Python inviter: %v; stderr: %s", err, stderr.String())
	}
	if got.Nickname != "bob" || got.Introducer != intro || got.SharesNeeded != 2 || got.SharesHappy != 3 || got.SharesTotal != 5 || got.Folder != nil {
		t.Errorf("got %+v", got)
	}
}

// TestWeInviteTahoeSide: our Create, a Tahoe-style joiner on the Python
// library; it must see Tahoe's keys as Tahoe's tahoe invite writes them.
func TestWeInviteTahoeSide(t *testing.T) {
	url := invitetest.Mailbox(t)
	needPythonWormhole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, read := newDirCap(t)
	p, err := invite.Create(ctx, invite.Options{MailboxURL: url}, invite.Invite{Nickname: "carol", Introducer: intro,
		SharesNeeded: 3, SharesHappy: 7, SharesTotal: 10, Folder: &invite.Folder{Name: "Shared", Cap: read}})
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- p.Wait(ctx) }()
	out, err := exec.CommandContext(ctx, python, "testdata/tahoe_side.py", url, "join", p.Code).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("the Python joiner: %v: %s", err, stderr)
	}
	if err := <-waited; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("the Python joiner printed %q: %v", out, err)
	}
	want := map[string]any{"nickname": "carol", "introducer": intro, "shares-needed": "3", "shares-happy": "7", "shares-total": "10"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: the Python side got %v, want %v", k, got[k], v)
		}
	}
	f, _ := got["lafssync-folder"].(map[string]any)
	if f["name"] != "Shared" || f["cap"] != read || f["write"] != false {
		t.Errorf("lafssync-folder: the Python side got %v", got["lafssync-folder"])
	}
}
