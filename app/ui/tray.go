package ui

import (
	"context"
	"log/slog"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"

	"github.com/lafssync/lafssync/icons"
	"github.com/lafssync/lafssync/syncer/api"
)

// Folders is the folder sync as the tray uses it; *syncer.Manager
// implements it (and Kick, which "Sync now" uses when it is there).
type Folders interface {
	List() []api.FolderStatus
	Pause(folder string, d time.Duration) error
	Resume(folder string) error
	Subscribe() (events <-chan api.Event, cancel func())
}

// kicker is a Folders that can check the grid now.
type kicker interface{ Kick() }

// Opener opens a folder in the desktop's file manager.
type Opener interface{ Open(path string) error }

// SystemOpener opens folders with xdg-open, open (macOS) or explorer.
type SystemOpener struct{}

// Open implements Opener; it does not wait for the file manager.
func (SystemOpener) Open(path string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", path)
	case "windows":
		cmd = exec.Command("explorer", path)
	default:
		cmd = exec.Command("xdg-open", path)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() //nolint:errcheck // explorer exits 1 on success
	return nil
}

// TraySink is where the tray shows: the platform's tray (desktop.App).
type TraySink interface {
	SetSystemTrayIcon(fyne.Resource)
	SetSystemTrayMenu(*fyne.Menu)
}

// Menu labels, shared with tests.
const (
	SyncNow      = "Sync now"
	PauseMenu    = "Pause"
	ResumeAll    = "Resume"
	ShowWindow   = "Show window"
	Pause30Min   = "For 30 minutes"
	Pause2Hours  = "For 2 hours"
	PauseTomorow = "Until tomorrow"
	PauseForever = "Until resumed"
	// SyncStarting is the status line until the folder sync runs.
	SyncStarting = "Starting the local grid and the folder sync…"
	StartAtLogin = "Start at login"
	QuitLabel    = "Quit"
	// Labels of the window items main adds (SetWindows).
	ShareLabel    = "Share…"
	HistoryLabel  = "Versions and deleted files…"
	ConflictLabel = "Conflicts…"
	ReachLabel    = "Reachability"
	PrefsLabel    = "Preferences…"
	KitLabel      = "Recovery kit…"
)

// WindowItem is a tray menu item that opens a window; Open runs on the
// UI thread.
type WindowItem struct {
	Label string
	Open  func()
}

// Autostart is the "start at login" setting (app/autostart on the real
// desktop; a fake in tests).
type Autostart interface {
	Enabled() (bool, error)
	SetEnabled(on bool) error
}

// refreshEvery bounds how often the tray menu is rebuilt while progress
// events stream in: each rebuild replaces the whole D-Bus menu.
const refreshEvery = time.Second

// Tray is the tray icon and menu, and the main window's folder list,
// kept up to date from the folder sync's events.
type Tray struct {
	sink TraySink
	open Opener
	log  *slog.Logger
	// Now and Go are the clock and how menu actions run (in a goroutine,
	// so that the UI never waits on the sync); tests replace them.
	Now func() time.Time
	Go  func(func())
	// Quit is what the menu's Quit does (the app's Quit); nil leaves it
	// to fyne.
	Quit func()

	mu        sync.Mutex // guards the fields below
	win       *Main      // nil until SetWindow (or none given)
	stopped   bool       // Quit was clicked: the platform tray is going away
	autostart Autostart  // nil: no such item in the menu
	atLogin   bool       // the setting as last read
	windows   []WindowItem
	reach     string // the reachability verdict in words, "" unknown
	folders   Folders
	status    map[string]api.FolderStatus // by name
	failed    string                      // why the folder sync did not start
	shown     string                      // key of what the tray shows
	shownWin  string                      // key of what the window shows
	menu      *fyne.Menu
	pushed    *fyne.Menu // the menu last given to the platform tray
	sum       Summary
	list      []api.FolderStatus // the folders as shown, sorted by name
	at        time.Time          // when they were summarized
}

