package lease

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/walk"
	"github.com/lafssync/lafssync/internal/atomicfile"
)

// Options tune Renew. The zero value is fine.
type Options struct {
	// Concurrency bounds the objects whose leases are renewed at once
	// (each on every server in parallel); default walk.DefaultConcurrency.
	Concurrency int
	// Timeout bounds each AddLease call (default 60 s).
	Timeout time.Duration
}

// maxErrors bounds the problems a Report keeps.
const maxErrors = 20

// Report is what a renewal did. It holds no caps.
type Report struct {
	// Roots is how many roots were given; BadRoots how many of them were
	// not caps.
	Roots, BadRoots int
	// Objects counts the distinct objects reached (LIT included).
	Objects int
	// StorageIndexes counts the distinct storage indexes (objects with
	// shares) reached.
	StorageIndexes int
	// Renewed counts (storage index, server) leases added or renewed.
	Renewed int
	// NotHeld counts (storage index, server) pairs where the server has
	// no share: normal, each server holds only some shares.
	NotHeld int
	// Failed counts AddLease calls that failed otherwise.
	Failed int
	// Missing counts storage indexes no lease was renewed for: no server
	// that answered holds any share.
	Missing int
	// UnreadableDirs counts directories that could not be listed: what
	// lies below them was not renewed.
	UnreadableDirs int
	// Errors are the first problems, for people (no caps).
	Errors []string
	// Took is how long the renewal ran.
	Took time.Duration
}

// OK reports whether every reachable object got its leases renewed.
func (r *Report) OK() bool {
	return r.BadRoots == 0 && r.Failed == 0 && r.Missing == 0 && r.UnreadableDirs == 0
}

// String is the one-line summary (safe to log: no caps, no secrets).
func (r *Report) String() string {
	return fmt.Sprintf("leases renewed: %d objects (%d with shares) from %d roots; %d leases renewed, %d failed; %d objects with no lease renewed; %d directories unreadable (took %s)",
		r.Objects, r.StorageIndexes, r.Roots, r.Renewed, r.Failed, r.Missing, r.UnreadableDirs, r.Took.Round(time.Millisecond))
}

func (r *Report) problem(format string, args ...any) {
	if len(r.Errors) < maxErrors {
		r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
	}
}

// Renew renews the leases of every share of every object reachable from
// roots (cap strings) on every server. leaseSecret is the client's lease
// secret (Tahoe's private/secret). Problems with objects and servers are
// counted in the report; the error is ctx's.
func Renew(ctx context.Context, servers []storage.Server, dirs walk.Lister, roots []string, leaseSecret []byte, opts Options) (Report, error) {
	start := time.Now()
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	rep := Report{Roots: len(roots)}
	var mu sync.Mutex // guards rep and done
	done := map[string]bool{}
	for i, s := range roots {
		root, err := cap.Parse(s)
		if err != nil {
			rep.BadRoots++
			rep.problem("root %d: %v", i+1, err)
			continue
		}
		err = walk.Walk(ctx, dirs, root, func(path []string, c cap.Cap, listErr error) error {
			si, hasSI := c.StorageIndex()
			mu.Lock()
			if listErr != nil {
				rep.UnreadableDirs++
				rep.problem("%s: cannot read directory: %v", pathName(path), listErr)
			}
			key := "cap:" + c.String()
			if hasSI {
				key = "si:" + si.String()
			}
			if done[key] {
				mu.Unlock()
				return nil
			}
			done[key] = true
			rep.Objects++
			if hasSI {
				rep.StorageIndexes++
			}
			mu.Unlock()
			if !hasSI {
				return nil
			}
			res := renewOne(ctx, servers, si, leaseSecret, timeout)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			mu.Lock()
			defer mu.Unlock()
			rep.Renewed += res.renewed
			rep.NotHeld += res.notHeld
			rep.Failed += len(res.errs)
			for _, e := range res.errs {
				rep.problem("%s (%s): %v", pathName(path), si, e)
			}
			if res.renewed == 0 {
				rep.Missing++
				rep.problem("%s (%s): no lease renewed: no reachable server holds a share", pathName(path), si)
			}
			return nil
		}, walk.Options{Concurrency: opts.Concurrency})
		if err != nil {
			rep.Took = time.Since(start)
			return rep, err
		}
	}
	rep.Took = time.Since(start)
	return rep, nil
}

func pathName(path []string) string {
	if len(path) == 0 {
		return "'<root>'"
	}
	s := "'"
	for i, p := range path {
		if i > 0 {
			s += "/"
		}
		s += p
	}
	return s + "'"
}

type oneResult struct {
	renewed, notHeld int
	errs             []error
}

