package share_test

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/skip2/go-qrcode"

	"github.com/lafssync/lafssync/app/shares"
	"github.com/lafssync/lafssync/app/ui/share"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/invite"
	"github.com/lafssync/lafssync/syncer/api"
)

// Fixed caps: valid ones (the follow box parses what it is given), made
// from repeated bytes.
const (
	docsWrite  = "URI:DIR2:aeaqcaibaeaqcaibaeaqcaibae:bmfqwcylbmfqwcylbmfqwcylbmfqwcylbmfqwcylbmfqwcylbmfq"
	docsRead   = "URI:DIR2-RO:nvgh5vj2ekzzkim5fgtb4gey5y:bmfqwcylbmfqwcylbmfqwcylbmfqwcylbmfqwcylbmfqwcylbmfq"
	docsSnap   = "URI:DIR2-CHK:aeaqcaibaeaqcaibaeaqcaibae:bmfqwcylbmfqwcylbmfqwcylbmfqwcylbmfqwcylbmfqwcylbmfq:3:10:1234"
	photosRead = "URI:DIR2-RO:ttkolpzsdyn2nd2mofiwdi7dzq:bqgaydambqgaydambqgaydambqgaydambqgaydambqgaydambqga"
	friendRW   = "URI:DIR2-MDMF:a4dqobyha4dqobyha4dqobyha4:baeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaea"
	friendRead = "URI:DIR2-MDMF-RO:s5hrhabj7xbzllnn76axc4c3wu:baeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaea"
	friendVer  = "URI:DIR2-MDMF-Verifier:citnqywxvhrqywsbcoehci64fq:baeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaea"
	fileCap    = "URI:LIT:nbswy3dp"
	code       = "7-guitarist-revenge"
)

// fake is an in-memory Backend that records every call.
type fake struct {
	mu       sync.Mutex
	folders  []api.FolderStatus
	caps     map[string]string // "folder kind" → cap
	shareErr error
	gate     map[string]chan struct{} // Share of "folder kind" waits for it to close
	addErr   error
	added    []api.AddRequest
	invites  map[string]invite.Folder // code → what Accept returns
	pending  chan *fakePending        // each invite made
	// localGrid makes Invite refuse unless allowed, and LocalGridOnly
	// say so, as the real backend does for a grid on 127.0.0.1 only.
	localGrid bool
	calls     []string
}

func newFake(names ...string) *fake {
	f := &fake{caps: map[string]string{
		"Docs read": docsRead, "Docs snapshot": docsSnap, "Photos read": photosRead,
	}, gate: map[string]chan struct{}{}, invites: map[string]invite.Folder{}, pending: make(chan *fakePending, 4)}
	for _, n := range names {
		f.folders = append(f.folders, api.FolderStatus{Name: n, Path: "/home/u/" + n, Mode: "sync"})
	}
	return f
}

func (f *fake) record(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, a...))
}

func (f *fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fake) Added() []api.AddRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.AddRequest(nil), f.added...)
}

func (f *fake) List() []api.FolderStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.FolderStatus(nil), f.folders...)
}

func (f *fake) Share(ctx context.Context, folder, kind string) (string, error) {
	f.record("share %s %s", folder, kind)
	f.mu.Lock()
	g := f.gate[folder+" "+kind]
	f.mu.Unlock()
	if g != nil {
		select {
		case <-g:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.shareErr != nil {
		return "", f.shareErr
	}
	c, ok := f.caps[folder+" "+kind]
	if !ok {
		return "", fmt.Errorf("%w: %q", api.ErrNoFolder, folder)
	}
	return c, nil
}

func (f *fake) Add(ctx context.Context, r api.AddRequest) (api.FolderStatus, error) {
	f.record("add %s", r.Path)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, r)
	if f.addErr != nil {
		return api.FolderStatus{}, f.addErr
	}
	st := api.FolderStatus{Name: filepath.Base(r.Path), Path: r.Path, Mode: "follow"}
	f.folders = append(f.folders, st)
	return st, nil
}

func (f *fake) Invite(ctx context.Context, folder string, allowLocal bool) (share.Pending, error) {
	f.mu.Lock()
	local := f.localGrid
	f.mu.Unlock()
	if local && !allowLocal {
		f.record("invite %s refused: local grid", folder)
		return nil, invite.ErrLocalGrid
	}
	f.record("invite %s", folder)
	p := &fakePending{result: make(chan error, 1), closed: make(chan struct{})}
	f.pending <- p
	return p, nil
}

func (f *fake) LocalGridOnly() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.localGrid, nil
}

