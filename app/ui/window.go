package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/syncer/api"
)

// maxShown bounds the errors and conflicts a folder's card lists.
const maxShown = 5

// showFolders puts the folders in the window; on the UI thread.
func (m *Main) showFolders(sum Summary, fs []api.FolderStatus, now time.Time) {
	m.summary.SetText(sum.Line)
	cards := make([]fyne.CanvasObject, 0, len(fs))
	for _, f := range fs {
		cards = append(cards, folderCard(f, now))
	}
	if len(fs) == 0 {
		hint := widget.NewLabel("Add a folder from a terminal: lafs sync add DIR " +
			"(lafs sync status shows how it is doing). It appears here at once.")
		hint.Wrapping = fyne.TextWrapWord
		cards = append(cards, hint)
	}
	m.list.Objects = cards
	m.list.Refresh()
}

// FolderLines is what a folder's card says, line by line (the window's
// text, testable without walking widgets).
func FolderLines(f api.FolderStatus, now time.Time) []string {
	mode := ""
	if f.Mode == "follow" {
		mode = " (read-only mirror)"
	}
	lines := []string{FolderLabel(f, now) + mode, f.Path}
	if f.Detail != "" {
		lines = append(lines, f.Detail)
	}
	lines = append(lines, fmt.Sprintf("%s, %s; %s", plural(f.Files, "file"), Bytes(f.Bytes), serversLine(f.Servers)))
	for i, e := range f.Errors {
		if i == maxShown {
			lines = append(lines, fmt.Sprintf("… and %d more files that do not sync (lafs sync status %s lists them)", len(f.Errors)-maxShown, f.Name))
			break
		}
		l := "Not syncing: " + e.Path + ": " + e.Error
		if e.Hint != "" {
			l += " — " + e.Hint
		}
		lines = append(lines, l)
	}
	for i, c := range f.Conflicts {
		if i == maxShown {
			lines = append(lines, fmt.Sprintf("… and %d more conflicts", len(f.Conflicts)-maxShown))
			break
		}
		lines = append(lines, fmt.Sprintf("Conflict %s: %s — the other version is kept as %s", When(c.Time, now), c.Path, c.Copy))
	}
	if len(f.Skipped) > 0 {
		lines = append(lines, fmt.Sprintf("%s never synced (e.g. %s: %s)", plural(len(f.Skipped), "path"), f.Skipped[0].Path, f.Skipped[0].Reason))
	}
	if f.LocalChangesIgnored > 0 {
		lines = append(lines, fmt.Sprintf("%s made here not uploaded: this folder only follows", plural(f.LocalChangesIgnored, "local change")))
	}
	return lines
}

func serversLine(s api.Servers) string {
	if s.Known == 0 {
		return "no storage servers seen yet"
	}
	return fmt.Sprintf("%d of %d storage servers reachable (%d needed)", s.Reachable, s.Known, s.Happy)
}

func folderCard(f api.FolderStatus, now time.Time) fyne.CanvasObject {
	lines := FolderLines(f, now)
	objs := []fyne.CanvasObject{widget.NewLabelWithStyle(lines[0], fyne.TextAlignLeading, fyne.TextStyle{Bold: true})}
	for _, l := range lines[1:] {
		w := widget.NewLabel(l)
		w.Wrapping = fyne.TextWrapWord
		objs = append(objs, w)
	}
	objs = append(objs, widget.NewSeparator())
	return container.NewVBox(objs...)
}
