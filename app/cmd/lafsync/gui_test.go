package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/app/ui/conflicts"
	"github.com/lafssync/lafssync/app/ui/history"
	"github.com/lafssync/lafssync/app/ui/prefs"
	"github.com/lafssync/lafssync/app/ui/reach"
	"github.com/lafssync/lafssync/app/ui/share"
	"github.com/lafssync/lafssync/app/ui/wizard"
	"github.com/lafssync/lafssync/syncer/api"
)

// TestTrayAppOnARealDisplay starts the real tray app on the display that
// scripts/with-desktop.sh provides (make test), finds its window, takes a
// screenshot and checks it shows something, reads the tray menu over D-Bus
// the way a desktop's tray does, and clicks Quit.
func TestTrayAppOnARealDisplay(t *testing.T) {
	if os.Getenv("LAFSSYNC_GUI_TEST") == "" {
		t.Skip("needs a display and a session bus: run through `make test` (scripts/with-desktop.sh)")
	}
	if os.Getenv("DISPLAY") == "" || os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("LAFSSYNC_GUI_TEST is set but DISPLAY or DBUS_SESSION_BUS_ADDRESS is not")
	}
	dir, bin := buildApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	xdg := filepath.Join(dir, "config")
	// LAFSSYNC_KEYRING=off: the test reads the node's private/api_auth_token,
	// which an unlocked keyring would hold instead.
	app := launchApp(t, bin, []string{"LAFSSYNC_HOME=" + filepath.Join(dir, "node"), "XDG_CONFIG_HOME=" + xdg, "LAFSSYNC_KEYRING=off"})

	// The window appears.
	waitFor(t, 30*time.Second, "the LAFS Sync window", func() bool {
		out, err := exec.Command("xdotool", "search", "--name", "^LAFS Sync$").Output()
		return err == nil && len(bytes.TrimSpace(out)) > 0
	})
	// A first start opens the setup wizard beside the window (the node
	// already runs on the local grid meanwhile): a screenshot of it, then
	// it is put away (unmapped) so it does not cover the main window.
	var wizardID string
	waitFor(t, 60*time.Second, "the first-run wizard's window", func() bool {
		out, err := exec.Command("xdotool", "search", "--name", "^"+wizard.Title+"$").Output()
		wizardID = strings.TrimSpace(string(out))
		return err == nil && wizardID != ""
	})
	wshot := filepath.Join(dir, "wizard.png")
	if keep := os.Getenv("LAFSSYNC_SCREENSHOT"); keep != "" {
		wshot = filepath.Join(filepath.Dir(keep), "wizard.png")
	}
	shootPainted(t, wizardID, wshot)
	if out, err := exec.Command("xdotool", "windowunmap", wizardID).CombinedOutput(); err != nil {
		t.Fatalf("put the wizard away: %v %s", err, out)
	}
	// The embedded default grid comes up with the app: the node hears of
	// ten storage servers from the local introducer (and caches them).
	waitFor(t, 60*time.Second, "ten storage announcements from the local introducer", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "node", "private", "introducer_local_cache.yaml"))
		return err == nil && strings.Count(string(b), "service-name: storage") == 10
	})
	// The folder sync runs inside the app: its web API answers /sync/.
	var client *api.Client
	waitFor(t, 30*time.Second, "the folder sync's API in the app's node", func() bool {
		u, err1 := os.ReadFile(filepath.Join(dir, "node", "node.url"))
		tok, err2 := os.ReadFile(filepath.Join(dir, "node", "private", "api_auth_token"))
		if err1 != nil || err2 != nil {
			return false
		}
		c := api.NewClient(strings.TrimRight(strings.TrimSpace(string(u)), "/"), strings.TrimSpace(string(tok)), nil)
		if _, err := c.List(ctx); err != nil {
			return false
		}
		client = c
		return true
	})
	// A folder synced by the app: the user's file reaches the grid and
	// the folder says up to date (honestly: the grid check succeeded).
	docs := filepath.Join(dir, "Documents")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docs, "notes.txt"), []byte("milk, eggs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Add(ctx, api.AddRequest{Path: docs, Name: "Documents"}); err != nil {
		t.Fatalf("add a folder: %v", err)
	}
	waitFor(t, 60*time.Second, "the folder to be up to date", func() bool {
		st, err := client.Status(ctx, "Documents")
		return err == nil && st.State == api.UpToDate
	})
	time.Sleep(time.Second) // let it paint

	// Screenshot: a real picture with the window's text in it.
	shot := filepath.Join(dir, "window.png")
	if keep := os.Getenv("LAFSSYNC_SCREENSHOT"); keep != "" {
		shot = keep
	}
	xwd := exec.Command("sh", "-c", `xwd -root -silent | convert xwd:- png:"$0"`, shot)
	if out, err := xwd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v %s", err, out)
	}
	checkScreenshot(t, shot)

	// The tray menu, as a desktop tray reads it over D-Bus.
	dest := app.dest
	var layout string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last tray menu read: %s", layout)
		}
	})
	waitFor(t, 20*time.Second, "the tray menu on D-Bus", func() bool {
		out, err := gdbus(dest, "GetLayout", "0", "-1", "@as []")
		layout = out
		if err != nil {
			layout = err.Error()
		}
		return err == nil && strings.Contains(layout, "Quit")
	})
	waitFor(t, 20*time.Second, "the folder and Pause in the tray menu", func() bool {
		out, err := gdbus(dest, "GetLayout", "0", "-1", "@as []")
		layout = out
		return err == nil && strings.Contains(layout, "Documents") && strings.Contains(layout, "'"+ui.Pause30Min+"'")
	})
	for _, want := range []string{ui.SyncNow, ui.PauseMenu, ui.ShowWindow, "Quit"} {
		if !strings.Contains(layout, "'"+want+"'") {
			t.Errorf("tray menu lacks %q: %s", want, layout)
		}
	}
	// Pause → For 30 minutes, clicked the way a desktop's tray does: the
	// folder is paused for about half an hour.
	click(t, dest, layout, ui.Pause30Min)
	waitFor(t, 10*time.Second, "the folder to be paused after the tray click", func() bool {
		st, err := client.Status(ctx, "Documents")
		return err == nil && st.State == api.Paused && st.PausedUntil != nil
	})
	if st, _ := client.Status(ctx, "Documents"); st.PausedUntil != nil {
		if left := time.Until(*st.PausedUntil); left < 25*time.Minute || left > 31*time.Minute {
			t.Errorf("paused until %v: %v from now, want about 30 minutes", st.PausedUntil, left)
		}
	}
	// The menu now offers Resume; clicking it resumes.
	waitFor(t, 10*time.Second, "Resume in the tray menu", func() bool {
		out, err := gdbus(dest, "GetLayout", "0", "-1", "@as []")
		layout = out
		return err == nil && strings.Contains(layout, "'"+ui.ResumeAll+"'")
	})
	click(t, dest, layout, ui.ResumeAll)
	waitFor(t, 10*time.Second, "the folder to run again after Resume", func() bool {
		st, err := client.Status(ctx, "Documents")
		return err == nil && st.State != api.Paused
	})
	// Start at login, from the tray: the XDG autostart entry appears and
	// starts this very binary.
	waitFor(t, 10*time.Second, "Pause back in the tray menu after Resume", func() bool {
		out, err := gdbus(dest, "GetLayout", "0", "-1", "@as []")
		layout = out
		return err == nil && strings.Contains(layout, "'"+ui.PauseMenu+"'")
	})
	click(t, dest, layout, ui.StartAtLogin)
	entry := filepath.Join(xdg, "autostart", "lafssync.desktop")
	waitFor(t, 10*time.Second, "the autostart entry after clicking Start at login", func() bool {
		b, err := os.ReadFile(entry)
		return err == nil && strings.Contains(string(b), "\nExec="+bin+" --background\n")
	})
	waitFor(t, 10*time.Second, "Start at login to be checked in the tray menu", func() bool {
		out, err := gdbus(dest, "GetLayout", "0", "-1", "@as []")
		layout = out
		return err == nil && strings.Contains(itemProps(out, ui.StartAtLogin), "'toggle-state': <1>")
	})
	// Each window the menu opens: clicked over D-Bus, found on the
	// display, photographed, put away.
	for _, win := range []struct{ item, title, file string }{
		{ui.ShareLabel, share.Title, "share.png"},
		{ui.HistoryLabel, history.Title, "history.png"},
		{ui.ConflictLabel, conflicts.Title, "conflicts.png"},
		{"Reachability: public…", reach.Title, "reachability.png"},
		{ui.PrefsLabel, prefs.Title, "preferences.png"},
		{ui.KitLabel, kitTitle, "recovery-kit.png"},
	} {
		out, err := gdbus(dest, "GetLayout", "0", "-1", "@as []")
		if err != nil {
			t.Fatal(err)
		}
		click(t, dest, out, win.item)
		var id string
		waitFor(t, 20*time.Second, "the "+win.title+" window", func() bool {
			out, err := exec.Command("xdotool", "search", "--name", "^"+regexp.QuoteMeta(win.title)+"$").Output()
			id = strings.TrimSpace(string(out))
			return err == nil && id != ""
		})
		path := filepath.Join(filepath.Dir(shot), win.file)
		shootPainted(t, id, path)
		if out, err := exec.Command("xdotool", "windowunmap", id).CombinedOutput(); err != nil {
			t.Fatalf("put the %s window away: %v %s", win.title, err, out)
		}
	}
	// A second start on the same node directory hands over to this one
	// and exits at once.
	second := exec.CommandContext(ctx, bin)
	second.Env = app.cmd.Env
	secondOut, err := second.CombinedOutput()
	if err != nil || !strings.Contains(string(secondOut), "LAFS Sync is already running") {
		t.Errorf("second start: %v, %s", err, secondOut)
	}
	waitFor(t, 10*time.Second, "the first instance to hear of the second", func() bool {
		return strings.Contains(app.logs.String(), "a second start of the app asked for the window")
	})
	out, err := gdbus(dest, "GetLayout", "0", "-1", "@as []")
	if err != nil {
		t.Fatal(err)
	}
	clickQuit(t, dest, out)
	app.waitExit(t)
}

