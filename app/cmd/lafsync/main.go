// Command lafsync is LAFS Sync's tray application. It needs a display; on a
// machine without one, run `lafs daemon` instead (make run picks for you).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"fyne.io/fyne/v2/app"

	"github.com/lafssync/lafssync/app/cli"
	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/node/storagenode"
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
	// The embedded default: a local grid of storage servers on this machine.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := filepath.Join(info.NodeDir, "local-grid")
	go func() {
		err := storagenode.RunLocalGrid(ctx, root, info.NodeDir, storagenode.LocalGridSize, log, func(dirs []string) {
			w.SetGridStatus(fmt.Sprintf("Local grid: %d storage servers running on this machine.", len(dirs)))
			log.Info("local grid up", "storage_servers", len(dirs), "directory", root)
		})
		if err != nil {
			log.Error("local grid stopped", "err", err)
			w.SetGridStatus("Local grid failed: " + err.Error())
		}
	}()
	w.ShowAndRun()
}
