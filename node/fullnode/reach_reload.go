package fullnode

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/ini.v1"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/nat"
)

// Taking tahoe.cfg's changes while running (docs/reachability.md,
// "Taking effect"): `lafs reachability --apply` edits tahoe.cfg, then
// asks the running node, over its web API, to take the change
// (POST ReloadPath). The node compares tahoe.cfg with what this run read
// at its start. A key it can take in place (liveKey,
// reach_reload_live.go) it takes at once, keeping every connection; for
// any other key it restarts itself in the same process (RunRestarting),
// because those keys decide what it listens on, serves and announces
// from the start of a run. Nodes run by RunRestarting (lafs run) serve
// ReloadPath, and so does the node of RunEmbeddedLocked (lafs daemon),
// which takes the live keys and refuses the others (it cannot restart
// inside the daemon).

// ReloadPath is the web API route: POST takes tahoe.cfg's changes, GET
// reports which run of the node answers.
const ReloadPath = "/node/reload"

// reloadState is what a run read of tahoe.cfg and how to restart it.
type reloadState struct {
	mu         sync.Mutex        // guards all below
	settings   map[string]string // tahoe.cfg as this run took it: "section.key" → value
	generation int               // which run of RunRestarting this is (from 1)
	restart    func()            // ends this run so that RunRestarting starts the next; nil outside it

	// mode is [node] reachability as a reload took it (nil: as this run
	// started, Config); remode says runReach has yet to announce it.
	mode   atomic.Pointer[nat.Mode]
	remode atomic.Bool
	// location is [node] tub.location as a reload took it (nil: Config's).
	location atomic.Pointer[string]
	// poke asks runReach to take a reloaded [node] reachability, upnp,
	// tub.location or [relay] enabled: start or stop the port mapper,
	// announce anew, check again.
	pokeOnce sync.Once
	poke     chan struct{}
}

// ReloadResult answers POST ReloadPath.
type ReloadResult struct {
	// Changed are the keys ("section.key") whose value differs from what
	// the node ran with.
	Changed []string `json:"changed"`
	// Live are those it took at once, keeping its connections.
	Live []string `json:"live"`
	// Restarting: the node restarts in its process to take the others.
	Restarting bool `json:"restarting"`
	// Generation is the run that has the changes: this one when all were
	// live, the next one when it restarts (GET ReloadPath says which
	// answers).
	Generation int `json:"generation"`
}

// RunInfo answers GET ReloadPath.
type RunInfo struct {
	Generation int `json:"generation"`
}

// RunHooks are called around each run of RunRestarting.
type RunHooks struct {
	// Ready is called once the node listens (Run's ready), with a context
	// that ends with this run.
	Ready func(ctx context.Context, n *Node)
	// Stopped is called when a run has ended, before the next one starts:
	// wait there for what Ready started.
	Stopped func()
}

// RunRestarting opens and runs the node in dir until ctx ends, as Open
// and Run do, and serves ReloadPath; when a reload needs a restart it
// ends the run and opens and runs the node again in this process.
func RunRestarting(ctx context.Context, dir string, log *slog.Logger, hooks RunHooks) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for gen := 1; ; gen++ {
		settings, err := readSettings(dir)
		if err != nil {
			return err
		}
		n, err := Open(dir, log)
		if err != nil {
			return err
		}
		runCtx, cancel := context.WithCancel(ctx)
		var restarted atomic.Bool
		n.armReload(settings, gen, func() { restarted.Store(true); cancel() })
		err = n.Run(runCtx, func(n *Node) {
			n.MountWeb(ReloadPath, n.reloadHandler())
			if hooks.Ready != nil {
				hooks.Ready(runCtx, n)
			}
		})
		cancel()
		if hooks.Stopped != nil {
			hooks.Stopped()
		}
		if err != nil || !restarted.Load() || ctx.Err() != nil {
			return err
		}
		log.Info("node restarted in this process to take tahoe.cfg's changes", "run", gen+1)
	}
}