// NewTray makes the tray; it shows "starting" until Attach. win may be
// nil and come later (SetWindow).
func NewTray(sink TraySink, win *Main, open Opener, log *slog.Logger) *Tray {
	return &Tray{sink: sink, win: win, open: open, log: log, Now: time.Now,
		Go: func(f func()) { go f() }, status: map[string]api.FolderStatus{}}
}

// SetWindow gives the tray its main window, which from then on shows the
// folders as the tray does, starting with what the tray shows now. main
// builds the window after the tray is on the bus, so that the icon does
// not wait for it. Call it on the UI thread.
func (t *Tray) SetWindow(w *Main) {
	t.mu.Lock()
	t.win = w
	sum, fs, now := t.sum, t.list, t.at
	t.mu.Unlock()
	if w != nil {
		w.widgets.Lock()
		w.showFolders(sum, fs, now)
		w.widgets.Unlock()
	}
}

// SetWindows sets the menu's window items, shown under "Show window" in
// this order; an item labelled ReachLabel gets the verdict (SetReach).
func (t *Tray) SetWindows(items ...WindowItem) {
	t.mu.Lock()
	t.windows = items
	t.mu.Unlock()
	t.Refresh()
}

// SetReach shows the node's reachability verdict in words in the menu's
// reachability item.
func (t *Tray) SetReach(verdict string) {
	t.mu.Lock()
	t.reach = verdict
	t.mu.Unlock()
	t.Refresh()
}

// SetAutostart adds the "Start at login" item, checked as a says.
func (t *Tray) SetAutostart(a Autostart) {
	on, err := a.Enabled()
	if err != nil && t.log != nil {
		t.log.Warn("could not read the start-at-login setting", "err", err)
	}
	t.mu.Lock()
	t.autostart, t.atLogin = a, on
	t.mu.Unlock()
	t.Refresh()
}

// toggleAutostart flips the setting off the UI thread and shows the
// result as read back (a failed change leaves the old check mark).
func (t *Tray) toggleAutostart() {
	t.Go(func() {
		t.mu.Lock()
		a, on := t.autostart, t.atLogin
		t.mu.Unlock()
		if a == nil {
			return
		}
		if err := a.SetEnabled(!on); err != nil && t.log != nil {
			t.log.Warn("could not change the start-at-login setting", "err", err)
		}
		now, err := a.Enabled()
		if err != nil {
			now = on
		}
		t.mu.Lock()
		t.atLogin = now
		t.mu.Unlock()
		t.Refresh()
	})
}

// Menu is the menu the tray shows now.
func (t *Tray) Menu() *fyne.Menu { t.mu.Lock(); defer t.mu.Unlock(); return t.menu }

// Summary is the state and status line the tray shows now.
func (t *Tray) Summary() Summary { t.mu.Lock(); defer t.mu.Unlock(); return t.sum }

// Failed shows that the folder sync could not start.
func (t *Tray) Failed(why string) {
	t.mu.Lock()
	t.failed = why
	t.mu.Unlock()
	t.Refresh()
}

// Attach shows the folders of f and follows their events until ctx ends.
// It returns at once; call it from any goroutine.
func (t *Tray) Attach(ctx context.Context, f Folders) {
	ev, cancel := f.Subscribe()
	t.mu.Lock()
	t.folders = f
	t.mu.Unlock()
	t.reload()
	go func() {
		defer cancel()
		t.follow(ctx, ev)
	}()
}

// reload takes every folder's status afresh (after an action, and at
// start: the events only carry changes).
func (t *Tray) reload() {
	t.mu.Lock()
	f := t.folders
	t.mu.Unlock()
	if f == nil {
		return
	}
	l := f.List()
	t.mu.Lock()
	t.status = map[string]api.FolderStatus{}
	for _, s := range l {
		t.status[s.Name] = s
	}
	t.mu.Unlock()
	t.Refresh()
}