var _ share.LocalGridTeller = (*fake)(nil)

func (f *fake) Accept(ctx context.Context, c string) (invite.Folder, error) {
	f.record("accept %s", c)
	f.mu.Lock()
	defer f.mu.Unlock()
	inv, ok := f.invites[c]
	if !ok {
		return invite.Folder{}, invite.ErrNoSuchCode
	}
	return inv, nil
}

// fakePending is an invite whose friend arrives when the test sends on result.
type fakePending struct {
	result chan error
	closed chan struct{}
	once   sync.Once
}

func (p *fakePending) Code() string { return code }
func (p *fakePending) Wait(ctx context.Context) error {
	select {
	case err := <-p.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (p *fakePending) Close() { p.once.Do(func() { close(p.closed) }) }

// fixedNow is the time the window shows under the tests' clock (export_test.go).
const fixedNow = "14:03"

// typeIn types s into e, one of w's entries, as a user would: never while
// the window lays itself out (share.Window.Locked).
func typeIn(w *share.Window, e fyne.Focusable, s string) {
	w.Locked(func() { test.Type(e, s) })
}

func open(t *testing.T, b share.Backend, store *shares.Store, folder string) (fyne.App, *share.Window) {
	t.Helper()
	a := test.NewApp()
	t.Cleanup(a.Quit)
	w := share.New(a, b, store, folder)
	t.Cleanup(func() {
		if _, done := closed.Load(w); !done {
			w.Close()
		}
	})
	return a, w
}

// closed holds the windows a test closed itself (fyne's test driver
// cannot close a window twice).
var closed sync.Map

func closeWindow(w *share.Window) {
	closed.Store(w, true)
	w.Close()
}

func waitText(t *testing.T, what string, l *widget.Label, want string) {
	t.Helper()
	if !testkit.Poll(10*time.Second, func() bool { return l.Text == want }) {
		t.Fatalf("%s: %q, want %q", what, l.Text, want)
	}
}

func waitContains(t *testing.T, what string, l *widget.Label, want string) {
	t.Helper()
	if !testkit.Poll(10*time.Second, func() bool { return strings.Contains(l.Text, want) }) {
		t.Fatalf("%s: %q, want it to contain %q", what, l.Text, want)
	}
}

// sameQR says whether img is the QR code of text as go-qrcode draws it.
func sameQR(t *testing.T, img image.Image, text string) bool {
	t.Helper()
	if img == nil {
		return false
	}
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	want := q.Image(256)
	if img.Bounds() != want.Bounds() {
		return false
	}
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, _ := img.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				return false
			}
		}
	}
	return true
}

