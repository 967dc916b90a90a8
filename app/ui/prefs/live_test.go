package prefs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/lafssync/lafssync/app/ui/uitest"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/syncer/api"
)

// live opens the window with its live updates every 20 ms.
func live(t *testing.T, d Deps) *Window {
	t.Helper()
	d.Every = 20 * time.Millisecond
	return open(t, d)
}

// locked runs f holding the window's widget lock: no live update
// changes the form meanwhile (the test driver runs them on their own
// goroutine).
func locked(w *Window, f func()) {
	w.widgets.Lock()
	defer w.widgets.Unlock()
	f()
}

// waitFor waits (at most 5 s) until ok, read holding the widget lock.
func waitFor(t *testing.T, w *Window, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var done bool
		locked(w, func() { done = ok() })
		if done {
			return
		}
		if time.Now().After(deadline) {
			var got []string
			locked(w, func() { got = uitest.Texts(w.Content()) })
			t.Fatalf("the open window never showed %s; it shows %q", what, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func edit(t *testing.T, dir string, set ...config.Setting) {
	t.Helper()
	if _, err := config.Edit(dir, set); err != nil {
		t.Fatal(err)
	}
}

// TestOpenWindowFollowsTahoeCfg: tahoe.cfg changed elsewhere (lafs,
// reachability --apply) shows in the open window; a field the user has
// edited keeps the edit, the window says so, and Save writes the edit
// alongside what changed elsewhere.
func TestOpenWindowFollowsTahoeCfg(t *testing.T) {
	dir := nodeDirForTest(t)
	w := live(t, Deps{Config: NodeDir(dir)})
	locked(w, func() {
		if w.k.Text != "3" || w.storage.Selected != StorageOnLabel {
			t.Fatalf("shown k %q storage %q, want create-node's 3 and on", w.k.Text, w.storage.Selected)
		}
	})
	edit(t, dir, config.Setting{Section: "client", Key: "shares.needed", Value: "2"},
		config.Setting{Section: "storage", Key: "enabled", Value: "false"},
		config.Setting{Section: "client", Key: "helper", Value: config.HelperOff})
	waitFor(t, w, "k 2, storage off and helper off", func() bool {
		return w.k.Text == "2" && w.storage.Selected == StorageOffLabel && w.helper.Selected == HelperOff
	})
	locked(w, func() {
		if w.status.Text != ChangedElsewhere {
			t.Errorf("status %q, want %q", w.status.Text, ChangedElsewhere)
		}
		if w.happy.Text != "7" || w.n.Text != "10" || w.reserved.Text != "1G" {
			t.Errorf("fields not changed elsewhere changed: happy %q n %q reserved %q", w.happy.Text, w.n.Text, w.reserved.Text)
		}
		retype(w.n, "9") // the user is editing n and reserved space
		retype(w.reserved, "5G")
	})
	edit(t, dir, config.Setting{Section: "client", Key: "shares.happy", Value: "5"},
		config.Setting{Section: "client", Key: "shares.total", Value: "8"},
		config.Setting{Section: "storage", Key: "reserved_space", Value: "2G"})
	waitFor(t, w, "happy 5", func() bool { return w.happy.Text == "5" })
	locked(w, func() {
		if w.n.Text != "9" || w.reserved.Text != "5G" {
			t.Errorf("the user's edits were replaced: n %q reserved %q, want 9 and 5G", w.n.Text, w.reserved.Text)
		}
		for _, want := range []string{ChangedElsewhere, "total shares (n) (tahoe.cfg now says 8)", "reserved space (tahoe.cfg now says 2G)", "Save writes yours"} {
			if !strings.Contains(w.status.Text, want) {
				t.Errorf("status %q does not say %q", w.status.Text, want)
			}
		}
		test.Tap(w.save)
	})
	c, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := config.LoadHelper(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.SharesNeeded != 2 || c.SharesHappy != 5 || c.SharesTotal != 9 || c.StorageEnabled || c.ReservedSpace != 5e9 || h.Use != config.HelperOff {
		t.Errorf("saved k %d happy %d n %d storage %v reserved %d helper %q; want 2/5/9, off, 5G, off (the edits and what changed elsewhere)",
			c.SharesNeeded, c.SharesHappy, c.SharesTotal, c.StorageEnabled, c.ReservedSpace, h.Use)
	}
	// The window's own save is not a change made elsewhere.
	time.Sleep(100 * time.Millisecond)
	locked(w, func() {
		if strings.HasPrefix(w.status.Text, ChangedElsewhere) {
			t.Errorf("after its own save the window says %q", w.status.Text)
		}
	})
}

// TestOpenWindowRecoversFromABadTahoeCfg: a window opened while tahoe.cfg
// could not be read shows the settings once it can.
func TestOpenWindowRecoversFromABadTahoeCfg(t *testing.T) {
	dir := nodeDirForTest(t)
	good := readCfg(t, dir)
	writeCfg(t, dir, "[client]\nshares.needed = many\n")
	w := live(t, Deps{Config: NodeDir(dir)})
	locked(w, func() {
		if !strings.HasPrefix(w.status.Text, "Could not read the node's settings: ") || !w.save.Disabled() {
			t.Fatalf("status %q, Save disabled %v", w.status.Text, w.save.Disabled())
		}
	})
	writeCfg(t, dir, good)
	waitFor(t, w, "the settings", func() bool { return w.k.Text == "3" && !w.save.Disabled() && w.status.Text == "" })
}

// TestOpenWindowFollowsFoldersAndStartAtLogin: a folder added or removed
// elsewhere, and start at login changed from the tray, show in the open
// window.
func TestOpenWindowFollowsFoldersAndStartAtLogin(t *testing.T) {
	f := &fakeFolders{list: []api.FolderStatus{{Name: "docs", Path: "/home/u/docs", Mode: "sync"}}}
	login := &fakeLogin{on: false}
	w := live(t, Deps{Folders: f, Autostart: login})
	f.mu.Lock()
	f.list = append(f.list, api.FolderStatus{Name: "photos", Path: "/home/u/photos", Mode: "follow"})
	f.mu.Unlock()
	waitFor(t, w, "photos", func() bool { return slices.Contains(uitest.Texts(w.Content()), "photos (read-only mirror)") })
	f.mu.Lock()
	f.list = f.list[1:]
	f.mu.Unlock()
	waitFor(t, w, "docs gone", func() bool { _, ok := w.remove["docs"]; return !ok })
	locked(w, func() {
		if _, ok := w.remove["photos"]; !ok {
			t.Error("photos' Remove button is gone")
		}
	})
	// While the node restarts the list stays.
	f.mu.Lock()
	f.restarting, f.list = true, nil
	f.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	locked(w, func() {
		if _, ok := w.remove["photos"]; !ok {
			t.Error("photos went from the list while the node restarted")
		}
	})
	login.mu.Lock()
	login.on = true
	login.mu.Unlock()
	waitFor(t, w, "start at login checked", func() bool { return w.login.Checked })
	login.mu.Lock()
	calls := slices.Clone(login.setCall)
	login.mu.Unlock()
	if len(calls) != 0 {
		t.Errorf("showing the change changed the setting: %v", calls)
	}
}

func writeCfg(t *testing.T, dir, s string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, config.File), []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
