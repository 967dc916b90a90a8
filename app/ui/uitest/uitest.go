// Package uitest reads what a window shows, for the tests of the tray
// app's windows (fyne's test driver, headless). Tests only.
package uitest

import (
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// Texts are the texts under o, in order: labels, visible buttons, checks,
// and each form item's label followed by the texts of its widget.
func Texts(o fyne.CanvasObject) []string {
	var out []string
	switch x := o.(type) {
	case *widget.Label:
		out = append(out, x.Text)
	case *widget.Button:
		if x.Visible() {
			out = append(out, x.Text)
		}
	case *widget.Check:
		out = append(out, x.Text)
	case *widget.Form:
		for _, it := range x.Items {
			out = append(out, it.Text)
			out = append(out, Texts(it.Widget)...)
		}
	case *container.Scroll:
		out = append(out, Texts(x.Content)...)
	case *fyne.Container:
		for _, c := range x.Objects {
			out = append(out, Texts(c)...)
		}
	}
	return out
}

// Has fails t for each of want that is not one of w's texts (whole).
func Has(t testing.TB, w fyne.Window, want ...string) {
	t.Helper()
	HasIn(t, w.Content(), want...)
}

// HasIn is Has for the texts under o (a part of a window).
func HasIn(t testing.TB, o fyne.CanvasObject, want ...string) {
	t.Helper()
	got := Texts(o)
	for _, s := range want {
		if !slices.Contains(got, s) {
			t.Errorf("window lacks %q; has %q", s, got)
		}
	}
}
