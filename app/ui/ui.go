// Package ui builds LAFS Sync's windows and tray menu. It holds all GUI
// logic and tests headlessly with fyne's test driver; only the thin main
// package (app/cmd/lafsync) creates a real fyne app.
package ui

import (
	"fmt"
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/icons"
	"github.com/lafssync/lafssync/internal/version"
)

// Info is what the window shows about this installation.
type Info struct {
	NodeDir string
}

// Icon is the application icon.
var Icon = fyne.NewStaticResource("lafssync.png", icons.App256)

// TrayIcon is the tray icon (small).
var TrayIcon = fyne.NewStaticResource("lafssync-tray.png", icons.App64)

// Status texts, shared with tests so they cannot drift apart.
const (
	Title   = version.Name
	Purpose = "Keeps a folder of yours in an encrypted, erasure-coded Tahoe-LAFS grid, " +
		"and lets you share read-only access with friends."
	// GridStarting is the local grid's status until it is up.
	GridStarting = "Local grid: starting…"
)

// Main is the main window and the widgets that change while it runs.
type Main struct {
	fyne.Window
	grid    *widget.Label
	summary *widget.Label
	list    *fyne.Container // one card per folder
	// cards and order are the folders' cards as shown, by name, and
	// their names in the window's order; on the UI thread only.
	cards map[string]*card
	order []string
	// widgets makes the changes from goroutines one at a time (fyne's
	// test driver runs fyne.Do on the caller's goroutine).
	widgets Serial
}

// SetGridStatus shows the local grid's state; safe from any goroutine.
func (m *Main) SetGridStatus(s string) { m.widgets.Do(func() { setText(m.grid, s) }) }

// NewMainWindow builds the main window.
func NewMainWindow(a fyne.App, info Info) *Main {
	w := a.NewWindow(Title)
	w.SetIcon(Icon)
	title := widget.NewLabelWithStyle(Title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	purpose := widget.NewLabel(Purpose)
	purpose.Wrapping = fyne.TextWrapWord
	summary := widget.NewLabelWithStyle(SyncStarting, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	summary.Wrapping = fyne.TextWrapWord
	list := container.NewVBox()
	grid := widget.NewLabel(GridStarting)
	grid.Wrapping = fyne.TextWrapWord
	details := widget.NewForm(
		widget.NewFormItem("Version", widget.NewLabel(version.Version)),
		widget.NewFormItem("Node directory", widget.NewLabel(info.NodeDir)),
	)
	// One column, top to bottom: what the app is, the folders, the grid.
	// The space a short list leaves is at the window's foot, not between
	// the folders and the grid (it read as an empty band).
	w.SetContent(container.NewVScroll(container.NewVBox(title, purpose, widget.NewSeparator(), summary, list, grid, details)))
	w.Resize(fyne.NewSize(640, 480))
	// Closing the window leaves the app in the tray.
	w.SetCloseIntercept(w.Hide)
	return &Main{Window: w, grid: grid, summary: summary, list: list, cards: map[string]*card{}}
}

// Describe is a one-line summary for logs.
func Describe(info Info) string {
	return fmt.Sprintf("%s %s (node directory %s)", Title, version.Version, info.NodeDir)
}

// SetupTray installs the tray icon and menu where the platform has a tray
// and returns it; nil where there is no tray (the window then shows the
// folders alone). The window follows the folders either way.
func SetupTray(a fyne.App, w *Main, log *slog.Logger) (t *Tray, ok bool) {
	d, ok := a.(desktop.App)
	if !ok {
		t = NewTray(nil, w, SystemOpener{}, log)
	} else {
		t = NewTray(d, w, SystemOpener{}, log)
		t.Quit = a.Quit
	}
	t.Refresh()
	return t, ok
}
