package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/app/ui/uitest"
	"github.com/lafssync/lafssync/icons"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/api/apitest"
)

func TestMainWindowSaysWhatItIs(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	w := NewMainWindow(a, Info{NodeDir: "/tmp/node-x"})
	uitest.Has(t, w, Title, Purpose, SyncStarting, GridStarting, "Node directory", "/tmp/node-x", "Version")
	if w.Title() != "LAFS Sync" {
		t.Errorf("title %q", w.Title())
	}
	w.SetGridStatus("Local grid: 10 storage servers")
	uitest.Has(t, w, "Local grid: 10 storage servers")
}

var now = time.Date(2026, 12, 2, 14, 0, 0, 0, time.Local)

func at(t time.Time) *time.Time { return &t }

var grid = api.Servers{Reachable: 10, Known: 10, Happy: 7}

func folder(name, state string) api.FolderStatus {
	return api.FolderStatus{Name: name, Path: "/home/u/" + name, Mode: "sync", State: state, Servers: grid}
}

func TestSummarize(t *testing.T) {
	paused := folder("Docs", api.Paused)
	paused.PausedUntil = at(now.Add(30 * time.Minute))
	pausedTomorrow := folder("Docs", api.Paused)
	pausedTomorrow.PausedUntil = at(now.Add(UntilTomorrow(now)))
	syncing := folder("Docs", api.Syncing)
	syncing.Progress = &api.Progress{Files: 3, DoneBytes: 2_000_000, TotalBytes: 50_000_000, ETASeconds: 20}
	syncing2 := folder("Pics", api.Syncing)
	syncing2.Progress = &api.Progress{Files: 1, DoneBytes: 10_000_000, TotalBytes: 30_000_000, ETASeconds: 75}
	offline := folder("Pics", api.Offline)
	offline.Servers = api.Servers{Reachable: 4, Known: 10, Happy: 7}
	// The engine says up to date but the grid it saw could not place
	// shares: not up to date.
	notHappy := folder("Pics", api.UpToDate)
	notHappy.Servers = api.Servers{Reachable: 2, Known: 10, Happy: 7}
	neverChecked := folder("Pics", api.UpToDate)
	neverChecked.Servers = api.Servers{}
	broken := folder("Docs", api.Error)
	broken.Detail = "2 files could not sync (see errors)"
	conflict := folder("Docs", api.UpToDate)
	conflict.Conflicts = []api.Conflict{{Path: "a.txt", Copy: "a.sync-conflict-x.txt", Time: now.Add(-time.Hour)}}
	oldConflict := folder("Docs", api.UpToDate)
	oldConflict.Conflicts = []api.Conflict{{Path: "a.txt", Copy: "a.sync-conflict-x.txt", Time: now.Add(-48 * time.Hour)}}
	for _, c := range []struct {
		name  string
		in    []api.FolderStatus
		state icons.State
		line  string
	}{
		{"none", nil, icons.UpToDate, NoFolders},
		{"one up to date", []api.FolderStatus{folder("Docs", api.UpToDate)}, icons.UpToDate, "Up to date — 1 folder"},
		{"three up to date", []api.FolderStatus{folder("A", api.UpToDate), folder("B", api.UpToDate), oldConflict}, icons.UpToDate, "Up to date — 3 folders"},
		{"syncing", []api.FolderStatus{syncing, syncing2, folder("C", api.UpToDate)}, icons.Syncing, "Syncing 4 files, 12 MB of 80 MB, about 2 min left"},
		{"syncing without progress", []api.FolderStatus{folder("Docs", api.Syncing)}, icons.Syncing, "Syncing Docs…"},
		{"starting", []api.FolderStatus{folder("Docs", api.Starting)}, icons.Syncing, "Starting — scanning and checking the grid"},
		{"paused", []api.FolderStatus{paused}, icons.Paused, "Paused until 14:30"},
		{"paused one of two", []api.FolderStatus{paused, folder("B", api.UpToDate)}, icons.Paused, "Paused until 14:30 — 1 of 2 folders"},
		{"paused until tomorrow", []api.FolderStatus{pausedTomorrow}, icons.Paused, "Paused until tomorrow 08:00"},
		{"paused until resumed", []api.FolderStatus{folder("Docs", api.Paused), paused}, icons.Paused, "Paused until resumed"},
		{"offline beats syncing and paused", []api.FolderStatus{syncing, offline, paused}, icons.Offline, "Offline — 4 of 10 storage servers reachable"},
		{"up to date without happiness is offline", []api.FolderStatus{notHappy}, icons.Offline, "Offline — 2 of 10 storage servers reachable"},
		{"never heard from the grid", []api.FolderStatus{neverChecked}, icons.Offline, "Offline — no storage servers connected"},
		{"conflict needs attention", []api.FolderStatus{conflict, offline}, icons.Attention, "Needs attention — 1 conflict in Docs (both versions kept)"},
		{"error beats all", []api.FolderStatus{conflict, offline, broken}, icons.Error, "Error in Docs — 2 files could not sync (see errors)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Summarize(c.in, now)
			if got.State != c.state || got.Line != c.line {
				t.Errorf("got %v %q, want %v %q", got.State, got.Line, c.state, c.line)
			}
			if TrayIconFor(got.State).Content() == nil || TrayIconFor(got.State) == TrayIconFor(icons.State(99)) {
				t.Errorf("no tray icon for %v", got.State)
			}
		})
	}
}

