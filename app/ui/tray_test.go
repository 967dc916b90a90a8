package ui

import (
	"context"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/lafssync/lafssync/app/ui/uitest"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/api/apitest"
)

// The app builds its main window only once the tray is on the bus (the
// icon does not wait for it): the window then shows what the tray showed
// before it came, and follows the folders from then on.
func TestTrayWindowComesLater(t *testing.T) {
	a := test.NewApp()
	t.Cleanup(a.Quit)
	f := apitest.New()
	f.Set("Docs", folder("Docs", api.Offline))
	s := &sink{}
	tr := NewTray(s, nil, &fakeOpener{}, nil)
	tr.Now = func() time.Time { return now }
	tr.Go = func(f func()) { f() }
	tr.Refresh()
	if got := s.menu().Items[0].Label; got != SyncStarting {
		t.Fatalf("status line before the sync runs: %q", got)
	}
	item(t, s.menu(), ShowWindow).Action() // no window yet: nothing to show, and no crash
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tr.Attach(ctx, f)
	waitFor(t, func() bool { return s.menu().Items[0].Label != SyncStarting })
	line := tr.Summary().Line

	w := NewMainWindow(a, Info{NodeDir: "d"})
	uitest.Has(t, w, SyncStarting) // as built: it knows nothing yet
	tr.SetWindow(w)
	uitest.Has(t, w, line, "Docs — offline")
	if slices.Contains(uitest.Texts(w.Content()), SyncStarting) {
		t.Errorf("the window still says %q after it was given to the tray: %q", SyncStarting, uitest.Texts(w.Content()))
	}

	waitFor(t, func() bool { return f.Subscribers() == 1 })
	st := folder("Docs", api.UpToDate)
	f.Emit(api.Event{Type: "status", Folder: "Docs", Status: &st})
	waitFor(t, func() bool { return slices.Contains(uitest.Texts(w.Content()), "Docs — up to date") })
}
