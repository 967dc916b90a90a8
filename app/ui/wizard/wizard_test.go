package wizard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/lafssync/lafssync/app/recovery"
	"github.com/lafssync/lafssync/node/invite"
)

// fakeBackend records the wizard's calls; gridErr, joined and addErr are
// what it answers.
type fakeBackend struct {
	mu       sync.Mutex
	choices  []Choice
	added    []string
	folders  []*invite.Folder
	finished int
	gridErr  error
	addErr   error
	joined   Joined
}

func (f *fakeBackend) Grid(_ context.Context, c Choice) (Joined, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.choices = append(f.choices, c)
	return f.joined, f.gridErr
}

func (f *fakeBackend) AddFolder(_ context.Context, p string, inv *invite.Folder) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, p)
	f.folders = append(f.folders, inv)
	return f.addErr
}

func (f *fakeBackend) Kit(context.Context) (*recovery.Kit, error) {
	return &recovery.Kit{V: recovery.KitVersion, Created: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
		Folders: []recovery.Folder{{Name: "LAFS Sync", Path: "/home/u/LAFS Sync", Mode: recovery.ModeSync,
			Cap: "URI:DIR2:aaaaaaaaaaaaaaaaaaaaaaaaaa:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbba"}},
		Aliases: map[string]string{}}, nil
}

func (f *fakeBackend) Finish() error { f.mu.Lock(); defer f.mu.Unlock(); f.finished++; return nil }

func (f *fakeBackend) calls() ([]Choice, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Choice(nil), f.choices...), append([]string(nil), f.added...)
}

func start(t *testing.T, b Backend) (*Wizard, string, *bool) {
	t.Helper()
	KitParams = recovery.Params{Time: 1, Memory: 256, Threads: 1}
	a := test.NewApp()
	t.Cleanup(a.Quit)
	home := t.TempDir()
	done := false
	z := New(a.NewWindow("setup"), b, home, func() { done = true })
	return z, home, &done
}

// atStep waits for the step under way and requires the wizard at step i.
func atStep(t *testing.T, z *Wizard, i int) {
	t.Helper()
	z.working.Wait()
	if z.Step != i || z.busy {
		t.Fatalf("at step %d (busy %v), want step %d; grid: %q, folder: %q", z.Step, z.busy, i, z.GridStatus.Text, z.FolderStatus.Text)
	}
}

// TestLocalGridWalkthrough: the default path — local grid, a folder, the
// kit skipped — calls the backend once per step with what was chosen and
// refuses a relative path and a file before that.
func TestLocalGridWalkthrough(t *testing.T) {
	b := &fakeBackend{joined: Joined{Summary: "Using this computer's local grid."}}
	z, home, done := start(t, b)
	if z.W.Title() != Title || z.Where.Selected != LocalLabel || !z.Code.Disabled() || !z.Address.Disabled() {
		t.Fatalf("start: title %q, selected %q, code disabled %v, address disabled %v",
			z.W.Title(), z.Where.Selected, z.Code.Disabled(), z.Address.Disabled())
	}
	if z.GridStatus.Text != LocalNote {
		t.Errorf("the local grid's note: %q", z.GridStatus.Text)
	}
	if !z.Back.Disabled() {
		t.Error("Back is enabled on the first step")
	}
	test.Tap(z.Next)
	atStep(t, z, StepFolder)
	if c, _ := b.calls(); len(c) != 1 || c[0] != (Choice{Where: LocalGrid}) {
		t.Fatalf("grid calls %+v", c)
	}
	if z.Folder.Text != filepath.Join(home, "LAFS Sync") || z.FolderText.Text != FolderAsk {
		t.Errorf("suggested folder %q, text %q", z.Folder.Text, z.FolderText.Text)
	}

	z.Folder.SetText("Documents")
	test.Tap(z.Next)
	if z.Step != StepFolder || !strings.Contains(z.FolderStatus.Text, "“Documents” is not a full path") {
		t.Errorf("relative path: step %d, %q", z.Step, z.FolderStatus.Text)
	}
	file := filepath.Join(home, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	z.Folder.SetText(file)
	test.Tap(z.Next)
	if z.Step != StepFolder || z.FolderStatus.Text != file+" is a file, not a folder. Choose a folder." {
		t.Errorf("a file: step %d, %q", z.Step, z.FolderStatus.Text)
	}
	if _, added := b.calls(); len(added) != 0 {
		t.Fatalf("bad paths reached the backend: %v", added)
	}

	want := filepath.Join(home, "LAFS Sync")
	z.Folder.SetText(want + "/")
	test.Tap(z.Next)
	atStep(t, z, StepKit)
	if _, added := b.calls(); len(added) != 1 || added[0] != want {
		t.Fatalf("added %v, want [%s]", added, want)
	}
	if st, err := os.Stat(want); err != nil || !st.IsDir() {
		t.Errorf("the folder was not made: %v", err)
	}
	if z.Next.Text != "Skip for now" || !strings.Contains(z.kitNote.Text, "local grid") {
		t.Errorf("kit step: button %q, note %q", z.Next.Text, z.kitNote.Text)
	}
	test.Tap(z.Next)
	atStep(t, z, StepDone)
	if z.DoneLabel.Text != KitSkipped+"\n\n"+DoneText || z.Next.Text != "Finish" {
		t.Errorf("done: %q, button %q", z.DoneLabel.Text, z.Next.Text)
	}
	test.Tap(z.Next)
	if b.finished != 1 || !*done {
		t.Errorf("finish: backend %d, onDone %v", b.finished, *done)
	}
}

// TestInviteCodeBringsAFriendsFolder: a bad code is refused before any
// network; a good one reaches the backend, and a read-only folder in the
// invite words the folder step and goes where the user says.
func TestInviteCodeBringsAFriendsFolder(t *testing.T) {
	shared := &invite.Folder{Name: "Holiday/../photos", Cap: "URI:DIR2-RO:x:y"}
	b := &fakeBackend{joined: Joined{Summary: "Joined the grid (3 of 10).", Folder: shared}}
	z, home, _ := start(t, b)
	z.Where.SetSelected(InviteLabel)
	if z.Code.Disabled() || !z.Address.Disabled() {
		t.Fatal("the code entry is not the enabled one")
	}
	test.Tap(z.Next)
	if z.GridStatus.Text != "Type the invite code the other device shows (like 7-guitarist-revenge)." {
		t.Errorf("empty code: %q", z.GridStatus.Text)
	}
	test.Type(z.Code, "guitarist revenge")
	test.Tap(z.Next)
	if !strings.HasPrefix(z.GridStatus.Text, "That is not an invite code: an invite code is a number and words") {
		t.Errorf("bad code: %q", z.GridStatus.Text)
	}
	if c, _ := b.calls(); len(c) != 0 {
		t.Fatalf("a bad code reached the backend: %+v", c)
	}
	z.Code.SetText(" 7-guitarist-revenge ")
	test.Tap(z.Next)
	atStep(t, z, StepFolder)
	if c, _ := b.calls(); len(c) != 1 || c[0] != (Choice{Where: InviteCode, Code: "7-guitarist-revenge"}) {
		t.Fatalf("grid calls %+v", c)
	}
	if !strings.Contains(z.FolderText.Text, "shares the folder “Holiday/../photos” with you, read-only") {
		t.Errorf("folder text %q", z.FolderText.Text)
	}
	// The peer's name cannot climb out of the home directory.
	if z.Folder.Text != filepath.Join(home, "Holiday-..-photos") {
		t.Errorf("suggested %q", z.Folder.Text)
	}
	test.Tap(z.Next)
	atStep(t, z, StepKit)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.folders) != 1 || b.folders[0] != shared {
		t.Errorf("the invite's folder was not passed on: %+v", b.folders)
	}
}

