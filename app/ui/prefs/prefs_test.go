package prefs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/app/ui/uitest"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/storagenode"
	"github.com/lafssync/lafssync/syncer/api"
)

// nodeDirForTest makes a real node directory (lafs create-node's tahoe.cfg).
func nodeDirForTest(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "node")
	if _, err := storagenode.Create(dir, storagenode.CreateOptions{Storage: true, ReservedSpace: 1e9, Nickname: "laptop"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func open(t *testing.T, d Deps) *Window {
	t.Helper()
	a := test.NewApp()
	t.Cleanup(a.Quit)
	if d.Go == nil {
		d.Go = func(f func()) { f() }
	}
	if d.Every == 0 {
		d.Every = -1 // no live updates: the tests below change the form themselves (live_test.go has them)
	}
	w := New(a, d)
	t.Cleanup(w.Close)
	w.Show()
	return w
}

func retype(e *widget.Entry, s string) {
	e.SetText("")
	test.Type(e, s)
}

func readCfg(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, config.File))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFormShowsTheNodesSettings(t *testing.T) {
	dir := nodeDirForTest(t)
	w := open(t, Deps{Config: NodeDir(dir)})
	if w.k.Text != "3" || w.happy.Text != "7" || w.n.Text != "10" {
		t.Errorf("encoding shown %s/%s/%s, want create-node's 3/7/10", w.k.Text, w.happy.Text, w.n.Text)
	}
	if w.helper.Selected != HelperAuto || w.storage.Selected != StorageOnLabel || w.reserved.Text != "1G" {
		t.Errorf("helper %q, storage %q, reserved %q", w.helper.Selected, w.storage.Selected, w.reserved.Text)
	}
	if w.save.Disabled() {
		t.Error("Save is disabled once the settings are read")
	}
	uitest.Has(t, w, EncodingWords, "Shares needed (k)", "Servers of happiness", "Total shares (n)", "Reserved space")
}

// TestInvalidEncodingIsRefusedAndNothingWritten: each wrong k/happy/n is
// said in words and tahoe.cfg is not touched (no backup either).
func TestInvalidEncodingIsRefusedAndNothingWritten(t *testing.T) {
	cases := []struct{ k, happy, n, want string }{
		{"0", "7", "10", "shares needed (k) is 0: it must be at least 1"},
		{"5", "3", "10", "servers of happiness (3) cannot be less than shares needed (5)"},
		{"3", "7", "5", "total shares (n = 5) cannot be less than servers of happiness (7)"},
		{"3", "7", "300", "total shares (n) is 300: it can be at most 256"},
		{"three", "7", "10", `shares needed (k) is "three": write a whole number from 1 to 256`},
		{"3", "", "10", `servers of happiness is "": write a whole number from 1 to 256`},
	}
	for _, c := range cases {
		t.Run(c.k+"-"+c.happy+"-"+c.n, func(t *testing.T) {
			dir := nodeDirForTest(t)
			before := readCfg(t, dir)
			w := open(t, Deps{Config: NodeDir(dir)})
			retype(w.k, c.k)
			retype(w.happy, c.happy)
			retype(w.n, c.n)
			test.Tap(w.save)
			if !strings.HasPrefix(w.status.Text, "Not saved: ") || !strings.Contains(w.status.Text, c.want) ||
				!strings.HasSuffix(w.status.Text, "Nothing was written.") {
				t.Errorf("status %q, want it to say %q", w.status.Text, c.want)
			}
			if readCfg(t, dir) != before {
				t.Error("tahoe.cfg changed")
			}
			if _, err := os.Stat(filepath.Join(dir, config.BackupFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a backup was written: %v", err)
			}
		})
	}
}

func TestOtherInvalidFieldsAreRefused(t *testing.T) {
	dir := nodeDirForTest(t)
	before := readCfg(t, dir)
	w := open(t, Deps{Config: NodeDir(dir)})
	retype(w.reserved, "lots")
	test.Tap(w.save)
	if !strings.Contains(w.status.Text, `reserved space "lots" is not a size: write e.g. 10G, 500MB or 0`) {
		t.Errorf("status %q", w.status.Text)
	}
	retype(w.reserved, "1G")
	w.helper.SetSelected(HelperNamed)
	if w.helperID.Disabled() {
		t.Fatal("the helper ID entry stays disabled with a named helper chosen")
	}
	test.Tap(w.save)
	if !strings.Contains(w.status.Text, "no helper named") {
		t.Errorf("status %q", w.status.Text)
	}
	retype(w.helperID, "v0-short")
	test.Tap(w.save)
	if !strings.Contains(w.status.Text, `helper "v0-short" is not a node ID`) {
		t.Errorf("status %q", w.status.Text)
	}
	if readCfg(t, dir) != before {
		t.Error("tahoe.cfg changed")
	}
}

const helperID = "v0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// TestSaveWritesWhatTheLoaderReadsBack: a valid save writes a tahoe.cfg
// that node/config loads with the new values, keeps the old one as
// tahoe.cfg.bak, and says that a restart is needed.
func TestSaveWritesWhatTheLoaderReadsBack(t *testing.T) {
	dir := nodeDirForTest(t)
	before := readCfg(t, dir)
	w := open(t, Deps{Config: NodeDir(dir)})
	retype(w.k, "2")
	retype(w.happy, "4")
	retype(w.n, "6")
	w.helper.SetSelected(HelperNamed)
	retype(w.helperID, helperID)
	w.storage.SetSelected(StorageReadOnlyLabel)
	retype(w.reserved, "20G")
	test.Tap(w.save)
	c, err := config.Load(dir)
	if err != nil {
		t.Fatalf("the saved tahoe.cfg does not load: %v", err)
	}
	if c.SharesNeeded != 2 || c.SharesHappy != 4 || c.SharesTotal != 6 {
		t.Errorf("encoding read back %d/%d/%d, want 2/4/6", c.SharesNeeded, c.SharesHappy, c.SharesTotal)
	}
	if !c.StorageEnabled || !c.ReadOnly || c.ReservedSpace != 20e9 || c.Nickname != "laptop" {
		t.Errorf("storage read back enabled %v readonly %v reserved %d, nickname %q", c.StorageEnabled, c.ReadOnly, c.ReservedSpace, c.Nickname)
	}
	if h, err := config.LoadHelper(dir); err != nil || h.Use != helperID {
		t.Errorf("helper read back %q, %v", h.Use, err)
	}
	bak, err := os.ReadFile(filepath.Join(dir, config.BackupFile))
	if err != nil || string(bak) != before {
		t.Errorf("tahoe.cfg.bak = %v, want the file as it was", err)
	}
	for _, want := range []string{"Saved to tahoe.cfg: ", "[client] shares.needed = 2", "[storage] readonly = true",
		"[storage] reserved_space = 20G", "The old file is kept as tahoe.cfg.bak.", RestartHint} {
		if !strings.Contains(w.status.Text, want) {
			t.Errorf("status %q lacks %q", w.status.Text, want)
		}
	}
	// Saving again with nothing changed writes nothing.
	os.Remove(filepath.Join(dir, config.BackupFile))
	test.Tap(w.save)
	if w.status.Text != "Nothing to save: the settings are as they were." {
		t.Errorf("status %q", w.status.Text)
	}
	if _, err := os.Stat(filepath.Join(dir, config.BackupFile)); !errors.Is(err, os.ErrNotExist) {
		t.Error("an unchanged save wrote tahoe.cfg again")
	}
	// Storage off, then on again: on means not read-only.
	w.storage.SetSelected(StorageOffLabel)
	test.Tap(w.save)
	w.storage.SetSelected(StorageOnLabel)
	test.Tap(w.save)
	if c, err := config.Load(dir); err != nil || !c.StorageEnabled || c.ReadOnly {
		t.Errorf("storage on read back enabled %v readonly %v, %v", c.StorageEnabled, c.ReadOnly, err)
	}
}

// TestSaveKeepsAChangeMadeMeanwhile: a key the user did not touch in the
// window keeps what another writer (lafs reachability --apply) put there.
func TestSaveKeepsAChangeMadeMeanwhile(t *testing.T) {
	dir := nodeDirForTest(t)
	w := open(t, Deps{Config: NodeDir(dir)})
	if _, err := config.Edit(dir, []config.Setting{{Section: "storage", Key: "enabled", Value: "false"}}); err != nil {
		t.Fatal(err)
	}
	retype(w.k, "4")
	test.Tap(w.save)
	c, err := config.Load(dir)
	if err != nil || c.SharesNeeded != 4 || c.StorageEnabled {
		t.Errorf("read back k %d storage %v, %v; want k 4 and storage still off", c.SharesNeeded, c.StorageEnabled, err)
	}
}

func TestSaveFailureIsSaid(t *testing.T) {
	dir := nodeDirForTest(t)
	w := open(t, Deps{Config: NodeDir(dir)})
	os.Remove(filepath.Join(dir, config.File))
	retype(w.k, "2")
	test.Tap(w.save)
	if !strings.HasPrefix(w.status.Text, "Could not save the settings: ") || !strings.Contains(w.status.Text, "lafs create-node") {
		t.Errorf("status %q", w.status.Text)
	}
}

func TestChanges(t *testing.T) {
	base := Settings{K: 3, Happy: 7, N: 10, Helper: config.HelperAuto, Storage: StorageOff, Reserved: 1e9}
	on := base
	on.Storage = StorageOn
	got := Changes(base, on)
	want := []config.Setting{{Section: "storage", Key: "enabled", Value: "true"}, {Section: "storage", Key: "readonly", Value: "false"}}
	if !slices.Equal(got, want) {
		t.Errorf("off → on: %v, want %v (readonly said, an off node may have it true)", got, want)
	}
	if got := Changes(base, base); len(got) != 0 {
		t.Errorf("no change: %v", got)
	}
	ro := on
	ro.Storage = StorageReadOnly
	if got := Changes(ro, base); !slices.Equal(got, []config.Setting{{Section: "storage", Key: "enabled", Value: "false"}}) {
		t.Errorf("read-only → off: %v", got)
	}
}

type fakeLogin struct {
	mu      sync.Mutex // the live updates read it from their goroutine
	on      bool
	setErr  error
	setCall []bool
}

func (f *fakeLogin) Enabled() (bool, error) { f.mu.Lock(); defer f.mu.Unlock(); return f.on, nil }
func (f *fakeLogin) SetEnabled(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setCall = append(f.setCall, on)
	if f.setErr != nil {
		return f.setErr
	}
	f.on = on
	return nil
}

var _ ui.Autostart = (*fakeLogin)(nil)

func TestStartAtLoginToggleCallsTheSetting(t *testing.T) {
	f := &fakeLogin{on: true}
	w := open(t, Deps{Autostart: f})
	if !w.login.Checked || w.login.Disabled() {
		t.Fatalf("checked %v disabled %v, want it checked as the setting says", w.login.Checked, w.login.Disabled())
	}
	if len(f.setCall) != 0 {
		t.Fatalf("showing the setting changed it: %v", f.setCall)
	}
	test.Tap(w.login)
	if !slices.Equal(f.setCall, []bool{false}) || f.on || w.login.Checked {
		t.Errorf("calls %v, setting %v, checked %v", f.setCall, f.on, w.login.Checked)
	}
	if w.status.Text != "LAFS Sync no longer starts when you log in." {
		t.Errorf("status %q", w.status.Text)
	}
	f.setErr = errors.New("~/.config/autostart is not writable")
	test.Tap(w.login)
	if !slices.Equal(f.setCall, []bool{false, true}) || w.login.Checked {
		t.Errorf("calls %v, checked %v: a failed change must show the old state", f.setCall, w.login.Checked)
	}
	if w.status.Text != "Could not change whether LAFS Sync starts at login: ~/.config/autostart is not writable." {
		t.Errorf("status %q", w.status.Text)
	}
}

type fakeFolders struct {
	mu         sync.Mutex
	list       []api.FolderStatus
	removed    []string
	keep       []bool
	restarting bool // not Ready
}

func (f *fakeFolders) Ready() bool { f.mu.Lock(); defer f.mu.Unlock(); return !f.restarting }

var _ Readier = (*fakeFolders)(nil)

func (f *fakeFolders) List() []api.FolderStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.list)
}

