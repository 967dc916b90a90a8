// Package ui builds LAFS Sync's windows and tray menu. It holds all GUI
// logic and tests headlessly with fyne's test driver; only the thin main
// package (app/cmd/lafsync) creates a real fyne app.
package ui

import (
	"fmt"

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
	State = "The folder sync runs inside this app. Add a folder from a terminal: " +
		"lafs sync add DIR (lafs sync status shows how it is doing). This window " +
		"does not list the folders yet; that comes with the tray's folder view."
	// GridStarting is the local grid's status until it is up.
	GridStarting = "Local grid: starting…"
)

// Main is the main window and the widgets that change while it runs.
type Main struct {
	fyne.Window
	grid *widget.Label
}

// SetGridStatus shows the local grid's state; safe from any goroutine.
func (m *Main) SetGridStatus(s string) { fyne.Do(func() { m.grid.SetText(s) }) }

// NewMainWindow builds the main window.
func NewMainWindow(a fyne.App, info Info) *Main {
	w := a.NewWindow(Title)
	w.SetIcon(Icon)
	title := widget.NewLabelWithStyle(Title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	purpose := widget.NewLabel(Purpose)
	purpose.Wrapping = fyne.TextWrapWord
	state := widget.NewLabel(State)
	state.Wrapping = fyne.TextWrapWord
	grid := widget.NewLabel(GridStarting)
	grid.Wrapping = fyne.TextWrapWord
	details := widget.NewForm(
		widget.NewFormItem("Version", widget.NewLabel(version.Version)),
		widget.NewFormItem("Node directory", widget.NewLabel(info.NodeDir)),
	)
	w.SetContent(container.NewVBox(title, purpose, widget.NewSeparator(), state, grid, details))
	w.Resize(fyne.NewSize(560, 330))
	// Closing the window leaves the app in the tray.
	w.SetCloseIntercept(w.Hide)
	return &Main{Window: w, grid: grid}
}

// TrayMenu is the tray menu; fyne appends Quit.
func TrayMenu(w fyne.Window) *fyne.Menu {
	return fyne.NewMenu(Title, fyne.NewMenuItem("Show window", func() { w.Show(); w.RequestFocus() }))
}

// SetupTray installs the tray icon and menu where the platform has a tray.
// It reports whether it did.
func SetupTray(a fyne.App, w fyne.Window) bool {
	d, ok := a.(desktop.App)
	if !ok {
		return false
	}
	d.SetSystemTrayIcon(TrayIcon)
	d.SetSystemTrayMenu(TrayMenu(w))
	return true
}

// Describe is a one-line summary for logs.
func Describe(info Info) string {
	return fmt.Sprintf("%s %s (node directory %s)", Title, version.Version, info.NodeDir)
}