// renewOne adds a lease on si to every server, in parallel.
func renewOne(ctx context.Context, servers []storage.Server, si storage.SI, secret []byte, timeout time.Duration) oneResult {
	var mu sync.Mutex // guards out
	var out oneResult
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			err := srv.AddLease(cctx, si, immutable.LeaseSecrets(secret, si, srv.Info()))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				out.renewed++
			case errors.Is(err, storage.ErrNotFound):
				out.notHeld++
			default:
				out.errs = append(out.errs, fmt.Errorf("server %s: %w", srv.Info().Nickname, err))
			}
		})
	}
	wg.Wait()
	return out
}

// DefaultInterval is how often a Renewer renews: weekly, so a 31-day lease
// survives three missed or failed runs.
const DefaultInterval = 7 * 24 * time.Hour

// DefaultFirstDelay is how long after start the first renewal runs: soon,
// but not in the way of the node coming up.
const DefaultFirstDelay = time.Minute

// Renewer renews leases periodically.
type Renewer struct {
	Servers []storage.Server
	// ServersNow, if set, is asked for the servers at every run instead
	// (a running node's servers come and go).
	ServersNow func() []storage.Server
	Lister     walk.Lister
	// Roots returns the root caps to renew from (read at every run, so
	// new aliases are picked up).
	Roots       func() ([]string, error)
	LeaseSecret []byte
	Options     Options
	// Interval between runs (default DefaultInterval); FirstDelay before
	// the first (default DefaultFirstDelay).
	Interval, FirstDelay time.Duration
	// StateFile, if set, keeps the time of the last complete run, so that
	// a restart does not renew again before Interval has passed since it:
	// every start of a node used to walk the whole tree and touch every
	// share on every server FirstDelay in, in the way of a first sync
	// (with fsync on every server, a 10,000-file sync spent about a fifth
	// of its CPU on it). With no file yet (a new node: its shares' leases
	// are as fresh as their uploads) the first run is an Interval away.
	StateFile string
	// Logger gets one summary line per run (default: discard).
	Logger *slog.Logger
	// OnReport, if set, gets each run's report (tests, status pages).
	OnReport func(Report)
}

// Run renews leases after FirstDelay and then every Interval until ctx is
// done. Runs never overlap: each is bounded by the interval.
func (r *Renewer) Run(ctx context.Context) error {
	interval, first := r.Interval, r.FirstDelay
	if interval <= 0 {
		interval = DefaultInterval
	}
	if first <= 0 {
		first = DefaultFirstDelay
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTimer(r.firstDelay(first, interval, time.Now(), log))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if r.once(ctx, interval, log) && r.StateFile != "" {
			if err := atomicfile.Write(r.StateFile, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
				log.Warn("lease renewal: cannot record the run; the next start renews again", "err", err)
			}
		}
		t.Reset(interval)
	}
}

// firstDelay is how long until the first run: first, or later when
// StateFile says the last complete run was less than interval ago; with
// no StateFile yet, interval (the file is made now).
func (r *Renewer) firstDelay(first, interval time.Duration, now time.Time, log *slog.Logger) time.Duration {
	if r.StateFile == "" {
		return first
	}
	b, err := os.ReadFile(r.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		if err := atomicfile.Write(r.StateFile, []byte(now.UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
			log.Warn("lease renewal: cannot record the start; renewing soon", "err", err)
			return first
		}
		return interval
	}
	last, perr := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	if err != nil || perr != nil {
		return first // unreadable: renew soon rather than never
	}
	return max(last.Add(interval).Sub(now), first)
}

// once is one run; it reports whether the run went through the whole
// tree (some leases may have failed; the report says which).
func (r *Renewer) once(ctx context.Context, bound time.Duration, log *slog.Logger) bool {
	roots, err := r.Roots()
	if err != nil {
		log.Warn("lease renewal: cannot read the root caps", "err", err)
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	servers := r.Servers
	if r.ServersNow != nil {
		servers = r.ServersNow()
	}
	rep, err := Renew(rctx, servers, r.Lister, roots, r.LeaseSecret, r.Options)
	switch {
	case err != nil && ctx.Err() != nil:
		return false // stopping
	case err != nil:
		log.Warn("lease renewal stopped early", "err", err, "summary", rep.String())
	case rep.OK():
		log.Info(rep.String())
	default:
		log.Warn(rep.String(), "problems", rep.Errors)
	}
	if r.OnReport != nil {
		r.OnReport(rep)
	}
	// A run that went through the whole tree counts even if some servers
	// failed (an offline one is common on a real grid): they are in the
	// log, and the weekly run tries them again; not counting it would
	// renew everything again at every start.
	return err == nil
}
