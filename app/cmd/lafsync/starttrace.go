package main

import (
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The start-up trace (issue 11's benchmark "start → tray icon < 1 s"):
// where the time and the CPU go between exec and the tray's
// StatusNotifierItem name on the session bus. Both are off unless asked
// for, and cost nothing then:
//
//   - LAFSSYNC_START_TRACE=1: one log line per start-up stage
//     ("start stage", stage=…) with the milliseconds since the process
//     started (elapsed_ms, from /proc, 10 ms resolution; since main where
//     there is no /proc) and the CPU the process had used by then (cpu_ms,
//     user + system, all threads). The log line's own time= is exact;
//     scripts/bench-tray.sh reads it against the moment it started the app.
//   - LAFSSYNC_CPUPROFILE=FILE: a Go CPU profile (go tool pprof) of the
//     start, from main's first line until the tray is registered on the bus
//     (the event loop runs), or, with LAFSSYNC_CPUPROFILE_UNTIL=node, until
//     the node is up; at most startProfileMax either way. The Go runtime's
//     and the packages' init before main are not in it: their cost is the
//     first stage's cpu_ms (GODEBUG=inittrace=1 splits it by package).

const (
	startTraceEnv   = "LAFSSYNC_START_TRACE"
	cpuProfileEnv   = "LAFSSYNC_CPUPROFILE"
	profileUntilEnv = "LAFSSYNC_CPUPROFILE_UNTIL"
	startProfileMax = 60 * time.Second
)

// Start-up stages, in the order they happen; StageTray and StageNode are
// what the profile can stop at.
const (
	stageMain      = "main"         // main's first line (after the runtime and init)
	stageLocked    = "locked"       // the node directory's lock taken
	stageApp       = "app"          // fyne's app made
	stageWindow    = "window"       // the main window built
	stageTraySetup = "tray set up"  // the tray's menu made (fyne registers it once its loop runs)
	stageShown     = "window shown" // the main window created on the display
	stageTray      = "tray"         // the event loop runs: the tray's name is on the bus
	stageNodeGo    = "node started" // the node's start begun
	stageNode      = "node up"      // the node and its folder sync run
)

// startTrace is the trace of one start. A nil *startTrace, or one with
// neither variable set, does nothing.
type startTrace struct {
	log      *slog.Logger
	begun    time.Time     // main's first line
	sinceExe time.Duration // from the process's start to begun (0: unknown)
	cpu0     time.Duration // CPU used by begun

	mu    sync.Mutex // guards the fields below
	lines bool       // LAFSSYNC_START_TRACE is set
	prof  *os.File   // the profile being written, nil when none (or done)
	until string     // the stage that ends the profile
	timer *time.Timer
	seen  map[string]bool
	// pending are problems met before the logger was there.
	pending []string
}

// newStartTrace reads the environment; call it first thing in main.
func newStartTrace() *startTrace {
	s := &startTrace{begun: time.Now(), cpu0: processCPU(), seen: map[string]bool{}}
	s.sinceExe = sinceProcessStart()
	s.lines = os.Getenv(startTraceEnv) != ""
	path := os.Getenv(cpuProfileEnv)
	if path == "" {
		return s
	}
	s.until = stageTray
	if os.Getenv(profileUntilEnv) == "node" {
		s.until = stageNode
	}
	f, err := os.Create(path)
	if err != nil {
		s.pending = append(s.pending, "could not create the CPU profile "+path+": "+err.Error())
		return s
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		s.pending = append(s.pending, "could not start the CPU profile: "+err.Error())
		return s
	}
	s.prof = f
	s.timer = time.AfterFunc(startProfileMax, func() { s.stopProfile("time limit") })
	return s
}

// setLog gives the trace its logger (made after the trace starts) and
// logs the main stage.
func (s *startTrace) setLog(log *slog.Logger) {
	s.mu.Lock()
	s.log = log
	pending := s.pending
	s.pending = nil
	prof := s.prof != nil
	s.mu.Unlock()
	for _, p := range pending {
		log.Warn("start-up trace: " + p)
	}
	if prof {
		log.Info("start-up CPU profile on", "file", os.Getenv(cpuProfileEnv), "until", s.until)
	}
	s.stageAt(stageMain, s.begun, s.cpu0)
}

// stage marks a start-up stage (only its first time: the node's restarts
// are not the start).
func (s *startTrace) stage(name string) {
	if s == nil {
		return
	}
	s.stageAt(name, time.Now(), processCPU())
}

func (s *startTrace) stageAt(name string, at time.Time, cpu time.Duration) {
	s.mu.Lock()
	first := !s.seen[name]
	s.seen[name] = true
	lines, log, stop := s.lines, s.log, s.prof != nil && name == s.until
	s.mu.Unlock()
	if !first {
		return
	}
	if lines && log != nil {
		elapsed := at.Sub(s.begun)
		if s.sinceExe > 0 {
			elapsed += s.sinceExe
		}
		log.Info("start stage", "stage", name, "elapsed_ms", elapsed.Milliseconds(), "cpu_ms", cpu.Milliseconds(),
			"since_main_ms", at.Sub(s.begun).Milliseconds())
	}
	if stop {
		s.stopProfile("stage " + name)
	}
}

// stopProfile ends the profile (once) and says so.
func (s *startTrace) stopProfile(why string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	f := s.prof
	s.prof = nil
	if s.timer != nil {
		s.timer.Stop()
	}
	log := s.log
	s.mu.Unlock()
	if f == nil {
		return
	}
	pprof.StopCPUProfile()
	err := f.Close()
	if log != nil {
		if err != nil {
			log.Warn("start-up CPU profile: could not write it", "file", f.Name(), "err", err)
		} else {
			log.Info("start-up CPU profile written", "file", f.Name(), "at", why)
		}
	}
}

// sinceProcessStart is how long ago the process started, from its start
// time in /proc/self/stat and the system's uptime (both in 10 ms ticks);
// 0 where there is no /proc.
func sinceProcessStart() time.Duration {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	up, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses; the
	// start time is field 22, the 20th after it.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return 0
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64)
	if err != nil {
		return 0
	}
	u := strings.Fields(string(up))
	if len(u) == 0 {
		return 0
	}
	secs, err := strconv.ParseFloat(u[0], 64)
	if err != nil {
		return 0
	}
	d := time.Duration(secs*float64(time.Second)) - time.Duration(ticks)*10*time.Millisecond // USER_HZ is 100 on Linux
	return max(d, 0)
}