func TestShowsTheReadCapCopiesItAndItsQR(t *testing.T) {
	f := newFake("Docs", "Photos")
	a, w := open(t, f, nil, "Docs")
	waitText(t, "cap", w.Cap, docsRead)
	if !w.Folder.Visible() || strings.Join(w.Folder.Options, ",") != "Docs,Photos" || w.Folder.Selected != "Docs" {
		t.Errorf("folder picker: visible %v, options %v, selected %q", w.Folder.Visible(), w.Folder.Options, w.Folder.Selected)
	}
	if w.About.Text != share.AboutReadCap {
		t.Errorf("about: %q", w.About.Text)
	}
	for _, words := range []string{"read-only", "cannot change anything", "every change you make later", "does not expire", "cannot be taken back"} {
		if !strings.Contains(share.AboutReadCap, words) {
			t.Errorf("the read-cap text does not say %q", words)
		}
	}
	if !w.QR.Visible() || !sameQR(t, w.QR.Image, docsRead) {
		t.Error("the QR code is not the read-cap's")
	}
	if w.Copy.Disabled() {
		t.Fatal("Copy is disabled with the cap shown")
	}
	test.Tap(w.Copy)
	if got := a.Clipboard().Content(); got != docsRead {
		t.Errorf("clipboard %q, want the read-cap", got)
	}
	if !strings.HasPrefix(w.Status.Text, "Copied the read-cap of “Docs”.") {
		t.Errorf("status after Copy: %q", w.Status.Text)
	}
	// A grid other computers reach: no local-grid warning.
	if w.LocalGrid.Visible() || strings.Contains(w.Status.Text, share.LocalGridCopied) {
		t.Errorf("a local-grid warning on a grid that is not one: shown %v, status %q", w.LocalGrid.Visible(), w.Status.Text)
	}

	// Another folder: its cap and QR code.
	w.Folder.SetSelected("Photos")
	waitText(t, "Photos' cap", w.Cap, photosRead)
	if !sameQR(t, w.QR.Image, photosRead) {
		t.Error("the QR code did not follow the folder")
	}
	test.Tap(w.Copy)
	if got := a.Clipboard().Content(); got != photosRead {
		t.Errorf("clipboard %q, want Photos' read-cap", got)
	}
	if got := strings.Join(f.Calls(), "; "); got != "share Docs read; share Photos read" {
		t.Errorf("calls: %s", got)
	}
}

func TestSnapshotReplacesTheCap(t *testing.T) {
	f := newFake("Docs", "Photos")
	a, w := open(t, f, nil, "")
	waitText(t, "cap", w.Cap, docsRead)
	if !w.Snapshot.Visible() || w.Live.Visible() {
		t.Fatal("the snapshot button is not offered")
	}
	test.Tap(w.Snapshot)
	waitText(t, "snapshot cap", w.Cap, docsSnap)
	if !sameQR(t, w.QR.Image, docsSnap) {
		t.Error("the QR code is not the snapshot's")
	}
	if w.About.Text != share.AboutSnapshot || !strings.HasPrefix(w.CapKind.Text, "Frozen snapshot, made ") {
		t.Errorf("about %q, kind %q", w.About.Text, w.CapKind.Text)
	}
	test.Tap(w.Copy)
	if got := a.Clipboard().Content(); got != docsSnap {
		t.Errorf("clipboard %q, want the snapshot cap", got)
	}
	if !w.Live.Visible() {
		t.Fatal("no way back to the read-cap")
	}
	test.Tap(w.Live)
	waitText(t, "cap again", w.Cap, docsRead)
	if got := strings.Join(f.Calls(), "; "); got != "share Docs read; share Docs snapshot; share Docs read" {
		t.Errorf("calls: %s", got)
	}
}

func TestOneFolderNoPickerAndNoFolders(t *testing.T) {
	_, w := open(t, newFake("Docs"), nil, "")
	waitText(t, "cap", w.Cap, docsRead)
	if w.Folder.Visible() {
		t.Error("the folder picker is shown for one folder")
	}
	if w.Name.Text != "Folder “Docs”" {
		t.Errorf("name: %q", w.Name.Text)
	}

	_, w = open(t, newFake(), nil, "")
	waitText(t, "no folders", w.Name, share.NoFolders)
	if !w.Copy.Disabled() || !w.Invite.Disabled() || !w.Snapshot.Disabled() || w.QR.Visible() {
		t.Error("sharing is offered with no folder")
	}
}

func TestErrorsInPlainWords(t *testing.T) {
	f := newFake("Docs")
	f.shareErr = fmt.Errorf("%w: folder %q is not open on the grid yet (starting)", api.ErrNoGrid, "Docs")
	_, w := open(t, f, nil, "")
	waitText(t, "status", w.Status, "Could not get the read-cap of “Docs”: this computer cannot reach the grid right now (folder \"Docs\" is not open on the grid yet (starting)). Try again once it is connected.")
	if !w.Copy.Disabled() || w.QR.Visible() || w.Cap.Text != "" {
		t.Error("a cap is offered after an error")
	}
}

