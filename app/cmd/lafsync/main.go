// Command lafsync is LAFS Sync's tray application. It needs a display; on a
// machine without one, run `lafs daemon` instead (make run picks for you).
package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"fyne.io/fyne/v2/app"

	"github.com/lafssync/lafssync/app/cli"
	"github.com/lafssync/lafssync/app/ui"
)

func main() {
	if runtime.GOOS == "linux" && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		fmt.Fprintln(os.Stderr, "lafsync: no display found (DISPLAY and WAYLAND_DISPLAY are unset).\n"+
			"Run the headless daemon instead: lafs daemon   (or: make run, which chooses for you)")
		os.Exit(2)
	}
	info := ui.Info{NodeDir: cli.DefaultNodeDir()}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	a := app.NewWithID("org.lafssync.LAFSSync")
	a.SetIcon(ui.Icon)
	w := ui.NewMainWindow(a, info)
	if !ui.SetupTray(a, w) {
		log.Info("no system tray on this platform; closing the window quits")
		w.SetCloseIntercept(a.Quit)
	}
	log.Info("started", "app", ui.Describe(info))
	w.ShowAndRun()
}
