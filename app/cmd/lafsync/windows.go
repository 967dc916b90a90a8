package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"

	"github.com/lafssync/lafssync/app/appnode"
	"github.com/lafssync/lafssync/app/cli"
	"github.com/lafssync/lafssync/app/recovery"
	"github.com/lafssync/lafssync/app/shares"
	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/app/ui/conflicts"
	"github.com/lafssync/lafssync/app/ui/history"
	"github.com/lafssync/lafssync/app/ui/prefs"
	"github.com/lafssync/lafssync/app/ui/reach"
	"github.com/lafssync/lafssync/app/ui/share"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/invite"
	"github.com/lafssync/lafssync/syncer/api"
)

// windows opens the app's windows from the tray menu, on the node that
// runs when the item is clicked.
type windows struct {
	a fyne.App
	// main is the main window, nil until main built it (just after the
	// tray came up); set and read on the UI thread.
	main *ui.Main
	r    *appnode.Runner
	log  *slog.Logger
	// autostart is "Start at login" (nil: not offered).
	autostart ui.Autostart
}

// items are the tray menu's window items.
func (w *windows) items() []ui.WindowItem {
	return []ui.WindowItem{
		{Label: ui.ShareLabel, Open: w.onUI(w.share)},
		{Label: ui.HistoryLabel, Open: w.onUI(w.history)},
		{Label: ui.ConflictLabel, Open: w.onUI(w.conflicts)},
		{Label: ui.ReachLabel, Open: w.onUI(w.reach)},
		{Label: ui.PrefsLabel, Open: w.onUI(w.prefs)},
		{Label: ui.KitLabel, Open: w.onUI(w.kit)},
	}
}

// restart restarts the node with its new settings (asynchronously).
func (w *windows) restart() error { w.r.Restart(); return nil }

func (w *windows) reach() {
	cur := func() *fullnode.Node { n, _ := w.r.Current(); return n }
	reach.Show(w.a, reach.NodeSourceFunc(cur), reach.Options{Restart: w.restart})
}

func (w *windows) prefs() {
	prefs.Show(w.a, prefs.Deps{Config: prefs.NodeDir(w.r.Dir), Folders: currentFolders{w.r},
		Autostart: w.autostart, Restart: w.restart})
}

// currentFolders is the folder sync of whichever node runs now.
type currentFolders struct{ r *appnode.Runner }

func (c currentFolders) List() []api.FolderStatus {
	if _, m := c.r.Current(); m != nil {
		return m.List()
	}
	return nil
}

// Ready says whether a node runs (prefs.Readier: while it restarts, an
// open Preferences window keeps listing the folders).
func (c currentFolders) Ready() bool { _, m := c.r.Current(); return m != nil }

func (c currentFolders) Remove(ctx context.Context, name string, keepRemote bool) error {
	_, m := c.r.Current()
	if m == nil {
		return errors.New("the node is not running (it may be restarting); try again in a few seconds")
	}
	return m.Remove(ctx, name, keepRemote)
}

// onUI runs open on the UI thread (tray menu actions come from the
// platform's tray goroutine).
func (w *windows) onUI(open func()) func() { return func() { fyne.Do(open) } }

// running is the node's folder sync, or nil after telling the user that
// the node is not running yet.
func (w *windows) running() bool {
	if w.main == nil {
		return false // the app is a moment from its window and the node's start
	}
	if n, m := w.r.Current(); n == nil || m == nil {
		dialog.ShowInformation("Not ready yet", "The node is still starting (or restarting). Try again in a few seconds.", w.main)
		w.main.Show()
		return false
	}
	return true
}

func (w *windows) share() {
	if !w.running() {
		return
	}
	_, m := w.r.Current()
	dir := w.r.Dir
	b := share.NewBackend(m, func() (invite.Invite, error) { return cli.GridInvite(dir) }, invite.Options{})
	share.Show(w.a, b, shares.Open(dir), "")
}

func (w *windows) history() {
	if !w.running() {
		return
	}
	_, m := w.r.Current()
	history.Show(w.a, m, "")
}

func (w *windows) conflicts() {
	if !w.running() {
		return
	}
	n, m := w.r.Current()
	conflicts.Show(w.a, m, conflicts.Options{Device: cli.DeviceID(n), KeepDir: filepath.Join(w.r.Dir, "kept")})
}

// kitTitle is the recovery kit window's title.
const kitTitle = "LAFS Sync recovery kit"

// kit is the recovery kit window: make one, or restore from one.
func (w *windows) kit() {
	if !w.running() {
		return
	}
	_, m := w.r.Current()
	win := w.a.NewWindow(kitTitle)
	collect := func(ctx context.Context) (*recovery.Kit, error) {
		return recovery.Collect(ctx, w.r.Dir, recovery.ManagerSource(m), time.Now())
	}
	export := ui.NewKitExport(win, collect, filepath.Join(homeDir(), "LAFS Sync recovery kit.txt"), recovery.DefaultParams, nil)
	restore := ui.NewKitRestore(win, w.r.Dir, m)
	win.SetContent(container.NewAppTabs(
		container.NewTabItem("Make a kit", container.NewVScroll(container.NewPadded(export.Content))),
		container.NewTabItem("Restore from a kit", container.NewVScroll(container.NewPadded(restore.Content))),
	))
	win.Resize(fyne.NewSize(620, 560))
	win.Show()
}