// TestIntroducerAddressAndFailures: a Tahoe pb:// fURL is refused in
// words; a backend failure keeps the user on the step, with the reason,
// and the step can be tried again.
func TestIntroducerAddressAndFailures(t *testing.T) {
	b := &fakeBackend{gridErr: errors.New("no introducer answered at 192.0.2.1:4444")}
	z, _, _ := start(t, b)
	z.Where.SetSelected(AddressLabel)
	z.Address.SetText("pb://abc@tcp:example.org:1234/introducer")
	test.Tap(z.Next)
	if !strings.Contains(z.GridStatus.Text, "That is not an introducer address") || !strings.Contains(z.GridStatus.Text, "Foolscap") {
		t.Errorf("pb://: %q", z.GridStatus.Text)
	}
	addr := "lafs://v0-" + strings.Repeat("a", 52) + "@192.0.2.1:4444"
	z.Address.SetText(addr)
	test.Tap(z.Next)
	z.working.Wait()
	if z.Step != StepGrid || z.Next.Disabled() {
		t.Errorf("after a failure: step %d, Next disabled %v", z.Step, z.Next.Disabled())
	}
	if z.GridStatus.Text != "Could not set up the grid: no introducer answered at 192.0.2.1:4444." {
		t.Errorf("failure text %q", z.GridStatus.Text)
	}
	b.mu.Lock()
	b.gridErr = nil
	b.mu.Unlock()
	test.Tap(z.Next)
	atStep(t, z, StepFolder)
	if c, _ := b.calls(); len(c) != 2 || c[1] != (Choice{Where: Introducer, Address: addr}) {
		t.Errorf("grid calls %+v", c)
	}
	// Back returns to the grid step.
	test.Tap(z.Back)
	if z.Step != StepGrid {
		t.Errorf("Back: step %d", z.Step)
	}
}

// TestKitSavedInTheWizard: the kit step saves a kit that opens with the
// passphrase typed, and the done step then does not say it was skipped.
func TestKitSavedInTheWizard(t *testing.T) {
	b := &fakeBackend{}
	z, home, _ := start(t, b)
	test.Tap(z.Next)
	atStep(t, z, StepFolder)
	test.Tap(z.Next)
	atStep(t, z, StepKit)
	pass := "violet kettle harbour 42 glides"
	test.Type(z.Kit.Pass, pass)
	test.Type(z.Kit.Again, pass)
	test.Tap(z.Kit.Save)
	z.Kit.Wait()
	if !strings.HasPrefix(z.Kit.Status.Text, "Saved to ") {
		t.Fatalf("the kit: %q", z.Kit.Status.Text)
	}
	if z.Next.Text != "Next" {
		t.Errorf("after saving, the button says %q", z.Next.Text)
	}
	text, err := os.ReadFile(filepath.Join(home, "LAFS Sync recovery kit.txt"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := recovery.Open(text, pass)
	if err != nil || len(k.Folders) != 1 || k.Folders[0].Name != "LAFS Sync" {
		t.Fatalf("the saved kit: %+v, %v", k, err)
	}
	test.Tap(z.Next)
	atStep(t, z, StepDone)
	if z.DoneLabel.Text != DoneText {
		t.Errorf("done text %q", z.DoneLabel.Text)
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"Photos": "Photos", "a/b": "a-b", `a\b`: "a-b", "..": "Shared folder", "": "Shared folder",
		" . ": "Shared folder", "x\ny": "x-y", strings.Repeat("é", 80): strings.Repeat("é", 50),
	} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}
