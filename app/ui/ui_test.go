package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func labels(o fyne.CanvasObject) []string {
	var out []string
	switch x := o.(type) {
	case *widget.Label:
		out = append(out, x.Text)
	case *widget.Form:
		for _, it := range x.Items {
			out = append(out, it.Text)
			out = append(out, labels(it.Widget)...)
		}
	case *fyne.Container:
		for _, c := range x.Objects {
			out = append(out, labels(c)...)
		}
	}
	return out
}

func TestMainWindowSaysWhatItIs(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	w := NewMainWindow(a, Info{NodeDir: "/tmp/node-x"})
	got := map[string]bool{}
	for _, l := range labels(w.Content()) {
		got[l] = true
	}
	for _, want := range []string{Title, Purpose, State, GridStarting, "Node directory", "/tmp/node-x", "Version"} {
		if !got[want] {
			t.Errorf("window lacks %q; has %q", want, labels(w.Content()))
		}
	}
	if w.Title() != "LAFS Sync" {
		t.Errorf("title %q", w.Title())
	}
	w.SetGridStatus("Local grid: 10 storage servers")
	found := false
	for _, l := range labels(w.Content()) {
		found = found || l == "Local grid: 10 storage servers"
	}
	if !found {
		t.Error("grid status did not change")
	}
}

func TestTrayMenuShowsWindow(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	w := &countingWindow{Window: NewMainWindow(a, Info{NodeDir: "d"}).Window}
	m := TrayMenu(w)
	if len(m.Items) != 1 || m.Items[0].Label != "Show window" {
		t.Fatalf("menu %+v", m.Items)
	}
	m.Items[0].Action()
	if w.shown != 1 {
		t.Errorf("Show window called Show %d times", w.shown)
	}
}

type countingWindow struct {
	fyne.Window
	shown int
}

func (c *countingWindow) Show() { c.shown++; c.Window.Show() }
