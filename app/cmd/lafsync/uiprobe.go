package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/trace"
	"slices"
	"sync"
	"time"

	"fyne.io/fyne/v2"
)

// The UI stall probe (issue 11's benchmark "the UI event loop never stalls
// > 100 ms during a 1 GiB upload"). With LAFSSYNC_UI_PROBE=FILE set, a
// goroutine hands a function to fyne's event loop (fyne.Do) every
// probeEvery and records how long it waited there before it ran: the time
// the loop could not react to anything, a click or a redraw included. One
// call is in flight at a time, so a stall of d shows as one delay of
// about d (less at most probeEvery). The figures go to FILE when the app
// quits, and every probeFlush meanwhile. Without the variable nothing
// runs. scripts/bench-tray.sh reads the file (app/cmd/lafsync/bench_test.go).
//
// With LAFSSYNC_UI_PROBE_TRACE=DIR as well, a Go execution trace runs in
// flight-recorder mode (the last few seconds, in memory), and each wait
// over probeTraceOver, from probeTraceAfter on (the start has its own
// benchmark), writes it to DIR/stall-N.trace (at most probeTraceMax
// files): `go tool trace` then shows what held the event loop's goroutine
// and what ran meanwhile.

const (
	probeEnv   = "LAFSSYNC_UI_PROBE"
	probeEvery = 10 * time.Millisecond
	probeFlush = 5 * time.Second
	// probeMaxSamples bounds the probe's memory: about 10 hours at one
	// sample per probeEvery, 16 bytes each; later samples only count.
	probeMaxSamples = 4 << 20

	probeTraceEnv   = "LAFSSYNC_UI_PROBE_TRACE"
	probeTraceOver  = 100 * time.Millisecond
	probeTraceMax   = 5
	probeTraceAfter = 30 * time.Second
)

// ProbeReport is what the probe writes (JSON). Times are Unix
// milliseconds; delays microseconds.
type ProbeReport struct {
	IntervalMS int `json:"interval_ms"`
	// FirstRunUS is how long the first call waited: from the probe's
	// start, before the event loop ran, to the loop running it. It is not
	// a stall and is not in the samples.
	FirstRunUS int64   `json:"first_run_us"`
	Samples    int     `json:"samples"` // all samples taken, even past probeMaxSamples
	MaxMS      float64 `json:"max_ms"`
	P99MS      float64 `json:"p99_ms"`
	P50MS      float64 `json:"p50_ms"`
	// At and DelayUS are the samples (at most probeMaxSamples): when
	// each call was handed to the loop, and how long it waited.
	At      []int64 `json:"at_unix_ms"`
	DelayUS []int64 `json:"delay_us"`
}

// uiProbe is the running probe.
type uiProbe struct {
	path string
	log  *slog.Logger
	stop chan struct{}
	// fr and traceDir are the flight recorder (nil without
	// LAFSSYNC_UI_PROBE_TRACE); traces counts the snapshots written, on
	// the probe's goroutine only.
	fr       *trace.FlightRecorder
	traceDir string
	traces   int
	started  time.Time

	mu      sync.Mutex // guards the fields below
	first   time.Duration
	samples int
	max     time.Duration
	at      []int64
	delay   []int64
	stopped bool
}

// startUIProbe starts the probe if LAFSSYNC_UI_PROBE names a file, and
// returns what stops it and writes the report (call it after the event
// loop ended; it does not wait for a call still queued there).
func startUIProbe(log *slog.Logger) (stop func()) {
	path := os.Getenv(probeEnv)
	if path == "" {
		return func() {}
	}
	p := &uiProbe{path: path, log: log, stop: make(chan struct{}), started: time.Now()}
	log.Info("UI stall probe on", "every", probeEvery, "report", path)
	if dir := os.Getenv(probeTraceEnv); dir != "" {
		fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: 3 * time.Second, MaxBytes: 64 << 20})
		if err := fr.Start(); err != nil {
			log.Error("UI stall probe: no execution trace", "err", err)
		} else {
			p.fr, p.traceDir = fr, dir
			log.Info("UI stall probe: execution traces of stalls", "over", probeTraceOver, "dir", dir)
		}
	}
	go p.run()
	return p.finish
}

func (p *uiProbe) run() {
	ran := make(chan time.Time, 1)
	call := func() time.Time {
		fyne.Do(func() { ran <- time.Now() })
		select {
		case at := <-ran:
			return at
		case <-p.stop:
			return time.Time{}
		}
	}
	start := time.Now()
	at := call()
	if at.IsZero() {
		return
	}
	p.mu.Lock()
	p.first = at.Sub(start)
	p.mu.Unlock()
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	flush := time.NewTicker(probeFlush)
	defer flush.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-flush.C:
			p.write()
			continue
		case <-tick.C:
		}
		sent := time.Now()
		at := call()
		if at.IsZero() {
			return
		}
		p.add(sent, at.Sub(sent))
		if at.Sub(sent) > probeTraceOver {
			p.snapshot(at.Sub(sent))
		}
	}
}

// snapshot writes the flight recorder's window after a stall of d.
func (p *uiProbe) snapshot(d time.Duration) {
	if p.fr == nil || p.traces >= probeTraceMax || time.Since(p.started) < probeTraceAfter {
		return
	}
	p.traces++
	path := filepath.Join(p.traceDir, fmt.Sprintf("stall-%d.trace", p.traces))
	f, err := os.Create(path)
	if err == nil {
		_, err = p.fr.WriteTo(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		p.log.Error("UI stall probe: could not write the execution trace", "err", err)
		return
	}
	p.log.Info("UI stall probe: execution trace of a stall", "wait", d, "trace", path)
}

func (p *uiProbe) add(sent time.Time, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.samples++
	p.max = max(p.max, d)
	if len(p.at) < probeMaxSamples {
		p.at = append(p.at, sent.UnixMilli())
		p.delay = append(p.delay, d.Microseconds())
	}
}

func (p *uiProbe) finish() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	close(p.stop)
	p.mu.Unlock()
	if p.fr != nil {
		p.fr.Stop()
	}
	p.write()
}

// report is the probe's figures so far.
func (p *uiProbe) report() ProbeReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := ProbeReport{IntervalMS: int(probeEvery / time.Millisecond), FirstRunUS: p.first.Microseconds(),
		Samples: p.samples, MaxMS: ms(p.max),
		At: slices.Clone(p.at), DelayUS: slices.Clone(p.delay)}
	if r.At == nil {
		r.At, r.DelayUS = []int64{}, []int64{}
	}
	sorted := slices.Clone(p.delay)
	slices.Sort(sorted)
	r.P50MS = float64(percentile(sorted, 50)) / 1000
	r.P99MS = float64(percentile(sorted, 99)) / 1000
	return r
}

// write saves the report atomically (a reader never sees half of it).
func (p *uiProbe) write() {
	b, err := json.Marshal(p.report())
	if err == nil {
		tmp := p.path + ".tmp"
		if err = os.WriteFile(tmp, b, 0o644); err == nil {
			err = os.Rename(tmp, p.path)
		}
	}
	if err != nil {
		p.log.Error("UI stall probe: could not write its report", "err", err)
	}
}

// percentile is the q-th percentile (nearest rank) of sorted, 0 if empty.
func percentile(sorted []int64, q int) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*q + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
