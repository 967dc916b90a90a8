package share_test

import (
	"slices"
	"testing"
	"time"

	"github.com/lafssync/lafssync/app/ui/share"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer/api"
)

// live is the fake with the folder sync's events, which the test sends.
type live struct {
	*fake
	ev chan api.Event
}

func (l *live) Subscribe() (<-chan api.Event, func()) { return l.ev, func() {} }

var _ share.Subscriber = (*live)(nil)

// TestOpenWindowFollowsTheFolderList: a folder added while the window is
// open appears in its picker without reopening it, the cap shown stays
// as it is, and when the folder shown goes away the window says so and
// shows another.
func TestOpenWindowFollowsTheFolderList(t *testing.T) {
	l := &live{fake: newFake("Docs"), ev: make(chan api.Event, 4)}
	_, w := open(t, l, nil, "")
	waitText(t, "cap", w.Cap, docsRead)
	if w.Folder.Visible() {
		t.Fatal("a picker for one folder")
	}
	// A progress tick of a known folder changes nothing the window lists.
	st := api.FolderStatus{Name: "Docs", Path: "/home/u/Docs", Mode: "sync", State: api.Syncing, Detail: "syncing: 1 of 3 changes sent to the grid"}
	l.ev <- api.Event{Type: "status", Folder: "Docs", Status: &st}

	photos := api.FolderStatus{Name: "Photos", Path: "/home/u/Photos", Mode: "sync", State: api.Starting}
	l.mu.Lock()
	l.folders = append(l.folders, photos)
	l.mu.Unlock()
	l.ev <- api.Event{Type: "status", Folder: "Photos", Status: &photos}
	if !testkit.Poll(5*time.Second, func() bool { return slices.Equal(w.Folder.Options, []string{"Docs", "Photos"}) && w.Folder.Visible() }) {
		t.Fatalf("picker %q (shown %v), want Docs and Photos", w.Folder.Options, w.Folder.Visible())
	}
	if w.Cap.Text != docsRead || w.Folder.Selected != "Docs" {
		t.Errorf("the folder shown changed: %q %q", w.Folder.Selected, w.Cap.Text)
	}
	if n := countOf(l.Calls(), "share Docs read"); n != 1 {
		t.Errorf("Docs' cap asked %d times; the list's change should not ask again", n)
	}

	l.mu.Lock()
	l.folders = l.folders[1:]
	l.mu.Unlock()
	l.ev <- api.Event{Type: "removed", Folder: "Docs"}
	waitText(t, "cap after Docs went away", w.Cap, photosRead)
	waitText(t, "status", w.Status, "“Docs” is no longer synced on this computer; showing “Photos”.")
	if w.Folder.Visible() || !slices.Equal(w.Folder.Options, []string{"Photos"}) {
		t.Errorf("picker %q (shown %v), want Photos alone, hidden", w.Folder.Options, w.Folder.Visible())
	}
}

func countOf(calls []string, c string) int {
	n := 0
	for _, x := range calls {
		if x == c {
			n++
		}
	}
	return n
}