type fakeOpener struct{ opened []string }

func (o *fakeOpener) Open(p string) error { o.opened = append(o.opened, p); return nil }

// sink is a fake tray; fyne's test driver runs fyne.Do in the caller's
// goroutine, so its fields are read under mu.
type sink struct {
	mu    sync.Mutex
	icon0 fyne.Resource
	menu0 *fyne.Menu
	sets  int
}

func (s *sink) SetSystemTrayIcon(r fyne.Resource) { s.mu.Lock(); s.icon0 = r; s.mu.Unlock() }
func (s *sink) SetSystemTrayMenu(m *fyne.Menu)    { s.mu.Lock(); s.menu0 = m; s.sets++; s.mu.Unlock() }
func (s *sink) icon() fyne.Resource               { s.mu.Lock(); defer s.mu.Unlock(); return s.icon0 }
func (s *sink) menu() *fyne.Menu                  { s.mu.Lock(); defer s.mu.Unlock(); return s.menu0 }
func (s *sink) count() int                        { s.mu.Lock(); defer s.mu.Unlock(); return s.sets }

type kickFake struct {
	*apitest.Fake
	kicks int
}

func (k *kickFake) Kick() { k.kicks++ }

// newTestTray is a tray over a fake sync whose actions run at once.
func newTestTray(t *testing.T, f Folders) (*Tray, *sink, *fakeOpener, *Main) {
	a := test.NewApp()
	t.Cleanup(a.Quit)
	w := NewMainWindow(a, Info{NodeDir: "d"})
	s, o := &sink{}, &fakeOpener{}
	tr := NewTray(s, w, o, nil)
	tr.Now = func() time.Time { return now }
	tr.Go = func(f func()) { f() }
	tr.Refresh()
	if f != nil {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		tr.Attach(ctx, f)
	}
	return tr, s, o, w
}

func item(t *testing.T, m *fyne.Menu, label string) *fyne.MenuItem {
	t.Helper()
	for _, it := range m.Items {
		if it.Label == label {
			return it
		}
	}
	var ls []string
	for _, it := range m.Items {
		ls = append(ls, it.Label)
	}
	t.Fatalf("menu has no %q: %q", label, ls)
	return nil
}

func TestTrayBeforeTheSyncStarts(t *testing.T) {
	tr, s, _, _ := newTestTray(t, nil)
	if s.menu() == nil || s.menu().Items[0].Label != SyncStarting || !s.menu().Items[0].Disabled {
		t.Fatalf("menu %+v", s.menu())
	}
	item(t, s.menu(), ShowWindow)
	tr.Failed("no node directory")
	if got := s.menu().Items[0].Label; got != "The folder sync did not start: no node directory" || s.icon() != TrayIconFor(icons.Error) {
		t.Errorf("status line %q icon %v", got, s.icon().Name())
	}
}