// armReload records what this run read of tahoe.cfg, which run it is,
// and how to restart it (nil: it cannot), for Reload.
func (n *Node) armReload(settings map[string]string, generation int, restart func()) {
	n.reload.mu.Lock()
	defer n.reload.mu.Unlock()
	n.reload.settings, n.reload.generation, n.reload.restart = settings, generation, restart
}

// readSettings reads tahoe.cfg as "section.key" → value.
func readSettings(dir string) (map[string]string, error) {
	f, err := ini.LoadSources(ini.LoadOptions{Loose: true}, filepath.Join(dir, config.File))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, config.File), err)
	}
	m := map[string]string{}
	for _, s := range f.Sections() {
		for _, k := range s.Keys() {
			m[strings.ToLower(s.Name())+"."+k.Name()] = strings.TrimSpace(k.Value())
		}
	}
	return m, nil
}

// changedKeys are the keys whose values differ between a and b, sorted.
func changedKeys(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Reload takes tahoe.cfg's changes since this run read it: the live keys
// at once, and for any other it arranges a restart (RunRestarting) once
// the caller calls the returned restart (nil when none is needed). A
// tahoe.cfg that does not load as a whole is refused, and the node keeps
// running as it was.
func (n *Node) Reload() (ReloadResult, func(), error) {
	now, err := readSettings(n.Dir)
	if err != nil {
		return ReloadResult{}, nil, err
	}
	cfg, err := config.Load(n.Dir)
	if err != nil {
		return ReloadResult{}, nil, err
	}
	if _, err := config.LoadHelper(n.Dir); err != nil {
		return ReloadResult{}, nil, err
	}
	rc, err := config.LoadRelay(n.Dir)
	if err != nil {
		return ReloadResult{}, nil, err
	}
	n.reload.mu.Lock()
	defer n.reload.mu.Unlock()
	res := ReloadResult{Changed: changedKeys(n.reload.settings, now), Live: []string{}, Generation: n.reload.generation}
	if res.Changed == nil {
		res.Changed = []string{}
	}
	var later []string
	for _, k := range res.Changed {
		if n.liveKey(k, cfg) {
			res.Live = append(res.Live, k)
		} else {
			later = append(later, k)
		}
	}
	if len(res.Live) > 0 {
		n.takeLive(res.Live, cfg, rc)
		for _, k := range res.Live {
			if v, ok := now[k]; ok {
				n.reload.settings[k] = v
			} else {
				delete(n.reload.settings, k)
			}
		}
		n.log.Info("took tahoe.cfg's changes without a restart", "keys", strings.Join(res.Live, ", "))
		go n.refreshAdvice() // the advice follows (use-helper goes once a helper is named)
	}
	if len(later) == 0 {
		return res, nil, nil
	}
	if n.reload.restart == nil {
		took := ""
		if len(res.Live) > 0 {
			took = "it took " + strings.Join(res.Live, ", ") + " at once, but "
		}
		return res, nil, fmt.Errorf("%sthis node cannot restart itself while it runs (only one run by 'lafs run' can), so %s takes effect when it next starts", took, strings.Join(later, ", "))
	}
	res.Restarting, res.Generation = true, n.reload.generation+1
	return res, n.reload.restart, nil
}

// reloadHandler serves ReloadPath.
func (n *Node) reloadHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ReloadPath, func(w http.ResponseWriter, r *http.Request) {
		n.reload.mu.Lock()
		info := RunInfo{Generation: n.reload.generation}
		n.reload.mu.Unlock()
		writeReloadJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("POST "+ReloadPath, func(w http.ResponseWriter, r *http.Request) {
		res, restart, err := n.Reload()
		if err != nil {
			writeReloadJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
			return
		}
		writeReloadJSON(w, http.StatusOK, res)
		if restart != nil {
			// The answer goes out first; the run ends a moment later.
			http.NewResponseController(w).Flush()
			go func() {
				time.Sleep(100 * time.Millisecond)
				n.log.Info("restarting the node to take tahoe.cfg's changes", "keys", strings.Join(res.Changed, ", "))
				restart()
			}()
		}
	})
	return mux
}

func writeReloadJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
