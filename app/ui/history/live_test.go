package history_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/lafssync/lafssync/app/ui/history"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer/api"
)

// liveBackend is a folder sync whose versions and events the test sets;
// ev is unbuffered, so a send returns once the window took the event.
type liveBackend struct {
	root string
	ev   chan api.Event
	mu   sync.Mutex
	vs   []api.Version
}

func (b *liveBackend) List() []api.FolderStatus {
	return []api.FolderStatus{{Name: "Docs", Path: b.root, Mode: "sync", State: api.UpToDate}}
}

func (b *liveBackend) History(ctx context.Context, folder, p string) ([]api.Version, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]api.Version(nil), b.vs...), nil
}

func (b *liveBackend) Deleted(ctx context.Context, folder, dir string) (api.DeletedList, error) {
	return api.DeletedList{}, nil
}

func (b *liveBackend) Restore(ctx context.Context, folder string, r api.RestoreRequest) (string, error) {
	return "", context.Canceled
}

func (b *liveBackend) Subscribe() (<-chan api.Event, func()) { return b.ev, func() {} }

// newVersion puts a new current version in front, as an upload does.
func (b *liveBackend) newVersion(size int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.vs {
		b.vs[i].N++
	}
	b.vs = append([]api.Version{{N: 0, Size: size, By: "deviceA"}}, b.vs...)
}

// synced sends the events of one sync of Docs: syncing, then up to date.
func (b *liveBackend) synced() {
	for _, s := range []string{api.Syncing, api.UpToDate} {
		st := api.FolderStatus{Name: "Docs", Path: b.root, Mode: "sync", State: s}
		b.ev <- api.Event{Type: "status", Folder: "Docs", Status: &st}
	}
}

// TestOpenWindowFollowsTheFolders: with the window open, a folder added
// appears in the picker, a new version of the file shown appears once the
// folder has synced (not while a version is chosen), and the folder going
// away is said.
func TestOpenWindowFollowsTheFolders(t *testing.T) {
	b := &liveBackend{root: t.TempDir(), ev: make(chan api.Event), vs: []api.Version{{N: 0, Size: 5, By: "deviceA"}}}
	a := test.NewApp()
	defer a.Quit()
	w := history.New(a, b, "Docs")
	defer w.Close()

	pics := api.FolderStatus{Name: "Pics", Path: "/home/u/Pics", Mode: "sync", State: api.Starting}
	b.ev <- api.Event{Type: "status", Folder: "Pics", Status: &pics}
	testkit.WaitFor(t, "Pics in the picker", 5*time.Second, func() bool {
		return slices.Equal(w.Folder.Options, []string{"Docs", "Pics"})
	})
	if w.Folder.Selected != "Docs" {
		t.Errorf("the folder shown changed to %q", w.Folder.Selected)
	}

	w.Open("a.txt")
	testkit.WaitFor(t, "a.txt's versions", 5*time.Second, func() bool { f, l := w.Shown(); return f == "a.txt" && len(l) == 1 })
	loads, status := w.Loads(), w.StatusText()
	b.newVersion(12)
	b.synced()
	testkit.WaitFor(t, "the new version listed without opening a.txt again", 5*time.Second, func() bool { _, l := w.Shown(); return len(l) == 2 })
	if _, l := w.Shown(); !strings.HasPrefix(l[0], "Current version — 12 B") || !strings.HasPrefix(l[1], "Version 1 — 5 B") {
		t.Errorf("versions after the sync: %q", l)
	}
	if w.Loads() != loads || w.StatusText() != status {
		t.Errorf("the live update was a new load (%d, was %d) or changed the status line to %q", w.Loads(), loads, w.StatusText())
	}

	// A version chosen to restore keeps its list: no update under it.
	w.SelectVersion(1)
	b.newVersion(20)
	b.synced()
	st := api.FolderStatus{Name: "Pics", Path: "/home/u/Pics", Mode: "sync", State: api.UpToDate}
	// ev is unbuffered and the window handles its events in order: once
	// it took this one, it had handled the sync's.
	b.ev <- api.Event{Type: "status", Folder: "Pics", Status: &st}
	if _, l := w.Shown(); len(l) != 2 {
		t.Errorf("the list changed under a chosen version: %q", l)
	}

	b.ev <- api.Event{Type: "removed", Folder: "Docs"}
	testkit.WaitFor(t, "Docs' removal said", 5*time.Second, func() bool {
		return w.StatusText() == "Docs is no longer synced on this computer: choose another folder."
	})
	testkit.WaitFor(t, "Docs out of the picker", 5*time.Second, func() bool { return slices.Equal(w.Folder.Options, []string{"Pics"}) })
	if !w.Restore.Disabled() {
		t.Error("Restore is offered for a folder no longer synced")
	}
}