func TestTrayMenuPauseResumeOpen(t *testing.T) {
	f := &kickFake{Fake: apitest.New()}
	f.Set("Docs", folder("Docs", api.UpToDate))
	f.Set("Pics", folder("Pics", api.UpToDate))
	_, s, o, w := newTestTray(t, f)
	m := s.menu()
	if m.Items[0].Label != "Up to date — 2 folders" || !m.Items[0].Disabled {
		t.Fatalf("status item %+v", m.Items[0])
	}
	if s.icon() != TrayIconFor(icons.UpToDate) {
		t.Errorf("icon %s", s.icon().Name())
	}
	item(t, m, "Docs — up to date").Action()
	if !slices.Equal(o.opened, []string{"/home/u/Docs"}) {
		t.Errorf("opened %q", o.opened)
	}
	item(t, m, SyncNow).Action()
	if f.kicks != 1 {
		t.Errorf("Sync now kicked %d times", f.kicks)
	}
	if slices.ContainsFunc(m.Items, func(i *fyne.MenuItem) bool { return i.Label == ResumeAll }) {
		t.Error("Resume offered with nothing paused")
	}
	p := item(t, m, PauseMenu)
	var subs []string
	for _, it := range p.ChildMenu.Items {
		subs = append(subs, it.Label)
	}
	if !slices.Equal(subs, []string{Pause30Min, Pause2Hours, PauseTomorow, PauseForever}) {
		t.Fatalf("pause submenu %q", subs)
	}
	item(t, p.ChildMenu, Pause30Min).Action()
	if c := f.Calls(); !slices.Equal(c, []string{"pause Docs 30m0s", "pause Pics 30m0s"}) {
		t.Errorf("calls %q", c)
	}
	// The tray reloads after the action: paused, and Resume offered.
	m = s.menu()
	if !strings.HasPrefix(m.Items[0].Label, "Paused until ") || s.icon() != TrayIconFor(icons.Paused) {
		t.Errorf("after pause: %q, icon %s", m.Items[0].Label, s.icon().Name())
	}
	item(t, m, "Docs — paused")
	uitest.Has(t, w, m.Items[0].Label, "Docs — paused", "/home/u/Docs")
	item(t, m, ResumeAll).Action()
	if c := f.Calls(); !slices.Equal(c[2:], []string{"resume Docs", "resume Pics"}) {
		t.Errorf("calls %q", c)
	}
	item(t, s.menu(), PauseMenu)
	item(t, item(t, s.menu(), PauseMenu).ChildMenu, PauseTomorow).Action()
	if c := f.Calls(); c[len(c)-1] != "pause Pics 18h0m0s" {
		t.Errorf("until tomorrow at 14:00: %q", c[len(c)-1])
	}
	item(t, s.menu(), ResumeAll)
}

func TestTrayFollowsEvents(t *testing.T) {
	f := apitest.New()
	tr, s, _, w := newTestTray(t, f)
	if got := tr.Summary().Line; got != NoFolders {
		t.Fatalf("no folders: %q", got)
	}
	uitest.Has(t, w, NoFolders)
	waitFor(t, func() bool { return f.Subscribers() == 1 })
	st := folder("Docs", api.Offline)
	st.Servers = api.Servers{Reachable: 4, Known: 10, Happy: 7}
	f.Emit(api.Event{Type: "status", Folder: "Docs", Status: &st})
	waitFor(t, func() bool { return tr.Summary().Line == "Offline — 4 of 10 storage servers reachable" })
	if s.icon() != TrayIconFor(icons.Offline) {
		t.Errorf("icon %s", s.icon().Name())
	}
	item(t, tr.Menu(), "Docs — offline")
	f.Emit(api.Event{Type: "removed", Folder: "Docs"})
	waitFor(t, func() bool { return tr.Summary().Line == NoFolders })
}

func TestTrayRebuildsMenuOnlyOnChange(t *testing.T) {
	f := apitest.New()
	f.Set("Docs", folder("Docs", api.UpToDate))
	tr, s, _, _ := newTestTray(t, f)
	n := s.count()
	tr.Refresh()
	tr.Refresh()
	if s.count() != n {
		t.Errorf("the same menu was set %d more times", s.count()-n)
	}
}