// A late answer for a folder no longer shown does not replace the cap.
func TestLateAnswerIsDropped(t *testing.T) {
	f := newFake("Docs", "Photos")
	g := make(chan struct{})
	f.gate["Docs read"] = g
	_, w := open(t, f, nil, "Docs")
	testkit.WaitFor(t, "the Docs request", 10*time.Second, func() bool { return len(f.Calls()) == 1 })
	w.Folder.SetSelected("Photos")
	waitText(t, "Photos' cap", w.Cap, photosRead)
	close(g)
	testkit.WaitFor(t, "Docs answered", 10*time.Second, func() bool { return len(f.Calls()) == 2 })
	time.Sleep(100 * time.Millisecond)
	if w.Cap.Text != photosRead || !sameQR(t, w.QR.Image, photosRead) {
		t.Errorf("the late Docs answer replaced Photos': %q", w.Cap.Text)
	}
}

func TestFollowBox(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "FromAlice")
	for _, c := range []struct {
		name, in, path string
		want           string // the message, or its start
		follow         string // the cap given to Add; "" = no Add
		accept         bool   // Accept was called
		keep           string // left in the box afterwards
	}{
		{name: "garbage", in: "hello there", path: abs, want: "Paste a folder's read-cap (it starts with URI:DIR2-RO: or URI:DIR2-MDMF-RO:) or type an invite code (a number and words, like 7-guitarist-revenge).", keep: "hello there"},
		{name: "empty", in: "  ", path: abs, want: "Paste a folder's read-cap", keep: "  "},
		{name: "write cap", in: docsWrite, path: abs, want: "This is a write-cap: it gives full control of the folder (whoever has it can change and delete every file in it). Do not pass it around. Ask your friend for a read-only share instead", keep: docsWrite},
		{name: "snapshot", in: docsSnap, path: abs, want: "This is a frozen snapshot (an immutable copy): it never changes, so there is nothing to follow.", keep: docsSnap},
		{name: "verify cap", in: friendVer, path: abs, want: "This is a verify-cap", keep: friendVer},
		{name: "file cap", in: fileCap, path: abs, want: "This is the cap of a file, not of a folder", keep: fileCap},
		{name: "cut short", in: docsRead[:30], path: abs, want: "This looks like a cap but is not a valid one (part of it may be missing): copy it again", keep: docsRead[:30]},
		{name: "bad code", in: "seven-guitarist", path: abs, want: "Paste a folder's read-cap", keep: "seven-guitarist"},
		{name: "no path", in: docsRead, path: "", want: share.NeedPath, keep: docsRead},
		{name: "relative path", in: docsRead, path: "FromAlice", want: "“FromAlice” is not a full path. " + share.NeedPath, keep: docsRead},
		{name: "read cap", in: "  " + docsRead[:40] + "\n" + docsRead[40:] + " \n", path: abs, want: "Following “FromAlice” into " + abs + ". It is read-only here: changes you make in it are not uploaded.", follow: docsRead},
		{name: "MDMF read cap", in: friendRead, path: abs + "/", want: "Following “FromAlice” into " + abs + ".", follow: friendRead},
		{name: "invite code", in: " " + code + " ", path: abs, want: "Following “FromAlice” into " + abs + ". It is read-only here: changes you make in it are not uploaded.", follow: friendRead, accept: true},
		{name: "unknown code", in: "8-guitarist-revenge", path: abs, want: "The invite code did not work: no invite with this code is waiting on the mailbox server", accept: true, keep: "8-guitarist-revenge"},
		{name: "code with a write cap", in: "9-guitarist-revenge", path: abs, want: "Following “FromAlice” into " + abs + ". It is read-only here: changes you make in it are not uploaded. The invite carried full control of the folder (a write-cap), but this box only follows", follow: friendRead, accept: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake("Docs")
			f.invites[code] = invite.Folder{Name: "Friend", Cap: friendRead}
			f.invites["9-guitarist-revenge"] = invite.Folder{Name: "Friend", Cap: friendRW, Write: true}
			_, w := open(t, f, nil, "")
			waitText(t, "cap", w.Cap, docsRead)
			typeIn(w, w.FollowIn, c.in)
			typeIn(w, w.FollowPath, c.path)
			test.Tap(w.Follow)
			waitContains(t, "follow status", w.FollowStatus, c.want)
			if !strings.HasPrefix(w.FollowStatus.Text, c.want) {
				t.Errorf("message %q, want it to start %q", w.FollowStatus.Text, c.want)
			}
			for _, secret := range []string{docsWrite, friendRW, friendRead, docsRead} {
				if strings.Contains(w.FollowStatus.Text, secret) {
					t.Errorf("the message quotes a cap: %q", w.FollowStatus.Text)
				}
			}
			added := f.Added()
			switch {
			case c.follow == "" && len(added) != 0:
				t.Errorf("Add was called: %+v", added)
			case c.follow != "" && (len(added) != 1 || added[0].Follow != c.follow || added[0].Path != abs || added[0].To != ""):
				t.Errorf("Add: %+v, want Follow of the read-cap into %s", added, abs)
			}
			accepted := strings.Contains(strings.Join(f.Calls(), ";"), "accept ")
			if accepted != c.accept {
				t.Errorf("Accept called: %v, want %v (%v)", accepted, c.accept, f.Calls())
			}
			if c.accept && accepted && !strings.Contains(strings.Join(f.Calls(), ";"), "accept "+strings.TrimSpace(c.in)) {
				t.Errorf("Accept got another code: %v", f.Calls())
			}
			if w.FollowIn.Text != c.keep {
				t.Errorf("left in the box: %q, want %q", w.FollowIn.Text, c.keep)
			}
			if w.Follow.Disabled() {
				t.Error("Follow stays disabled")
			}
		})
	}
}