func (f *fakeFolders) Remove(_ context.Context, name string, keepRemote bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed, f.keep = append(f.removed, name), append(f.keep, keepRemote)
	f.list = slices.DeleteFunc(f.list, func(s api.FolderStatus) bool { return s.Name == name })
	return nil
}

// dialogButton taps the button labelled label in the window's top
// overlay (the confirmation dialog) and returns the dialog's texts.
func dialogButton(t *testing.T, w fyne.Window, label string) []string {
	t.Helper()
	top := w.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no dialog is shown")
	}
	var words []string
	var tap *widget.Button
	for _, o := range test.LaidOutObjects(top) {
		switch x := o.(type) {
		case *widget.Label:
			words = append(words, x.Text)
		case *widget.Button:
			words = append(words, x.Text)
			if x.Text == label {
				tap = x
			}
		}
	}
	if tap == nil {
		t.Fatalf("the dialog has no %q button: %q", label, words)
	}
	test.Tap(tap)
	return words
}

func TestRemoveFolderAsksAndSaysTheGridCopyIsKept(t *testing.T) {
	f := &fakeFolders{list: []api.FolderStatus{{Name: "docs", Path: "/home/u/docs", Mode: "sync"},
		{Name: "photos", Path: "/home/u/photos", Mode: "follow"}}}
	w := open(t, Deps{Folders: f})
	uitest.Has(t, w, "docs", "/home/u/docs", "photos (read-only mirror)", "/home/u/photos")
	test.Tap(w.remove["photos"])
	words := dialogButton(t, w, "Cancel")
	if !slices.Contains(words, RemoveQuestion("photos", "/home/u/photos")) {
		t.Errorf("the dialog says %q", words)
	}
	if !strings.Contains(RemoveQuestion("photos", "/home/u/photos"), "copy on the grid is kept") {
		t.Error("the question does not say the grid copy is kept")
	}
	if len(f.removed) != 0 {
		t.Fatalf("Cancel removed %v", f.removed)
	}
	test.Tap(w.remove["photos"])
	dialogButton(t, w, "Remove")
	if !slices.Equal(f.removed, []string{"photos"}) || !slices.Equal(f.keep, []bool{true}) {
		t.Fatalf("removed %v keepRemote %v, want photos, kept", f.removed, f.keep)
	}
	if w.status.Text != "Stopped syncing photos. Its files in /home/u/photos and its copy on the grid are kept." {
		t.Errorf("status %q", w.status.Text)
	}
	if _, still := w.remove["photos"]; still {
		t.Error("photos is still listed")
	}
	uitest.Has(t, w, "docs")
}