func TestWindowShowsFolderErrors(t *testing.T) {
	f := apitest.New()
	st := folder("Docs", api.Error)
	st.Detail = "1 files could not sync (see errors)"
	st.Files, st.Bytes = 12, 3_400_000
	st.Errors = []api.FileError{{Path: "report.docx", Error: "permission denied", Hint: "give yourself read access to the file", Time: now}}
	st.Conflicts = []api.Conflict{{Path: "notes.txt", Copy: "notes.sync-conflict-20261202-130000-abc.txt", Time: now.Add(-time.Hour)}}
	f.Set("Docs", st)
	_, _, _, w := newTestTray(t, f)
	uitest.Has(t, w,
		"Error in Docs — 1 files could not sync (see errors)",
		"Docs — error", "/home/u/Docs", "1 files could not sync (see errors)",
		"12 files, 3.4 MB; 10 of 10 storage servers reachable (7 needed)",
		"Not syncing: report.docx: permission denied — give yourself read access to the file",
		"Conflict 13:00: notes.txt — the other version is kept as notes.sync-conflict-20261202-130000-abc.txt")
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeAutostart is the start-at-login setting in memory; fail makes the
// next change fail.
type fakeAutostart struct {
	on, fail bool
	sets     []bool
}

func (f *fakeAutostart) Enabled() (bool, error) { return f.on, nil }
func (f *fakeAutostart) SetEnabled(on bool) error {
	f.sets = append(f.sets, on)
	if f.fail {
		return errors.New("read-only home")
	}
	f.on = on
	return nil
}

func TestTrayStartAtLoginToggles(t *testing.T) {
	tr, s, _, _ := newTestTray(t, apitest.New())
	if slices.ContainsFunc(s.menu().Items, func(i *fyne.MenuItem) bool { return i.Label == StartAtLogin }) {
		t.Fatal("Start at login offered without a setting to change")
	}
	a := &fakeAutostart{}
	tr.SetAutostart(a)
	it := item(t, s.menu(), StartAtLogin)
	if it.Checked {
		t.Fatal("checked while off")
	}
	it.Action()
	if !a.on || !item(t, s.menu(), StartAtLogin).Checked {
		t.Errorf("after a click: setting %v, checked %v; want both on", a.on, item(t, s.menu(), StartAtLogin).Checked)
	}
	// A change that fails leaves the check mark as the setting is.
	a.fail = true
	item(t, s.menu(), StartAtLogin).Action()
	if !slices.Equal(a.sets, []bool{true, false}) || !item(t, s.menu(), StartAtLogin).Checked {
		t.Errorf("after a failed change: sets %v, checked %v; want still checked", a.sets, item(t, s.menu(), StartAtLogin).Checked)
	}
	a.fail = false
	item(t, s.menu(), StartAtLogin).Action()
	if a.on || item(t, s.menu(), StartAtLogin).Checked {
		t.Error("still on after clicking it off")
	}
}

// TestTrayWindowItems: the window items come after "Show window" in the
// order given, the reachability item carries the verdict, and each opens
// its own window.
func TestTrayWindowItems(t *testing.T) {
	tr, s, _, _ := newTestTray(t, nil)
	var opened []string
	open := func(what string) func() { return func() { opened = append(opened, what) } }
	tr.SetWindows(WindowItem{ShareLabel, open("share")}, WindowItem{ReachLabel, open("reach")},
		WindowItem{PrefsLabel, open("prefs")})
	item(t, s.menu(), ReachLabel+"…")
	tr.SetReach("behind NAT")
	var got []string
	after := false
	for _, it := range s.menu().Items {
		if it.Label == ShowWindow {
			after = true
			continue
		}
		if after && !it.IsSeparator && it.Label != QuitLabel {
			got = append(got, it.Label)
		}
	}
	want := []string{ShareLabel, "Reachability: behind NAT…", PrefsLabel}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("items after Show window: %q, want %q", got, want)
	}
	item(t, s.menu(), "Reachability: behind NAT…").Action()
	item(t, s.menu(), ShareLabel).Action()
	if strings.Join(opened, ",") != "reach,share" {
		t.Errorf("opened %v", opened)
	}
}

// TestTrayQuietAfterQuit: after Quit no update reaches the platform tray
// (whose D-Bus connection closes with the app; an update then panicked).
func TestTrayQuietAfterQuit(t *testing.T) {
	tr, s, _, _ := newTestTray(t, nil)
	quits := 0
	tr.Quit = func() { quits++ }
	before := s.menu()
	item(t, before, QuitLabel).Action()
	if quits != 1 {
		t.Fatalf("Quit ran %d times", quits)
	}
	tr.Failed("the node stopped")
	if s.menu() != before {
		t.Error("the tray menu was replaced after Quit")
	}
}

