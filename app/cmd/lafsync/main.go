// Command lafsync is LAFS Sync's tray application. It needs a display; on a
// machine without one, run `lafs daemon` instead (make run picks for you).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/lafssync/lafssync/app/appnode"
	"github.com/lafssync/lafssync/app/autostart"
	"github.com/lafssync/lafssync/app/cli"
	"github.com/lafssync/lafssync/app/single"
	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/app/ui/notify"
	"github.com/lafssync/lafssync/app/ui/wizard"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/nodedir"
	"github.com/lafssync/lafssync/syncer"
)

func main() {
	trace := newStartTrace() // LAFSSYNC_START_TRACE, LAFSSYNC_CPUPROFILE (starttrace.go)
	background := flag.Bool(strings.TrimPrefix(autostart.BackgroundFlag, "--"), false,
		"start in the system tray without opening the window (how start at login runs it)")
	flag.Parse()
	if runtime.GOOS == "linux" && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		fmt.Fprintln(os.Stderr, "lafsync: no display found (DISPLAY and WAYLAND_DISPLAY are unset).\n"+
			"Run the headless daemon instead: lafs daemon   (or: make run, which chooses for you)")
		os.Exit(2)
	}
	info := ui.Info{NodeDir: cli.DefaultNodeDir()}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	trace.setLog(log)
	// One app per node directory: a second start brings the first one's
	// window to the front and exits.
	lk, err := nodedir.Acquire(info.NodeDir)
	if errors.Is(err, nodedir.ErrHeld) {
		if *background {
			fmt.Println("LAFS Sync is already running.")
			os.Exit(0)
		}
		if serr := single.Signal(info.NodeDir); serr == nil {
			fmt.Println("LAFS Sync is already running; its window is in front now.")
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "lafsync: %v\n", err)
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "lafsync: %v\n", err)
		os.Exit(1)
	}
	// What runs at exit, in reverse order: after fyne's Run returns, or,
	// from the tray's Quit, instead of fyne's own shutdown (see quit).
	var cleanup []func()
	exit := sync.OnceFunc(func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	})
	cleanup = append(cleanup, func() { lk.Release() })
	trace.stage(stageLocked)
	a := app.NewWithID("org.lafssync.LAFSSync")
	a.SetIcon(ui.Icon)
	trace.stage(stageApp)
	// The tray first, alone: fyne puts it on the session bus when its
	// event loop starts, and the main window and the node (the embedded
	// local grid: an introducer and ten storage servers) come after that
	// (up, below), so that the icon waits for neither. Until the node is
	// up the tray says it is starting.
	tray, ok := ui.SetupTray(a, nil, log)
	if ok {
		tray.Quit = func() { quit(exit, log) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	// The embedded default: a local grid (introducer and storage servers)
	// on this machine, and this computer's node as its client; or the
	// grid the node joined (the first-run wizard can join one).
	runner := &appnode.Runner{Dir: info.NodeDir, Lock: lk, Log: log}
	// w is the main window, nil until up built it; only the UI thread
	// uses it (or, once the node runs, SetGridStatus, which is safe).
	var w *ui.Main
	var wins *windows
	if ok {
		tray.SetAutostart(osAutostart{})
		wins = &windows{a: a, r: runner, log: log, autostart: osAutostart{}}
		tray.SetWindows(wins.items()...)
	}
	trace.stage(stageTraySetup)
	if err := single.Listen(ctx, info.NodeDir, func() {
		log.Info("a second start of the app asked for the window")
		fyne.Do(func() {
			if w != nil {
				w.Show()
				w.RequestFocus()
			}
		})
	}); err != nil {
		log.Warn("a second start of the app will not find this one", "err", err)
	}
	var wizardOnce sync.Once
	runner.Ready = func(nctx context.Context, n *fullnode.Node, m *syncer.Manager, local bool) {
		trace.stage(stageNode)
		go followReach(nctx, n, tray)
		if m != nil {
			tray.Attach(nctx, m)
			nf := notify.Start(nctx, a, m, notify.Options{Log: log})
			go notify.FollowReach(nctx, nf, n.ReachChanged, n.Reach)
		} else {
			tray.Failed("the node's log says why")
		}
		if local {
			w.SetGridStatus(fmt.Sprintf("Local grid: an introducer and %d storage servers running on this machine.", fullnode.LocalGridSize))
			log.Info("local grid up", "storage_servers", fullnode.LocalGridSize, "directory", filepath.Join(info.NodeDir, "local-grid"), "web_api", n.WebURL())
		} else {
			w.SetGridStatus("Grid: this computer's node is a client of the grid it joined.")
			log.Info("node up", "web_api", n.WebURL())
		}
		if m != nil && os.Getenv("LAFSSYNC_NO_WIZARD") == "" && appnode.NeedsSetup(info.NodeDir, len(m.List())) {
			wizardOnce.Do(func() {
				fyne.Do(func() {
					ww := a.NewWindow(wizard.Title)
					ww.SetIcon(ui.Icon)
					wizard.New(ww, &appnode.Setup{R: runner}, homeDir(), nil)
					ww.Show()
				})
			})
		}
	}
	var node sync.WaitGroup
	cleanup = append(cleanup, func() { cancel(); node.Wait() })
	// up builds and shows the main window and starts the node, on the UI
	// thread, once.
	up := sync.OnceFunc(func() {
		w = ui.NewMainWindow(a, info)
		trace.stage(stageWindow)
		if ok {
			wins.main = w
			tray.SetWindow(w)
		} else {
			log.Info("no system tray on this platform; closing the window quits")
			w.SetCloseIntercept(a.Quit)
		}
		node.Go(func() {
			trace.stage(stageNodeGo)
			if err := runner.Run(ctx); err != nil {
				log.Error("the node stopped", "err", err)
				w.SetGridStatus("The node stopped: " + err.Error())
			}
		})
		if *background && ok {
			// Started at login: the tray's "Show window" opens it, and
			// only then is its (GL) window made.
			log.Info("started in the background: the window opens from the tray icon's menu")
			return
		}
		w.Show()
		trace.stage(stageShown)
	})
	// fyne has registered the tray on the bus when it calls this, just
	// before its event loop's first turn; up runs in that loop.
	a.Lifecycle().SetOnStarted(func() {
		trace.stage(stageTray)
		fyne.Do(up)
	})
	if !ok {
		up() // no tray to wait for: the window is the app
	}
	log.Info("started", "app", ui.Describe(info))
	cleanup = append(cleanup, startUIProbe(log)) // LAFSSYNC_UI_PROBE=FILE: the UI stall benchmark (uiprobe.go)
	cleanup = append(cleanup, func() { trace.stopProfile("quit") })
	a.Run()
	exit()
}

// quitTimeout bounds the clean-up of Quit (the node's stop).
const quitTimeout = 20 * time.Second

// quit is the tray's Quit: the app's clean-up (the node stops, the lock is
// released), then the process exits, without fyne's own shutdown: fyne
// 2.7.1 queues its stop hook on the main-thread queue while closing that
// queue, a race that can end an app that quit cleanly with "panic: send on
// closed channel" (seen once in CI). The clean-up runs off the UI thread,
// which keeps serving the node's last updates meanwhile.
func quit(exit func(), log *slog.Logger) {
	go func() {
		done := make(chan struct{})
		go func() { exit(); close(done) }()
		select {
		case <-done:
		case <-time.After(quitTimeout):
			log.Warn("quit: the node did not stop in time; exiting anyway", "waited", quitTimeout)
		}
		os.Exit(0)
	}()
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
	return autostart.Enable(autostart.TrayEntry(p))
}

// homeDir is the user's home directory (where new folders and the
// recovery kit are suggested), or the working directory.
func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}

// followReach shows the node's reachability verdict in the tray menu
// until ctx ends.
func followReach(ctx context.Context, n *fullnode.Node, t *ui.Tray) {
	for {
		ch := n.ReachChanged()
		if v := n.Reach().Verdict; v != "" && v != nat.VerdictUnknown {
			t.SetReach(string(v))
		} else {
			t.SetReach("")
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}
