package share_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/lafssync/lafssync/app/shares"
	"github.com/lafssync/lafssync/app/ui/share"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/invite"
	"github.com/lafssync/lafssync/node/invite/invitetest"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/synctest"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m, invitetest.Stop) }

// intro is a well-formed introducer address: the invite carries it, the
// test never dials it. It is on 127.0.0.1, so an invite to it is one to a
// grid on this computer only, which the window makes only when confirmed.
const intro = "lafs://v0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@127.0.0.1:1234"

func gridInvite() (invite.Invite, error) {
	return invite.Invite{Introducer: intro, Introducers: map[string]string{"default": intro}}, nil
}

// docsFolder is a synced folder "Docs" holding a.txt, up to date on the grid.
func docsFolder(t *testing.T, m *syncer.Manager, base string) {
	t.Helper()
	docs := filepath.Join(base, "Docs")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docs, "a.txt"), []byte("from the owner"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add(context.Background(), api.AddRequest{Path: docs}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "Docs up to date", 30*time.Second, func() bool {
		s, err := m.Status("Docs")
		return err == nil && s.State == api.UpToDate
	})
}

// TestRealManager: the window over NewBackend and a real Manager on the
// in-memory grid shows the folder's real read-cap, makes a real snapshot,
// and a second node's window follows the read-cap and gets the file.
func TestRealManager(t *testing.T) {
	g := gridtest.New(5)
	base := t.TempDir()
	owner := synctest.StartManager(t, g, filepath.Join(base, "owner"), "owner")
	docsFolder(t, owner, base)
	readCap, err := owner.Share(context.Background(), "Docs", api.ShareRead)
	if err != nil || !strings.HasPrefix(readCap, "URI:DIR2-RO:") {
		t.Fatalf("read cap %q, %v", readCap, err)
	}
	writeCap, err := owner.Share(context.Background(), "Docs", api.ShareWrite)
	if err != nil {
		t.Fatal(err)
	}

	a, w := open(t, share.NewBackend(owner, gridInvite, invite.Options{}), shares.Open(filepath.Join(base, "owner")), "")
	waitText(t, "the owner's read-cap", w.Cap, readCap)
	if w.Folder.Visible() || !sameQR(t, w.QR.Image, readCap) {
		t.Error("one folder: picker shown, or the QR code is not the read-cap's")
	}
	// intro is on 127.0.0.1: NewBackend reads the grid as this computer's only.
	if !w.LocalGrid.Visible() {
		t.Error("no local-grid warning with the cap of a grid on 127.0.0.1")
	}
	test.Tap(w.Copy)
	if a.Clipboard().Content() != readCap {
		t.Errorf("clipboard %q", a.Clipboard().Content())
	}
	test.Tap(w.Snapshot)
	if !testkit.Poll(30*time.Second, func() bool { return strings.HasPrefix(w.Cap.Text, "URI:DIR2-CHK:") }) {
		t.Fatalf("snapshot: cap %q, status %q", w.Cap.Text, w.Status.Text)
	}
	if !sameQR(t, w.QR.Image, w.Cap.Text) {
		t.Error("the QR code is not the snapshot's")
	}

	friend := synctest.StartManager(t, g, filepath.Join(base, "friend"), "friend")
	// The friend's node is on a grid other computers reach (192.0.2.1: an
	// address the test never dials).
	_, fw := open(t, share.NewBackend(friend, func() (invite.Invite, error) {
		const far = "lafs://v0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@192.0.2.1:1234"
		return invite.Invite{Introducer: far, Introducers: map[string]string{"default": far}}, nil
	}, invite.Options{}), nil, "")
	waitText(t, "the friend has no folders", fw.Name, share.NoFolders)
	into := filepath.Join(base, "FromOwner")
	// The write cap is refused before anything reaches the Manager.
	typeIn(fw, fw.FollowIn, writeCap)
	typeIn(fw, fw.FollowPath, into)
	test.Tap(fw.Follow)
	waitContains(t, "write cap refused", fw.FollowStatus, "This is a write-cap")
	if len(friend.List()) != 0 {
		t.Fatal("a write cap was followed")
	}
	fw.FollowIn.SetText(readCap)
	test.Tap(fw.Follow)
	waitText(t, "followed", fw.FollowStatus, "Following “FromOwner” into "+into+". It is read-only here: changes you make in it are not uploaded.")
	if st, err := friend.Status("FromOwner"); err != nil || st.Mode != "follow" {
		t.Fatalf("the friend's folder: %+v, %v", st, err)
	}
	testkit.WaitFor(t, "the owner's file at the friend's", 30*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(into, "a.txt"))
		return err == nil && string(b) == "from the owner"
	})
	// The followed folder is now in the friend's window, with the same read-cap.
	waitText(t, "the friend's window shows the folder", fw.Cap, readCap)
	if fw.LocalGrid.Visible() {
		t.Error("a local-grid warning on a grid at 192.0.2.1")
	}
}