func (t *Tray) follow(ctx context.Context, ev <-chan api.Event) {
	var last time.Time
	timer := time.NewTimer(0)
	<-timer.C
	pending := false
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case e, ok := <-ev:
			if !ok {
				return
			}
			t.note(e)
			if wait := refreshEvery - time.Since(last); wait > 0 {
				if !pending {
					pending = true
					timer.Reset(wait)
				}
				continue
			}
		case <-timer.C:
			pending = false
		}
		last = time.Now()
		t.Refresh()
	}
}

func (t *Tray) note(e api.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case e.Type == "removed":
		delete(t.status, e.Folder)
	case e.Status != nil:
		t.status[e.Status.Name] = *e.Status
	}
}

// Refresh recomputes what the tray and the window show and updates them
// on the UI thread if it changed. Safe from any goroutine.
func (t *Tray) Refresh() {
	now := t.Now()
	t.mu.Lock()
	fs := make([]api.FolderStatus, 0, len(t.status))
	for _, s := range t.status {
		fs = append(fs, s)
	}
	slices.SortFunc(fs, func(a, b api.FolderStatus) int { return strings.Compare(a.Name, b.Name) })
	var sum Summary
	switch {
	case t.failed != "":
		sum = Summary{State: icons.Error, Line: "The folder sync did not start: " + t.failed}
	case t.folders == nil:
		sum = Summary{State: icons.Syncing, Line: SyncStarting}
	default:
		sum = Summarize(fs, now)
	}
	menu := t.buildMenu(sum, fs, now)
	key := menuKey(menu) + "\x00" + sum.State.String()
	winKey := windowKey(sum, fs, now)
	if key == t.shown && winKey == t.shownWin {
		t.mu.Unlock()
		return
	}
	if key != t.shown {
		t.shown, t.menu = key, menu
	}
	// A change the window shows but the menu does not (the detail line's
	// "3 of 10 changes sent", a new error, the file count) updates the
	// window alone: the platform menu is only replaced when it changed.
	t.shownWin, t.sum, t.list, t.at = winKey, sum, fs, now
	t.mu.Unlock()
	// Show the latest state, whichever Refresh queued first.
	fyne.Do(func() {
		t.mu.Lock()
		menu, sum, fs, now, stopped, win := t.menu, t.sum, t.list, t.at, t.stopped, t.win
		push := menu != t.pushed
		if push && !stopped {
			t.pushed = menu
		}
		t.mu.Unlock()
		if stopped { // the tray's D-Bus connection may be closed already
			return
		}
		if t.sink != nil && push {
			t.sink.SetSystemTrayIcon(TrayIconFor(sum.State))
			t.sink.SetSystemTrayMenu(menu)
		}
		if win != nil {
			win.widgets.Lock()
			win.showFolders(sum, fs, now)
			win.widgets.Unlock()
		}
	})
}

// buildMenu is the tray menu for these folders.
func (t *Tray) buildMenu(sum Summary, fs []api.FolderStatus, now time.Time) *fyne.Menu {
	status := fyne.NewMenuItem(sum.Line, nil)
	status.Disabled = true
	items := []*fyne.MenuItem{status, fyne.NewMenuItemSeparator()}
	paused, running := 0, 0
	for _, f := range fs {
		items = append(items, fyne.NewMenuItem(FolderLabel(f, now), func() { t.openFolder(f.Path) }))
		if f.State == api.Paused {
			paused++
		} else {
			running++
		}
	}
	if len(fs) > 0 {
		items = append(items, fyne.NewMenuItemSeparator())
		items = append(items, fyne.NewMenuItem(SyncNow, t.action(t.syncNow)))
		if running > 0 {
			p := fyne.NewMenuItem(PauseMenu, nil)
			p.ChildMenu = fyne.NewMenu("",
				fyne.NewMenuItem(Pause30Min, t.action(func(f Folders) error { return f.Pause(api.Every, 30*time.Minute) })),
				fyne.NewMenuItem(Pause2Hours, t.action(func(f Folders) error { return f.Pause(api.Every, 2*time.Hour) })),
				fyne.NewMenuItem(PauseTomorow, t.action(func(f Folders) error { return f.Pause(api.Every, UntilTomorrow(t.Now())) })),
				fyne.NewMenuItem(PauseForever, t.action(func(f Folders) error { return f.Pause(api.Every, 0) })),
			)
			items = append(items, p)
		}
		if paused > 0 {
			items = append(items, fyne.NewMenuItem(ResumeAll, t.action(func(f Folders) error { return f.Resume(api.Every) })))
		}
	}
	items = append(items, fyne.NewMenuItemSeparator(), fyne.NewMenuItem(ShowWindow, t.showWindow))
	for _, w := range t.windows {
		label := w.Label
		if label == ReachLabel {
			label = ReachLabel + "…"
			if t.reach != "" {
				label = ReachLabel + ": " + t.reach + "…"
			}
		}
		items = append(items, fyne.NewMenuItem(label, w.Open))
	}
	if t.autostart != nil {
		login := fyne.NewMenuItem(StartAtLogin, t.toggleAutostart)
		login.Checked = t.atLogin
		items = append(items, login)
	}
	// Quit is ours, last: fyne adds a missing one only to the menu after
	// this one is shown (and fills in its action: quit the app).
	quit := fyne.NewMenuItem(QuitLabel, t.quit)
	quit.IsQuit = true
	items = append(items, fyne.NewMenuItemSeparator(), quit)
	return fyne.NewMenu(Title, items...)
}