// An invite code spent on a folder that could not be added leaves its
// read-cap in the box, so that a retry needs no new code.
func TestSpentInviteKeepsTheReadCap(t *testing.T) {
	f := newFake("Docs")
	f.invites[code] = invite.Folder{Name: "Friend", Cap: friendRead}
	f.addErr = fmt.Errorf("%w: a folder named %q exists (syncing /home/u/Friend); choose another name with --name", api.ErrExists, "FromAlice")
	_, w := open(t, f, nil, "")
	abs := filepath.Join(t.TempDir(), "FromAlice")
	typeIn(w, w.FollowIn, code)
	typeIn(w, w.FollowPath, abs)
	test.Tap(w.Follow)
	waitContains(t, "follow status", w.FollowStatus, "used up")
	want := "Could not follow the folder: a folder named \"FromAlice\" exists (syncing /home/u/Friend); choose another name with --name. The invite code is used up; the folder's read-cap is now in the box: tap Follow to try again."
	if w.FollowStatus.Text != want {
		t.Errorf("message %q\nwant    %q", w.FollowStatus.Text, want)
	}
	if w.FollowIn.Text != friendRead {
		t.Errorf("box: %q, want the invite's read-cap", w.FollowIn.Text)
	}
	// The retry follows the read-cap: no second Accept.
	f.mu.Lock()
	f.addErr = nil
	f.mu.Unlock()
	test.Tap(w.Follow)
	waitContains(t, "follow status", w.FollowStatus, "Following “FromAlice”")
	if n := strings.Count(strings.Join(f.Calls(), ";"), "accept "); n != 1 {
		t.Errorf("%d accepts, want 1", n)
	}
	if a := f.Added(); len(a) != 2 || a[1].Follow != friendRead {
		t.Errorf("Add: %+v", a)
	}
}

