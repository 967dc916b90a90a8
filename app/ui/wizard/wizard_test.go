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
	// Restore's calls and answer.
	restores   []*recovery.Kit
	into       []string
	restored   Restored
	restoreErr error
}

func (f *fakeBackend) Restore(_ context.Context, k *recovery.Kit, into string) (Restored, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restores = append(f.restores, k)
	f.into = append(f.into, into)
	return f.restored, f.restoreErr
}

func (f *fakeBackend) restoreCalls() ([]*recovery.Kit, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*recovery.Kit(nil), f.restores...), append([]string(nil), f.into...)
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

const kitPass = "violet kettle harbour 42 glides"

// kitFile seals k with the cheap test parameters into a file in dir.
func kitFile(t *testing.T, dir string, k *recovery.Kit) string {
	t.Helper()
	text, err := recovery.Seal(k, kitPass, recovery.Params{Time: 1, Memory: 256, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "kit.txt")
	if err := os.WriteFile(p, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	kitCap   = "URI:DIR2:aaaaaaaaaaaaaaaaaaaaaaaaaa:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbba"
	aliasCap = "URI:DIR2:cccccccccccccccccccccccccc:dddddddddddddddddddddddddddddddddddddddddddddddddddd"
)

func gridKit() *recovery.Kit {
	return &recovery.Kit{V: recovery.KitVersion, Created: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), Node: "old laptop",
		Grid: recovery.Grid{Introducers: map[string]string{"friends": "lafs://v0-" + strings.Repeat("a", 52) + "@192.0.2.1:4444"},
			SharesNeeded: 3, SharesHappy: 7, SharesTotal: 10},
		Folders: []recovery.Folder{{Name: "Documents", Path: "/home/old/Documents", Mode: recovery.ModeSync, Cap: kitCap}},
		Aliases: map[string]string{"tahoe": aliasCap}}
}

// toRestore opens the restore step from the grid step.
func toRestore(t *testing.T, z *Wizard) {
	t.Helper()
	test.Tap(z.RestoreKit)
	if z.Step != StepRestore || z.Next.Text != "Restore" || z.Back.Disabled() {
		t.Fatalf("restore step: step %d, button %q, Back disabled %v", z.Step, z.Next.Text, z.Back.Disabled())
	}
}

// TestRestoreRefusesBadInputAndWrongPassphrase: a missing file, not a
// kit, a damaged kit and a wrong passphrase each say so on the window,
// and none reaches the backend; the right passphrase then does.
func TestRestoreRefusesBadInputAndWrongPassphrase(t *testing.T) {
	b := &fakeBackend{}
	z, home, done := start(t, b)
	file := kitFile(t, t.TempDir(), gridKit())
	toRestore(t, z)
	if z.KitInto.Text != filepath.Join(home, "LAFS Sync") {
		t.Errorf("folders go into %q by default", z.KitInto.Text)
	}

	test.Tap(z.Next)
	if z.RestoreStatus.Text != "Choose the recovery kit's file with Choose…, or type its full path." {
		t.Errorf("no file: %q", z.RestoreStatus.Text)
	}
	z.KitFile.SetText(file)
	test.Tap(z.Next)
	if z.RestoreStatus.Text != "Type the passphrase the recovery kit was made with." {
		t.Errorf("no passphrase: %q", z.RestoreStatus.Text)
	}

	notKit := filepath.Join(home, "notes.txt")
	if err := os.WriteFile(notKit, []byte("shopping: milk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(home, "damaged.txt")
	lines := strings.Split(string(text), "\n")
	last := len(lines) - 2 // the last line of groups (the text ends in a newline)
	lines[last] = strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		if r >= 'B' && r <= 'Z' {
			return 'A'
		}
		return r
	}, lines[last])
	if err := os.WriteFile(damaged, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, pass, want string }{
		{filepath.Join(home, "nowhere.txt"), kitPass, "There is no file " + filepath.Join(home, "nowhere.txt") + ". Choose the recovery kit's file with Choose…."},
		{"kit.txt", kitPass, "“kit.txt” is not a full path"},
		{notKit, kitPass, notKit + " is not a LAFS Sync recovery kit (a kit's first line is “LAFS-SYNC-RECOVERY-KIT 1”). Choose the kit's file."},
		{damaged, kitPass, "Cannot restore " + damaged + ": the recovery kit is damaged"},
		{file, "violet kettle harbour 42 glide", "Wrong passphrase: this is not the passphrase the recovery kit was made with. Type it again (capitals and spaces count)."},
	} {
		z.KitFile.SetText(c.file)
		z.KitPass.SetText(c.pass)
		test.Tap(z.Next)
		atStep(t, z, StepRestore)
		if !strings.HasPrefix(z.RestoreStatus.Text, c.want) {
			t.Errorf("%s with %q: %q, want it to begin %q", c.file, c.pass, z.RestoreStatus.Text, c.want)
		}
	}
	if k, _ := b.restoreCalls(); len(k) != 0 || b.finished != 0 || *done {
		t.Fatalf("a kit that did not open changed something: %d restores, %d finishes", len(k), b.finished)
	}
	if c, _ := b.calls(); len(c) != 0 {
		t.Fatalf("grid calls %+v", c)
	}

	// Back goes to the grid step; the restore step is there again.
	test.Tap(z.Back)
	if z.Step != StepGrid {
		t.Fatalf("Back: step %d", z.Step)
	}
	toRestore(t, z)
	z.KitPass.SetText(kitPass)
	test.Tap(z.Next)
	atStep(t, z, StepDone)
	if k, _ := b.restoreCalls(); len(k) != 1 {
		t.Fatalf("restores %d, want 1", len(k))
	}
}

// TestRestoreJoinedGridKit: a kit of a joined grid goes to the backend
// as it was sealed, with the folder the user chose; what the backend did
// is shown, and Finish records the setup.
func TestRestoreJoinedGridKit(t *testing.T) {
	into := filepath.Join(t.TempDir(), "Restored")
	b := &fakeBackend{restored: Restored{
		Grid:    "Joined the kit's grid (1 introducer).",
		Aliases: recovery.AliasResult{Added: []string{"tahoe"}},
		Folders: []recovery.FolderResult{{Name: "Documents", Path: filepath.Join(into, "Documents"), Mode: recovery.ModeSync}},
	}}
	z, _, done := start(t, b)
	toRestore(t, z)
	z.KitFile.SetText(kitFile(t, t.TempDir(), gridKit()))
	z.KitPass.SetText(kitPass)
	z.KitInto.SetText(into + string(filepath.Separator))
	test.Tap(z.Next)
	atStep(t, z, StepDone)
	kits, intos := b.restoreCalls()
	if len(kits) != 1 || intos[0] != into {
		t.Fatalf("restores %d, into %v; want 1 into %s", len(kits), intos, into)
	}
	k := kits[0]
	if k.Node != "old laptop" || len(k.Folders) != 1 || k.Folders[0].Cap != kitCap || k.Grid.Introducers["friends"] != gridKit().Grid.Introducers["friends"] || k.Grid.SharesTotal != 10 {
		t.Errorf("the backend got another kit: %v %+v", k, k.Grid)
	}
	want := "Joined the kit's grid (1 introducer).\n1 folder of 1 added:\n“Documents”: syncing again in " +
		filepath.Join(into, "Documents") + ".\n1 alias restored.\n\n" + RestoredDone
	if z.DoneLabel.Text != want || z.Next.Text != "Finish" {
		t.Errorf("done: %q, button %q; want %q", z.DoneLabel.Text, z.Next.Text, want)
	}
	test.Tap(z.Next)
	if b.finished != 1 || !*done {
		t.Errorf("finish: backend %d, onDone %v", b.finished, *done)
	}
}

// TestRestoreFailuresStayOnTheStep: a backend error, or a folder not
// restored, keeps the user on the restore step with the reason, and
// Restore can be pressed again.
func TestRestoreFailuresStayOnTheStep(t *testing.T) {
	b := &fakeBackend{restoreErr: errors.New("none of the kit's introducers can be used")}
	z, home, _ := start(t, b)
	toRestore(t, z)
	z.KitFile.SetText(kitFile(t, t.TempDir(), gridKit()))
	z.KitPass.SetText(kitPass)
	test.Tap(z.Next)
	atStep(t, z, StepRestore)
	if z.RestoreStatus.Text != "The kit was not restored: none of the kit's introducers can be used." {
		t.Errorf("backend error: %q", z.RestoreStatus.Text)
	}
	b.mu.Lock()
	b.restoreErr = nil
	b.restored = Restored{Grid: "Joined the kit's grid (1 introducer).", Folders: []recovery.FolderResult{
		{Name: "Documents", Path: filepath.Join(home, "LAFS Sync", "Documents"), Mode: recovery.ModeSync, Err: context.DeadlineExceeded}}}
	b.mu.Unlock()
	test.Tap(z.Next)
	atStep(t, z, StepRestore)
	if !strings.Contains(z.RestoreStatus.Text, "0 folders of 1 added:\n“Documents”: not restored: the grid did not answer in time.") ||
		!strings.HasSuffix(z.RestoreStatus.Text, "Press Restore to try the others again.") {
		t.Errorf("a folder failed: %q", z.RestoreStatus.Text)
	}
	if k, _ := b.restoreCalls(); len(k) != 2 {
		t.Errorf("restores %d, want 2", len(k))
	}
}

// TestRestoreLocalGridKit: a kit made on the local grid is explained
// before anything changes; restoring its aliases is what the user then
// agrees to, and the wizard goes on to the folder step on this
// computer's own grid.
func TestRestoreLocalGridKit(t *testing.T) {
	b := &fakeBackend{restored: Restored{Aliases: recovery.AliasResult{Added: []string{"tahoe"}}}}
	z, home, _ := start(t, b)
	k := gridKit()
	k.Grid = recovery.Grid{Introducers: map[string]string{recovery.LocalPetname: "lafs://v0-" + strings.Repeat("b", 52) + "@127.0.0.1:4444"}, Local: true,
		SharesNeeded: 3, SharesHappy: 7, SharesTotal: 10}
	file := kitFile(t, t.TempDir(), k)
	toRestore(t, z)
	z.KitFile.SetText(file)
	z.KitPass.SetText(kitPass)
	test.Tap(z.Next)
	atStep(t, z, StepRestore)
	if !strings.Contains(z.RestoreStatus.Text, LocalKitText) || !strings.Contains(z.RestoreStatus.Text, "1 folder, 1 alias") ||
		z.Next.Text != AliasesOnlyLabel {
		t.Fatalf("local kit: %q, button %q", z.RestoreStatus.Text, z.Next.Text)
	}
	if z.Next.Size().Width < z.Next.MinSize().Width {
		t.Errorf("the button is %v wide, its text needs %v", z.Next.Size().Width, z.Next.MinSize().Width)
	}
	if kits, _ := b.restoreCalls(); len(kits) != 0 {
		t.Fatal("a local-grid kit was restored before the user agreed")
	}
	// Changing the passphrase forgets the kit: the button restores again.
	z.KitPass.SetText(kitPass + " ")
	if z.Next.Text != "Restore" || z.RestoreStatus.Text != "" {
		t.Errorf("after an edit: button %q, %q", z.Next.Text, z.RestoreStatus.Text)
	}
	z.KitPass.SetText(kitPass)
	test.Tap(z.Next)
	atStep(t, z, StepRestore)
	test.Tap(z.Next)
	atStep(t, z, StepFolder)
	kits, intos := b.restoreCalls()
	if len(kits) != 1 || !kits[0].Grid.Local || intos[0] != "" {
		t.Fatalf("restores %d, into %v", len(kits), intos)
	}
	if !strings.HasPrefix(z.FolderText.Text, "1 alias restored. No folder was added from the kit.") || z.Folder.Text != filepath.Join(home, "LAFS Sync") {
		t.Errorf("folder step: %q, %q", z.FolderText.Text, z.Folder.Text)
	}
	// The rest is the local grid's path: the kit step has its note.
	test.Tap(z.Next)
	atStep(t, z, StepKit)
	if c, _ := b.calls(); len(c) != 0 {
		t.Errorf("grid calls %+v", c)
	}
	if !strings.Contains(z.kitNote.Text, "local grid") {
		t.Errorf("kit note %q", z.kitNote.Text)
	}
}

func TestKitOnItsComputer(t *testing.T) {
	lafs := "lafs://v0-" + strings.Repeat("a", 52) + "@192.0.2.1:4444"
	for _, c := range []struct {
		g    recovery.Grid
		want bool
	}{
		{recovery.Grid{Introducers: map[string]string{"default": lafs}}, false},
		{recovery.Grid{Introducers: map[string]string{"local": lafs}, Local: true}, true},
		{recovery.Grid{Introducers: map[string]string{"local": lafs, "friends": lafs}, Local: true}, true},
		{recovery.Grid{Introducers: map[string]string{}}, true},
		{recovery.Grid{}, true},
	} {
		if got := KitOnItsComputer(&recovery.Kit{Grid: c.g}); got != c.want {
			t.Errorf("%+v: %v, want %v", c.g, got, c.want)
		}
	}
}