// TestRealInvite: an invite code made through NewBackend and a real
// mailbox server on loopback brings the folder to a friend who types the
// code into their window; the inviter's window says the friend has it and
// lists them.
func TestRealInvite(t *testing.T) {
	o := invite.Options{MailboxURL: invitetest.Mailbox(t)}
	g := gridtest.New(5)
	base := t.TempDir()
	ownerDir := filepath.Join(base, "owner")
	owner := synctest.StartManager(t, g, ownerDir, "owner")
	docsFolder(t, owner, base)
	readCap, err := owner.Share(context.Background(), "Docs", api.ShareRead)
	if err != nil {
		t.Fatal(err)
	}

	_, w := open(t, share.NewBackend(owner, gridInvite, o), shares.Open(ownerDir), "Docs")
	waitText(t, "the owner's read-cap", w.Cap, readCap)
	typeIn(w, w.Whom, "Bob")
	test.Tap(w.Invite)
	// The grid (intro) is on 127.0.0.1 only: no code until confirmed.
	waitText(t, "the local-grid warning", w.InviteStatus, share.LocalGridWarning)
	if !w.InviteAnyway.Visible() || w.Code.Visible() {
		t.Fatalf("after the warning: confirm shown %v, a code shown %v", w.InviteAnyway.Visible(), w.Code.Visible())
	}
	test.Tap(w.InviteAnyway) // the friend's device is on this computer
	waitText(t, "invite made", w.InviteStatus, share.InviteWaiting)
	code := w.Code.Text
	if _, err := invite.ParseCode(code); err != nil {
		t.Fatalf("code %q: %v", code, err)
	}

	friend := synctest.StartManager(t, g, filepath.Join(base, "friend"), "friend")
	_, fw := open(t, share.NewBackend(friend, gridInvite, o), nil, "")
	into := filepath.Join(base, "FromOwner")
	typeIn(fw, fw.FollowIn, code)
	typeIn(fw, fw.FollowPath, into)
	test.Tap(fw.Follow)
	waitText(t, "followed", fw.FollowStatus, "Following “FromOwner” into "+into+". It is read-only here: changes you make in it are not uploaded.")
	waitText(t, "the inviter's window", w.InviteStatus, "Bob has received the read-cap of “Docs”.")
	testkit.WaitFor(t, "the owner's file at the friend's", 30*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(into, "a.txt"))
		return err == nil && string(b) == "from the owner"
	})
	if got, _ := friend.Share(context.Background(), "FromOwner", api.ShareRead); got != readCap {
		t.Error("the friend follows another cap than the owner's read-cap")
	}
	waitContains(t, "shared with", w.SharedWith, "Bob — invite code, ")
	b, err := os.ReadFile(filepath.Join(ownerDir, "private", shares.FileName))
	if err != nil || strings.Contains(string(b), "URI:") || strings.Contains(string(b), code) {
		t.Errorf("shared-with file (%v):\n%s", err, b)
	}

	// The code is spent: typing it again says so, and adds nothing.
	typeIn(fw, fw.FollowIn, code)
	fw.FollowPath.SetText(filepath.Join(base, "Again"))
	test.Tap(fw.Follow)
	waitContains(t, "spent code", fw.FollowStatus, "The invite code did not work: ")
	if n := len(friend.List()); n != 1 {
		t.Errorf("the friend has %d folders after the spent code", n)
	}
}