func TestInviteCode(t *testing.T) {
	node := t.TempDir()
	store := shares.Open(node)
	f := newFake("Docs", "Photos")
	a, w := open(t, f, store, "Docs")
	waitText(t, "cap", w.Cap, docsRead)
	waitText(t, "shared with", w.SharedWith, share.NobodyYet)
	typeIn(w, w.Whom, "Alice")
	test.Tap(w.Invite)
	var p *fakePending
	select {
	case p = <-f.pending:
	case <-time.After(10 * time.Second):
		t.Fatal("no invite made")
	}
	waitText(t, "invite status", w.InviteStatus, share.InviteWaiting)
	if !w.Code.Visible() || w.Code.Text != code || !w.Invite.Disabled() || !w.CancelInvite.Visible() {
		t.Errorf("code %q visible %v; invite disabled %v", w.Code.Text, w.Code.Visible(), w.Invite.Disabled())
	}
	test.Tap(w.CopyCode)
	if got := a.Clipboard().Content(); got != code {
		t.Errorf("clipboard %q, want the code", got)
	}
	p.result <- nil // the friend has it
	waitText(t, "invite status", w.InviteStatus, "Alice has received the read-cap of “Docs”.")
	waitText(t, "shared with", w.SharedWith, "Alice — invite code, "+fixedNow)
	if w.Code.Visible() || w.Invite.Disabled() || w.CancelInvite.Visible() {
		t.Error("the spent code is still shown")
	}
	if got := strings.Join(f.Calls(), "; "); got != "share Docs read; invite Docs" {
		t.Errorf("calls: %s", got)
	}

	// A failed invite says so; a cancelled one too.
	w.Whom.SetText("")
	test.Tap(w.Invite)
	p = <-f.pending
	waitText(t, "invite status", w.InviteStatus, share.InviteWaiting)
	p.result <- invite.ErrWrongCode
	waitText(t, "invite status", w.InviteStatus, "The invite for “Docs” did not go through: the invite code is wrong (or someone else used it first): the invite is cancelled; ask for a new code. Make a new code to try again.")
	test.Tap(w.Invite)
	<-f.pending
	waitText(t, "invite status", w.InviteStatus, share.InviteWaiting)
	test.Tap(w.CancelInvite)
	waitText(t, "invite status", w.InviteStatus, "The invite for “Docs” did not go through: it was cancelled, and its code no longer works. Make a new code to try again.")
	if es, _ := store.List(""); len(es) != 1 {
		t.Errorf("failed invites were recorded: %+v", es)
	}
}

