package ui

import (
	"fmt"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/syncer/api"
)

// maxShown bounds the errors and conflicts a folder's card lists.
const maxShown = 5

// NoFoldersHint is what the window lists while no folder is synced.
const NoFoldersHint = "Add a folder from a terminal: lafs sync add DIR " +
	"(lafs sync status shows how it is doing). It appears here at once."

// card is one folder's widgets in the window; its labels are changed in
// place as the folder's status changes.
type card struct {
	box    *fyne.Container // the labels, then a separator
	labels []*widget.Label
}

// showFolders puts the folders in the window; on the UI thread. It
// changes the labels already shown in place: a folder's card is made once,
// when the folder first appears, and a label only when its line is new
// (a progress tick changes one label's text, it builds nothing).
func (m *Main) showFolders(sum Summary, fs []api.FolderStatus, now time.Time) {
	setText(m.summary, sum.Line)
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		names = append(names, f.Name)
		c := m.cards[f.Name]
		if c == nil {
			c = &card{box: container.NewVBox(widget.NewSeparator())}
			m.cards[f.Name] = c
		}
		c.show(FolderLines(f, now))
	}
	for name := range m.cards {
		if !slices.Contains(names, name) {
			delete(m.cards, name)
		}
	}
	if slices.Equal(names, m.order) && (len(names) > 0 || len(m.list.Objects) > 0) {
		return // the same folders in the same order: their cards changed in place
	}
	m.order = names
	objs := make([]fyne.CanvasObject, 0, len(names)+1)
	for _, n := range names {
		objs = append(objs, m.cards[n].box)
	}
	if len(names) == 0 {
		hint := widget.NewLabel(NoFoldersHint)
		hint.Wrapping = fyne.TextWrapWord
		objs = append(objs, hint, widget.NewSeparator()) // as a card ends: the grid's lines follow

	}
	m.list.Objects = objs
	m.list.Refresh()
}

// show makes the card say lines: the labels there get the new texts (a
// label whose text is the same is not touched), and labels are added or
// taken away only when the number of lines changed.
func (c *card) show(lines []string) {
	changed := len(lines) != len(c.labels)
	for i, l := range lines {
		if i < len(c.labels) {
			setText(c.labels[i], l)
			continue
		}
		var w *widget.Label
		if i == 0 {
			w = widget.NewLabelWithStyle(l, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		} else {
			w = widget.NewLabel(l)
			w.Wrapping = fyne.TextWrapWord
		}
		c.labels = append(c.labels, w)
	}
	if !changed {
		return
	}
	c.labels = c.labels[:len(lines)]
	objs := make([]fyne.CanvasObject, 0, len(lines)+1)
	for _, l := range c.labels {
		objs = append(objs, l)
	}
	c.box.Objects = append(objs, widget.NewSeparator())
	c.box.Refresh()
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

// setText changes l's text only when it differs (SetText refreshes).
func setText(l *widget.Label, s string) {
	if l.Text != s {
		l.SetText(s)
	}
}

// windowKey is what the window shows for these folders, to skip updating
// it when nothing it shows changed.
func windowKey(sum Summary, fs []api.FolderStatus, now time.Time) string {
	k := sum.Line
	for _, f := range fs {
		for _, l := range FolderLines(f, now) {
			k += "\x00" + l
		}
		k += "\x01"
	}
	return k
}
