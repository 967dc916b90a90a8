package invite_test

import (
	"context"
	"crypto/rand"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/invite"
	"github.com/lafssync/lafssync/node/invite/invitetest"
)

// newDirCap makes a fresh DIR2 write cap and its read cap.
func newDirCap(t *testing.T) (write, read string) {
	t.Helper()
	b := make([]byte, 48)
	rand.Read(b)
	w := "URI:DIR2:" + base32.Encode(b[:16]) + ":" + base32.Encode(b[16:])
	c, err := cap.Parse(w)
	if err != nil {
		t.Fatal(err)
	}
	return w, c.ReadOnly().String()
}

const intro = "lafs://v0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@127.0.0.1:1234"

// roundTrip invites with inv and joins with the code, both through the
// mailbox at url, and returns what the joiner got and both errors.
func roundTrip(t *testing.T, o invite.Options, inv invite.Invite, mangle func(string) string) (invite.Invite, error, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := invite.Create(ctx, o, inv)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !regexp.MustCompile(`^[0-9]+-[a-z]+-[a-z]+$`).MatchString(p.Code) {
		t.Fatalf("code %q is not NUMBER-WORD-WORD", p.Code)
	}
	waited := make(chan error, 1)
	go func() { waited <- p.Wait(ctx) }()
	got, aerr := invite.Accept(ctx, o, mangle(p.Code))
	return got, aerr, <-waited
}

func TestInviteAcceptThroughRealMailbox(t *testing.T) {
	o := invite.Options{MailboxURL: invitetest.Mailbox(t)} // before the check: the server's goroutines outlive the test
	testkit.CheckGoroutines(t)
	_, read := newDirCap(t)
	sent := invite.Invite{Nickname: "bob", Introducer: intro, Introducers: map[string]string{"default": intro},
		SharesNeeded: 2, SharesHappy: 3, SharesTotal: 4, Folder: &invite.Folder{Name: "Photos", Cap: read}}
	start := time.Now()
	got, aerr, werr := roundTrip(t, o, sent, func(c string) string { return " " + c + "\n" })
	if aerr != nil || werr != nil {
		t.Fatalf("Accept: %v; Wait: %v", aerr, werr)
	}
	t.Logf("invite round trip through the mailbox server: %v", time.Since(start))
	if got.Nickname != "bob" || got.Introducer != intro || got.Introducers["default"] != intro ||
		got.SharesNeeded != 2 || got.SharesHappy != 3 || got.SharesTotal != 4 {
		t.Errorf("joiner got %+v", got)
	}
	if got.Folder == nil || got.Folder.Name != "Photos" || got.Folder.Cap != read || got.Folder.Write {
		t.Errorf("joiner got folder %+v, want Photos read-only with the read cap", got.Folder)
	}

	// The same server serves the next invite: a write share for a second device.
	write, _ := newDirCap(t)
	sent.Folder = &invite.Folder{Name: "Docs", Cap: write, Write: true}
	got, aerr, werr = roundTrip(t, o, sent, func(c string) string { return c })
	if aerr != nil || werr != nil {
		t.Fatalf("second invite: Accept: %v; Wait: %v", aerr, werr)
	}
	if got.Folder == nil || got.Folder.Cap != write || !got.Folder.Write {
		t.Errorf("joiner got folder %+v, want Docs with the write cap", got.Folder)
	}
}

func TestWrongCodeFailsFastOnBothSides(t *testing.T) {
	o := invite.Options{MailboxURL: invitetest.Mailbox(t)} // before the check: the server's goroutines outlive the test
	testkit.CheckGoroutines(t)
	start := time.Now()
	_, aerr, werr := roundTrip(t, o, invite.Invite{Introducer: intro}, func(c string) string {
		np, _, _ := strings.Cut(c, "-")
		return np + "-wrong-words"
	})
	if !errors.Is(aerr, invite.ErrWrongCode) || !errors.Is(werr, invite.ErrWrongCode) {
		t.Fatalf("Accept: %v; Wait: %v; want ErrWrongCode on both", aerr, werr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a wrong code took %v to fail", d)
	}
	if strings.Contains(aerr.Error(), "wrong-words") {
		t.Errorf("the error quotes the code: %v", aerr)
	}
}

func TestUnknownCodeFailsWithoutWaiting(t *testing.T) {
	o := invite.Options{MailboxURL: invitetest.Mailbox(t)} // before the check: the server's goroutines outlive the test
	testkit.CheckGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err := invite.Accept(ctx, o, "4242-guitarist-revenge")
	if !errors.Is(err, invite.ErrNoSuchCode) {
		t.Fatalf("Accept of an unknown number: %v, want ErrNoSuchCode", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	for _, bad := range []string{"", "guitarist-revenge", "7", "7-", "x-a-b"} {
		if _, err := invite.Accept(ctx, o, bad); err == nil || !strings.Contains(err.Error(), "number and words") {
			t.Errorf("Accept(%q): %v, want a code shape error", bad, err)
		}
	}
}

func TestNobodyComesEndsAtTheDeadline(t *testing.T) {
	o := invite.Options{MailboxURL: invitetest.Mailbox(t)} // before the check: the server's goroutines outlive the test
	testkit.CheckGoroutines(t)
	p, err := invite.Create(context.Background(), o, invite.Invite{Introducer: intro})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err = p.Wait(ctx)
	if err == nil || !strings.Contains(err.Error(), "nobody used the invite code in time") {
		t.Fatalf("Wait with nobody coming: %v", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("Wait returned %v after its 1 s deadline", d)
	}
}

func TestMailboxDownIsAClearError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := invite.Create(ctx, invite.Options{MailboxURL: "ws://127.0.0.1:1/v1"}, invite.Invite{Introducer: intro})
	if err == nil || !strings.Contains(err.Error(), "connect to the mailbox server ws://127.0.0.1:1/v1") {
		t.Fatalf("Create with no server: %v", err)
	}
}
