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
	"sync"

	"fyne.io/fyne/v2/app"

	"github.com/lafssync/lafssync/app/autostart"
	"github.com/lafssync/lafssync/app/cli"
	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/node/fullnode"
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
	tray, ok := ui.SetupTray(a, w, log)
	if ok {
		tray.SetAutostart(osAutostart{})
	} else {
		log.Info("no system tray on this platform; closing the window quits")
		w.SetCloseIntercept(a.Quit)
	}
	log.Info("started", "app", ui.Describe(info))
	// The embedded default: a local grid (introducer and storage servers)
	// on this machine, and this computer's node as its client.
	ctx, cancel := context.WithCancel(context.Background())
	var syncing sync.WaitGroup
	defer func() { cancel(); syncing.Wait() }()
	go func() {
		err := fullnode.RunEmbedded(ctx, info.NodeDir, log, func(n *fullnode.Node) {
			if m := cli.StartSyncManager(ctx, &syncing, n, log); m != nil {
				tray.Attach(ctx, m)
			} else {
				tray.Failed("the node's log says why")
			}
			w.SetGridStatus(fmt.Sprintf("Local grid: an introducer and %d storage servers running on this machine.", fullnode.LocalGridSize))
			log.Info("local grid up", "storage_servers", fullnode.LocalGridSize, "directory", filepath.Join(info.NodeDir, "local-grid"), "web_api", n.WebURL())
		})
		if err != nil {
			log.Error("local grid stopped", "err", err)
			w.SetGridStatus("Local grid failed: " + err.Error())
		}
	}()
	w.ShowAndRun()
}

// osAutostart is the tray's "Start at login" on this OS (app/autostart),
// starting this very program (or the AppImage it runs from).
type osAutostart struct{}

func (osAutostart) Enabled() (bool, error) {
	st, err := autostart.Get()
	return st.Enabled, err
}

func (osAutostart) SetEnabled(on bool) error {
	if !on {
		return autostart.Disable()
	}
	p, err := autostart.FindTrayApp()
	if err != nil {
		return err
	}
	return autostart.Enable(autostart.Entry{Program: p})
}