// TestBandwidthIsNotFaked: the node has no bandwidth setting, so the
// window says so and offers no control.
func TestBandwidthIsNotFaked(t *testing.T) {
	w := open(t, Deps{Config: NodeDir(nodeDirForTest(t))})
	uitest.Has(t, w, NoBandwidthLimits)
	for _, s := range uitest.Texts(w.Content()) {
		if strings.Contains(strings.ToLower(s), "bandwidth") && s != NoBandwidthLimits {
			t.Errorf("a bandwidth control: %q", s)
		}
	}
}

func TestRestartOfferedAfterSaveOnlyWithAWay(t *testing.T) {
	dir := nodeDirForTest(t)
	restarts := 0
	w := open(t, Deps{Config: NodeDir(dir), Restart: func() error { restarts++; return nil }})
	if w.restart.Visible() {
		t.Error("restart offered before anything was saved")
	}
	retype(w.k, "2")
	test.Tap(w.save)
	if !w.restart.Visible() || !strings.HasSuffix(w.status.Text, "The node uses the new settings after a restart.") {
		t.Fatalf("restart visible %v, status %q", w.restart.Visible(), w.status.Text)
	}
	test.Tap(w.restart)
	if restarts != 1 || w.status.Text != "The node is restarting with the new settings." {
		t.Errorf("%d restarts, status %q", restarts, w.status.Text)
	}
}