// A start at login (--background) puts the icon in the tray and opens no
// window; the tray's "Show window" opens it. A second background start
// leaves the running app alone.
func TestBackgroundStartOpensNoWindow(t *testing.T) {
	if os.Getenv("LAFSSYNC_GUI_TEST") == "" {
		t.Skip("needs a display and a session bus: run through `make test` (scripts/with-desktop.sh)")
	}
	dir, bin := buildApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app := launchApp(t, bin, []string{"LAFSSYNC_HOME=" + filepath.Join(dir, "node"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"LAFSSYNC_KEYRING=off", "LAFSSYNC_NO_WIZARD=1"}, "--background")
	dest := app.dest
	var layout string
	waitFor(t, 30*time.Second, "Show window in the tray menu", func() bool {
		out, err := gdbus(dest, "GetLayout", "0", "-1", "@as []")
		layout = out
		return err == nil && strings.Contains(out, "'"+ui.ShowWindow+"'")
	})
	// The node is up, so the start is over: still no window.
	waitFor(t, 60*time.Second, "the node's web API address", func() bool {
		_, err := os.Stat(filepath.Join(dir, "node", "node.url"))
		return err == nil
	})
	time.Sleep(time.Second)
	mainWindow := func() string {
		out, _ := exec.Command("xdotool", "search", "--name", "^LAFS Sync$").Output()
		return strings.TrimSpace(string(out))
	}
	if id := mainWindow(); id != "" {
		t.Fatalf("a background start opened the window (X window %s)", id)
	}
	second := exec.CommandContext(ctx, bin, "--background")
	second.Env = app.cmd.Env
	if out, err := second.CombinedOutput(); err != nil || !strings.Contains(string(out), "already running") {
		t.Errorf("second background start: %v, %s", err, out)
	}
	// The menu's item ids change as it fills in (the node came up): read
	// it again before the click.
	layout, err := gdbus(dest, "GetLayout", "0", "-1", "@as []")
	if err != nil {
		t.Fatal(err)
	}
	click(t, dest, layout, ui.ShowWindow)
	waitFor(t, 20*time.Second, "the window after Show window", func() bool { return mainWindow() != "" })
	if strings.Contains(app.logs.String(), "a second start of the app asked for the window") {
		t.Error("the second background start asked the running app for its window")
	}
	if layout, err = gdbus(dest, "GetLayout", "0", "-1", "@as []"); err != nil {
		t.Fatal(err)
	}
	clickQuit(t, dest, layout)
	app.waitExit(t)
}

// buildApp builds the tray app into a new test directory.
func buildApp(t *testing.T) (dir, bin string) {
	t.Helper()
	dir = t.TempDir()
	bin = filepath.Join(dir, "lafsync")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return dir, bin
}

// waitExit waits for the app to exit cleanly after Quit was clicked.
func (a *runningApp) waitExit(t *testing.T) {
	t.Helper()
	select {
	case err := <-a.exited:
		a.exited <- err
		if err != nil {
			t.Errorf("app exited with %v after Quit", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("app still running 15 s after Quit was clicked in the tray menu")
	}
}

// gdbus calls a method of the tray's dbusmenu object (LC_ALL: gdbus
// refuses to print non-ASCII labels in the C locale).
func gdbus(dest, method string, args ...string) (string, error) {
	cmd := exec.Command("gdbus", append([]string{"call", "--session", "--dest", dest, "--object-path", "/StatusNotifierMenu",
		"--method", "com.canonical.dbusmenu." + method, "--"}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("gdbus %s: %v: %s", method, err, out)
	}
	return string(out), nil
}

// itemProps is the properties of the menu item labelled label in layout
// (in whatever order the menu lists them), or "".
func itemProps(layout, label string) string {
	for _, m := range regexp.MustCompile(`\(\d+, \{([^}]*)\}`).FindAllStringSubmatch(layout, -1) {
		if strings.Contains(m[1], "'label': <'"+label+"'>") {
			return m[1]
		}
	}
	return ""
}

// clickQuit clicks Quit; the app may exit before it answers the click,
// which gdbus reports as the recipient leaving the bus.
func clickQuit(t *testing.T, dest, layout string) {
	t.Helper()
	m := regexp.MustCompile(`\((\d+), \{[^}]*'label': <'` + ui.QuitLabel + `'>`).FindStringSubmatch(layout)
	if m == nil {
		t.Fatalf("no Quit in %s", layout)
	}
	if _, err := gdbus(dest, "Event", m[1], "clicked", "<int32 0>", "0"); err != nil &&
		!strings.Contains(err.Error(), "disconnected from message bus without replying") {
		t.Fatalf("click Quit: %v", err)
	}
}

// click sends a click on the menu item labelled label in layout.
func click(t *testing.T, dest, layout, label string) {
	t.Helper()
	m := regexp.MustCompile(`\((\d+), \{[^}]*'label': <'` + regexp.QuoteMeta(label) + `'>`).FindStringSubmatch(layout)
	if m == nil {
		t.Fatalf("no menu item %q in %s", label, layout)
	}
	if _, err := gdbus(dest, "Event", m[1], "clicked", "<int32 0>", "0"); err != nil {
		t.Fatalf("click %q: %v", label, err)
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// shootWindow saves a screenshot of the X window id (the first of
// several ids, one per line) as a PNG.
func shootWindow(t *testing.T, id, path string) {
	t.Helper()
	id, _, _ = strings.Cut(id, "\n")
	cmd := exec.Command("sh", "-c", `xwd -id "$0" -silent | convert xwd:- png:"$1"`, id, path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot of window %s: %v %s", id, err, out)
	}
}

// shootPainted photographs window id into path once it shows more than
// its background (text and widgets in several colours over at least 1 %
// of it): a loaded machine may take seconds to paint a new window.
func shootPainted(t *testing.T, id, path string) {
	t.Helper()
	time.Sleep(time.Second) // a first paint
	var colours, top, total int
	for deadline := time.Now().Add(20 * time.Second); ; {
		shootWindow(t, id, path)
		colours, top, total = shotColours(t, path)
		if colours >= 8 && float64(top)/float64(total) <= 0.99 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %d colours, the most common covers %.1f%%: the window did not render in 20 s", path, colours, 100*float64(top)/float64(total))
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("screenshot %s: %d colours", path, colours)
}

// shotColours counts a PNG's colours (every other pixel): how many, the
// most common's count, and the pixels counted.
func shotColours(t *testing.T, path string) (colours, top, total int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", path, err)
	}
	seen := map[[3]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}]++
		}
	}
	for _, n := range seen {
		total += n
		top = max(top, n)
	}
	return len(seen), top, total
}

// checkScreenshot requires a picture that is not blank: the window's
// background, its text and the root window's black must all be there.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	colours, top, total := shotColours(t, path)
	if colours < 8 {
		t.Errorf("screenshot has only %d colours: the window did not render", colours)
	}
	// The bare root window is one colour; the app's window must cover a
	// real part of the screen.
	if float64(top)/float64(total) > 0.95 {
		t.Errorf("one colour covers %.0f%% of the screenshot: no window drawn", 100*float64(top)/float64(total))
	}
	t.Logf("screenshot %s: %d colours", path, colours)
}
