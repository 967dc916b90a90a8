package main

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
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
	dir := t.TempDir()
	bin := filepath.Join(dir, "lafsync")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "LAFSSYNC_HOME="+filepath.Join(dir, "node"))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("app output:\n%s", logs.String())
		}
	})

	// The window appears.
	waitFor(t, 30*time.Second, "the LAFS Sync window", func() bool {
		out, err := exec.Command("xdotool", "search", "--name", "^LAFS Sync$").Output()
		return err == nil && len(bytes.TrimSpace(out)) > 0
	})
	// The embedded default grid comes up with the app: the node hears of
	// ten storage servers from the local introducer (and caches them).
	waitFor(t, 60*time.Second, "ten storage announcements from the local introducer", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "node", "private", "introducer_local_cache.yaml"))
		return err == nil && strings.Count(string(b), "service-name: storage") == 10
	})
	// The folder sync runs inside the app: its web API answers /sync/.
	waitFor(t, 30*time.Second, "the folder sync's API in the app's node", func() bool {
		u, err1 := os.ReadFile(filepath.Join(dir, "node", "node.url"))
		tok, err2 := os.ReadFile(filepath.Join(dir, "node", "private", "api_auth_token"))
		if err1 != nil || err2 != nil {
			return false
		}
		req, err := http.NewRequest("GET", strings.TrimRight(strings.TrimSpace(string(u)), "/")+"/sync/folders", nil)
		if err != nil {
			return false
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && strings.HasPrefix(strings.TrimSpace(string(body)), "[")
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
	dest := "org.kde.StatusNotifierItem-" + strconv.Itoa(cmd.Process.Pid) + "-1"
	var layout string
	waitFor(t, 20*time.Second, "the tray menu on D-Bus", func() bool {
		out, err := exec.Command("gdbus", "call", "--session", "--dest", dest, "--object-path", "/StatusNotifierMenu",
			"--method", "com.canonical.dbusmenu.GetLayout", "--", "0", "-1", "@as []").Output()
		layout = string(out)
		return err == nil && strings.Contains(layout, "Quit")
	})
	for _, want := range []string{"Show window", "Quit"} {
		if !strings.Contains(layout, "'"+want+"'") {
			t.Errorf("tray menu lacks %q: %s", want, layout)
		}
	}
	m := regexp.MustCompile(`\((\d+), \{[^}]*'label': <'Quit'>`).FindStringSubmatch(layout)
	if m == nil {
		t.Fatalf("no Quit item id in %s", layout)
	}
	if out, err := exec.Command("gdbus", "call", "--session", "--dest", dest, "--object-path", "/StatusNotifierMenu",
		"--method", "com.canonical.dbusmenu.Event", "--", m[1], "clicked", "<int32 0>", "0").CombinedOutput(); err != nil {
		t.Fatalf("click Quit: %v %s", err, out)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("app exited with %v after Quit", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("app still running 15 s after Quit was clicked in the tray menu")
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

// checkScreenshot requires a picture that is not blank: the window's
// background, its text and the root window's black must all be there.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	colours := map[[3]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}]++
		}
	}
	if len(colours) < 8 {
		t.Errorf("screenshot has only %d colours: the window did not render", len(colours))
	}
	total, top := 0, 0
	for _, n := range colours {
		total += n
		top = max(top, n)
	}
	// The bare root window is one colour; the app's window must cover a
	// real part of the screen.
	if float64(top)/float64(total) > 0.95 {
		t.Errorf("one colour covers %.0f%% of the screenshot: no window drawn", 100*float64(top)/float64(total))
	}
	t.Logf("screenshot %s: %dx%d, %d colours", path, b.Dx(), b.Dy(), len(colours))
}