// quit is the menu's Quit: no tray update after it (a refresh queued
// before it would find the platform tray closed), then the app's Quit.
func (t *Tray) quit() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
	if t.Quit != nil {
		t.Quit()
	} else if a := fyne.CurrentApp(); a != nil {
		a.Quit()
	}
}

// UntilTomorrow is how long "Until tomorrow" pauses: to 08:00 the next day.
func UntilTomorrow(now time.Time) time.Duration {
	y, m, d := now.Date()
	return time.Date(y, m, d+1, 8, 0, 0, 0, now.Location()).Sub(now)
}

func (t *Tray) syncNow(f Folders) error {
	if k, ok := f.(kicker); ok {
		k.Kick()
	}
	return nil
}

// action runs do on the sync off the UI thread, then shows the result.
func (t *Tray) action(do func(Folders) error) func() {
	return func() {
		t.Go(func() {
			t.mu.Lock()
			f := t.folders
			t.mu.Unlock()
			if f == nil {
				return
			}
			if err := do(f); err != nil && t.log != nil {
				t.log.Warn("tray action failed", "err", err)
			}
			t.reload()
		})
	}
}

func (t *Tray) openFolder(path string) {
	t.Go(func() {
		if err := t.open.Open(path); err != nil && t.log != nil {
			t.log.Warn("could not open the folder in the file manager", "path", path, "err", err)
		}
	})
}

func (t *Tray) showWindow() {
	t.mu.Lock()
	win := t.win
	t.mu.Unlock()
	if win != nil {
		win.Show()
		win.RequestFocus()
	}
}

// menuKey is the menu's labels and structure, to skip rebuilding the
// platform menu when nothing visible changed.
func menuKey(m *fyne.Menu) string {
	var b strings.Builder
	for _, it := range m.Items {
		if it.IsSeparator {
			b.WriteString("---\n")
			continue
		}
		b.WriteString(it.Label)
		if it.Disabled {
			b.WriteString(" (disabled)")
		}
		if it.Checked {
			b.WriteString(" (checked)")
		}
		b.WriteString("\n")
		if it.ChildMenu != nil {
			b.WriteString("[\n" + menuKey(it.ChildMenu) + "]\n")
		}
	}
	return b.String()
}

var trayIcons = func() map[icons.State]fyne.Resource {
	m := map[icons.State]fyne.Resource{}
	for _, s := range icons.States {
		m[s] = fyne.NewStaticResource("lafssync-tray-"+s.String()+".png", icons.Tray(s))
	}
	return m
}()

// TrayIconFor is the tray icon for state s.
func TrayIconFor(s icons.State) fyne.Resource {
	if r, ok := trayIcons[s]; ok {
		return r
	}
	return TrayIcon
}