// shows is what the main window shows now, read while no update runs.
func shows(w *Main) []string {
	w.widgets.Lock()
	defer w.widgets.Unlock()
	return uitest.Texts(w.Content())
}

// labelWith is the label of the window showing s, nil if none does.
func labelWith(w *Main, s string) *widget.Label {
	w.widgets.Lock()
	defer w.widgets.Unlock()
	var found *widget.Label
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			if x.Text == s && found == nil {
				found = x
			}
		case *container.Scroll:
			walk(x.Content)
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(w.Content())
	return found
}

// TestWindowFollowsTheFolderLive: an open window changes as the folder
// sync reports, without being opened again: the detail line's progress,
// a new error, a conflict, then up to date. Lines that change are the same
// labels with new texts (no card is built again on a tick), and changes
// the menu does not show leave the platform menu alone.
func TestWindowFollowsTheFolderLive(t *testing.T) {
	f := apitest.New()
	st := folder("Docs", api.Syncing)
	st.Detail = "syncing: 3 of 10 changes sent to the grid"
	st.Files, st.Bytes = 12, 3_400_000
	f.Set("Docs", st)
	tr, s, _, w := newTestTray(t, f)
	waitFor(t, func() bool { return f.Subscribers() == 1 })
	if !slices.Contains(shows(w), "syncing: 3 of 10 changes sent to the grid") {
		t.Fatalf("window at start: %q", shows(w))
	}
	detail := labelWith(w, "syncing: 3 of 10 changes sent to the grid")
	header := labelWith(w, "Docs — syncing")
	if detail == nil || header == nil {
		t.Fatalf("no detail or header label: %q", shows(w))
	}
	menus := s.count()

	emit := func(st api.FolderStatus, want string) {
		t.Helper()
		f.Emit(api.Event{Type: "status", Folder: st.Name, Status: &st})
		deadline := time.Now().Add(5 * time.Second)
		for !slices.Contains(shows(w), want) {
			if time.Now().After(deadline) {
				t.Fatalf("the window never showed %q; it shows %q", want, shows(w))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	st.Detail = "syncing: 4 of 10 changes sent to the grid"
	emit(st, st.Detail)
	if detail.Text != st.Detail {
		t.Errorf("the detail line is a new label: the old one says %q", detail.Text)
	}
	if s.count() != menus {
		t.Errorf("the platform menu was replaced %d times for a change it does not show", s.count()-menus)
	}
	if slices.Contains(shows(w), "syncing: 3 of 10 changes sent to the grid") {
		t.Errorf("the old progress is still shown: %q", shows(w))
	}

	st.Errors = []api.FileError{{Path: "report.docx", Error: "permission denied", Hint: "give yourself read access to the file", Time: now}}
	emit(st, "Not syncing: report.docx: permission denied — give yourself read access to the file")
	st.Conflicts = []api.Conflict{{Path: "notes.txt", Copy: "notes.sync-conflict-20261202-130000-abc.txt", Time: now.Add(-time.Hour)}}
	emit(st, "Conflict 13:00: notes.txt — the other version is kept as notes.sync-conflict-20261202-130000-abc.txt")
	if labelWith(w, "Docs — 1 conflict") != header {
		t.Errorf("the folder's header is not the same label changed in place: %q", shows(w))
	}
	if got := tr.Summary().Line; got != "Needs attention — 1 conflict in Docs (both versions kept)" {
		t.Errorf("tray line %q", got)
	}
	st.State, st.Detail, st.Errors, st.Conflicts = api.UpToDate, "", nil, nil
	emit(st, "Docs — up to date")
	if got := shows(w); slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "Not syncing") || strings.HasPrefix(s, "syncing:") }) {
		t.Errorf("lines of the old state are left: %q", got)
	}
	// A second folder appears, and the first's card stays as it is.
	f.Emit(api.Event{Type: "status", Folder: "Pics", Status: &api.FolderStatus{Name: "Pics", Path: "/home/u/Pics", Mode: "sync", State: api.UpToDate, Servers: grid}})
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(shows(w), "Pics — up to date") {
		if time.Now().After(deadline) {
			t.Fatalf("Pics never shown: %q", shows(w))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if labelWith(w, "Docs — up to date") != header {
		t.Error("adding a folder rebuilt the other folder's card")
	}
}