// The shared-with list survives closing the window and opening it again,
// lists each folder's own, and its file holds no cap.
func TestSharedWithPersists(t *testing.T) {
	node := t.TempDir()
	f := newFake("Docs", "Photos")
	_, w := open(t, f, shares.Open(node), "Docs")
	waitText(t, "cap", w.Cap, docsRead)
	typeIn(w, w.Whom, "Alice")
	test.Tap(w.Copy)
	now := fixedNow
	waitText(t, "shared with", w.SharedWith, "Alice — read-cap, "+now)
	test.Tap(w.Snapshot)
	waitText(t, "snapshot", w.Cap, docsSnap)
	w.Whom.SetText("Bob")
	test.Tap(w.Copy)
	waitText(t, "shared with", w.SharedWith, "Bob — frozen snapshot, "+now+"\nAlice — read-cap, "+now)
	closeWindow(w)

	_, w = open(t, f, shares.Open(node), "Photos")
	waitText(t, "Photos' cap", w.Cap, photosRead)
	waitText(t, "Photos' list", w.SharedWith, share.NobodyYet)
	w.Folder.SetSelected("Docs")
	waitText(t, "Docs' list after reopening", w.SharedWith, "Bob — frozen snapshot, "+now+"\nAlice — read-cap, "+now)

	b, err := os.ReadFile(filepath.Join(node, "private", shares.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "URI:") || strings.Contains(string(b), docsRead[12:]) {
		t.Errorf("the shared-with file holds a cap:\n%s", b)
	}
	if !strings.Contains(string(b), `"Alice"`) {
		t.Errorf("the shared-with file:\n%s", b)
	}
	// A name that is not one short line is refused, the copy still done
	// (once Docs' cap is back: its list may come first).
	waitText(t, "Docs' cap after reopening", w.Cap, docsRead)
	w.Whom.SetText(strings.Repeat("x", shares.MaxName+1))
	test.Tap(w.Copy)
	waitContains(t, "status", w.Status, "The name was not added to the list: a name is one line of at most 64 characters")
}

// TestInviteToTheLocalGridNeedsAConfirm: on a grid that exists only on
// this computer the window makes no code at first: it says why a friend
// could not use one and what to do, and makes it only when "Make the code
// anyway" is tapped.
func TestInviteToTheLocalGridNeedsAConfirm(t *testing.T) {
	f := newFake("Docs")
	f.localGrid = true
	_, w := open(t, f, nil, "Docs")
	waitText(t, "cap", w.Cap, docsRead)
	if w.InviteAnyway.Visible() {
		t.Fatal("the confirm is shown before any warning")
	}
	test.Tap(w.Invite)
	waitText(t, "invite status", w.InviteStatus, share.LocalGridWarning)
	for _, want := range []string{"only on this computer", "could not use", "Join a grid that other computers can reach first"} {
		if !strings.Contains(share.LocalGridWarning, want) {
			t.Errorf("the warning does not say %q", want)
		}
	}
	if !w.InviteAnyway.Visible() || w.Code.Visible() || w.Invite.Disabled() {
		t.Errorf("after the warning: confirm shown %v, code shown %v, Invite disabled %v", w.InviteAnyway.Visible(), w.Code.Visible(), w.Invite.Disabled())
	}
	select {
	case <-f.pending:
		t.Fatal("an invite was made without the confirm")
	default:
	}
	test.Tap(w.InviteAnyway)
	select {
	case <-f.pending:
	case <-time.After(10 * time.Second):
		t.Fatal("no invite made after the confirm")
	}
	waitText(t, "invite status", w.InviteStatus, share.InviteWaiting)
	if w.InviteAnyway.Visible() || !w.Code.Visible() {
		t.Errorf("after the confirm: confirm still shown %v, code shown %v", w.InviteAnyway.Visible(), w.Code.Visible())
	}
	if got := strings.Join(f.Calls(), "; "); got != "share Docs read; invite Docs refused: local grid; invite Docs" {
		t.Errorf("calls: %s", got)
	}
}

// TestCapOnTheLocalGridWarns: on a grid that exists only on this computer
// the cap and its QR code come with a warning that says what is wrong,
// why and what to do; Copy still copies, and what it says repeats why a
// friend cannot use it. The snapshot's cap warns the same way.
func TestCapOnTheLocalGridWarns(t *testing.T) {
	f := newFake("Docs")
	f.localGrid = true
	a, w := open(t, f, nil, "Docs")
	waitText(t, "cap", w.Cap, docsRead)
	if !w.LocalGrid.Visible() || w.LocalGrid.Text != share.LocalGridCapWarning {
		t.Fatalf("local-grid warning: shown %v, %q", w.LocalGrid.Visible(), w.LocalGrid.Text)
	}
	for _, want := range []string{"local grid", "cannot open the folder", "cannot reach the grid", "join a grid that other computers can reach", "another device on this computer"} {
		if !strings.Contains(share.LocalGridCapWarning, want) {
			t.Errorf("the warning does not say %q", want)
		}
	}
	if !w.QR.Visible() || !sameQR(t, w.QR.Image, docsRead) || w.Copy.Disabled() {
		t.Fatalf("with the warning: QR shown %v, Copy disabled %v", w.QR.Visible(), w.Copy.Disabled())
	}
	test.Tap(w.Copy)
	if got := a.Clipboard().Content(); got != docsRead {
		t.Errorf("clipboard %q, want the read-cap", got)
	}
	if want := "Copied the read-cap of “Docs”."; !strings.HasPrefix(w.Status.Text, want) || !strings.HasSuffix(w.Status.Text, " "+share.LocalGridCopied) {
		t.Errorf("status after Copy: %q, want %q … %q", w.Status.Text, want, share.LocalGridCopied)
	}

	test.Tap(w.Snapshot)
	waitText(t, "snapshot cap", w.Cap, docsSnap)
	if !w.LocalGrid.Visible() {
		t.Error("no local-grid warning with the snapshot's cap")
	}
	test.Tap(w.Copy)
	if !strings.HasSuffix(w.Status.Text, " "+share.LocalGridCopied) {
		t.Errorf("status after copying the snapshot: %q", w.Status.Text)
	}
}
