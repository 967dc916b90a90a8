package deepcheck

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/walk"
)

// Checker holds what a deep check needs.
type Checker struct {
	Imm  *immutable.Client
	Dirs *dirnode.Client
	// Lister lists directories (default walk.Grid{Dirs, Imm}).
	Lister walk.Lister
	// Verify reads and checks every block of every share.
	Verify bool
	// Repair restores unhealthy, recoverable objects.
	Repair bool
	// Concurrency bounds the objects checked at once (default
	// walk.DefaultConcurrency).
	Concurrency int
}

// Result is the outcome for one object. It holds no caps.
type Result struct {
	Path []string `json:"path"`
	Kind cap.Kind `json:"kind"`
	// StorageIndex is the base32 storage index.
	StorageIndex string `json:"storage_index"`
	Mutable      bool   `json:"mutable"`
	Healthy      bool   `json:"healthy"`
	Recoverable  bool   `json:"recoverable"`
	// Summary is the checker's one-line report (before any repair).
	Summary string `json:"summary"`
	// Error is set when the object could not be checked, or a directory
	// could not be listed.
	Error string `json:"error,omitempty"`
	// ListError is set when a directory could not be read: what lies
	// below it was not checked.
	ListError        string `json:"list_error,omitempty"`
	RepairAttempted  bool   `json:"repair_attempted"`
	RepairSuccessful bool   `json:"repair_successful"`
	// NotRepairable says why no repair was attempted although one was
	// asked for and the object is unhealthy.
	NotRepairable string `json:"not_repairable,omitempty"`
	RepairError   string `json:"repair_error,omitempty"`
	// PostHealthy is the health after repair (Healthy if none was tried).
	PostHealthy bool `json:"post_repair_healthy"`
}

// Name is the path for people: '<root>' or 'a/b/c'.
func (r *Result) Name() string {
	if len(r.Path) == 0 {
		return "'<root>'"
	}
	return "'" + strings.Join(r.Path, "/") + "'"
}

// Report is the whole deep check.
type Report struct {
	// Results are sorted by path.
	Results []Result `json:"results"`
	// Checked counts objects with shares (LIT objects are not counted).
	Checked       int `json:"count-objects-checked"`
	Healthy       int `json:"count-objects-healthy-pre-repair"`
	Unhealthy     int `json:"count-objects-unhealthy-pre-repair"`
	Unrecoverable int `json:"count-objects-unrecoverable-pre-repair"`
	// Repaired (Tahoe's counters, meaningful with Repair).
	RepairsAttempted  int `json:"count-repairs-attempted"`
	RepairsSuccessful int `json:"count-repairs-successful"`
	RepairsFailed     int `json:"count-repairs-unsuccessful"`
	// NotRepairable counts unhealthy objects no repair could be tried on
	// (mutable objects reached only through read caps, unrecoverable ones).
	NotRepairable   int `json:"count-objects-not-repairable"`
	HealthyAfter    int `json:"count-objects-healthy-post-repair"`
	UnhealthyAfter  int `json:"count-objects-unhealthy-post-repair"`
	UnreadableDirs  int `json:"count-directories-unreadable"`
	SkippedUnknown  int `json:"count-objects-unknown"`
	repairRequested bool
}

// OK reports whether everything reached is healthy (after repair, if
// asked) and every directory could be read.
func (r *Report) OK() bool { return r.UnhealthyAfter == 0 && r.UnreadableDirs == 0 }

// Summary is Tahoe's closing lines.
func (r *Report) Summary() string {
	var b strings.Builder
	if !r.repairRequested {
		fmt.Fprintf(&b, "done: %d objects checked, %d healthy, %d unhealthy\n", r.Checked, r.Healthy, r.Unhealthy)
	} else {
		fmt.Fprintf(&b, "done: %d objects checked\n", r.Checked)
		fmt.Fprintf(&b, " pre-repair: %d healthy, %d unhealthy\n", r.Healthy, r.Unhealthy)
		fmt.Fprintf(&b, " %d repairs attempted, %d successful, %d failed\n", r.RepairsAttempted, r.RepairsSuccessful, r.RepairsFailed)
		fmt.Fprintf(&b, " post-repair: %d healthy, %d unhealthy\n", r.HealthyAfter, r.UnhealthyAfter)
		if r.NotRepairable > 0 {
			fmt.Fprintf(&b, " %d unhealthy objects could not be repaired (unrecoverable, or mutable and reached only through a read-only cap)\n", r.NotRepairable)
		}
	}
	if r.Unrecoverable > 0 {
		fmt.Fprintf(&b, " %d objects unrecoverable\n", r.Unrecoverable)
	}
	if r.UnreadableDirs > 0 {
		fmt.Fprintf(&b, " %d directories could not be read: what lies below them was not checked\n", r.UnreadableDirs)
	}
	return b.String()
}

// Run checks root and everything reachable from it. Problems with
// objects are in the report; the error is for ctx and the walk itself.
func (c *Checker) Run(ctx context.Context, root cap.Cap) (*Report, error) {
	lister := c.Lister
	if lister == nil {
		lister = walk.Grid{Dirs: c.Dirs, Imm: c.Imm}
	}
	rep := &Report{repairRequested: c.Repair}
	var mu sync.Mutex // guards rep
	err := walk.Walk(ctx, lister, root, func(path []string, obj cap.Cap, listErr error) error {
		if _, ok := obj.(*cap.Unknown); ok {
			mu.Lock()
			rep.SkippedUnknown++
			mu.Unlock()
			return nil
		}
		if _, ok := obj.StorageIndex(); !ok && listErr == nil {
			return nil // LIT: nothing stored, always healthy
		}
		r := c.checkOne(ctx, obj)
		r.Path = slices.Clone(path)
		if listErr != nil {
			r.ListError = listErr.Error()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		mu.Lock()
		rep.add(r)
		mu.Unlock()
		return nil
	}, walk.Options{Concurrency: c.Concurrency})
	slices.SortFunc(rep.Results, func(a, b Result) int { return slices.Compare(a.Path, b.Path) })
	return rep, err
}

func (r *Report) add(x Result) {
	if x.ListError != "" {
		r.UnreadableDirs++
	}
	if x.StorageIndex == "" {
		// An unreadable LIT directory: nothing stored to count, only the
		// read error.
		r.Results = append(r.Results, x)
		return
	}
	r.Checked++
	if x.Healthy {
		r.Healthy++
	} else {
		r.Unhealthy++
	}
	if !x.Recoverable {
		r.Unrecoverable++
	}
	if x.RepairAttempted {
		r.RepairsAttempted++
		if x.RepairSuccessful {
			r.RepairsSuccessful++
		} else {
			r.RepairsFailed++
		}
	}
	if x.NotRepairable != "" {
		r.NotRepairable++
	}
	if x.PostHealthy {
		r.HealthyAfter++
	} else {
		r.UnhealthyAfter++
	}
	r.Results = append(r.Results, x)
}

// checkOne checks (and repairs, if asked) one object.
func (c *Checker) checkOne(ctx context.Context, obj cap.Cap) Result {
	r := Result{Kind: obj.Kind(), Mutable: obj.IsMutable()}
	si, ok := obj.StorageIndex()
	if !ok {
		r.Healthy, r.Recoverable, r.PostHealthy = true, true, true
		return r
	}
	r.StorageIndex = si.String()
	if obj.IsMutable() {
		c.checkMutable(ctx, obj, &r)
	} else {
		c.checkImmutable(ctx, obj, &r)
	}
	return r
}

func (c *Checker) checkImmutable(ctx context.Context, obj cap.Cap, r *Result) {
	res, err := c.Imm.Check(ctx, obj, c.Verify)
	if err != nil {
		r.Error, r.Summary = err.Error(), "check failed: "+err.Error()
		return
	}
	r.Healthy, r.Recoverable, r.Summary, r.PostHealthy = res.Healthy, res.Recoverable, res.Summary(), res.Healthy
	if !c.Repair || res.Healthy {
		return
	}
	if !res.Recoverable {
		r.NotRepairable = "not recoverable: fewer than k good shares"
		return
	}
	r.RepairAttempted = true
	rr, err := c.Imm.Repair(ctx, obj, c.Verify)
	if err != nil {
		r.RepairError = err.Error()
		return
	}
	r.RepairSuccessful = rr.After != nil && rr.After.Healthy
	r.PostHealthy = r.RepairSuccessful
	if !r.RepairSuccessful && rr.After != nil {
		r.RepairError = "still unhealthy after repair: " + rr.After.Summary()
	}
}

func (c *Checker) checkMutable(ctx context.Context, obj cap.Cap, r *Result) {
	fc := obj
	if d, ok := obj.(*cap.Dir); ok {
		fc = d.File
	}
	if fc.ReadOnly() == nil {
		r.Error = "a mutable verify cap cannot be checked in this version"
		r.Summary = "check failed: " + r.Error
		return
	}
	f, err := mutable.Open(fc.String(), c.Dirs.Servers, c.Dirs.Options)
	if err != nil {
		r.Error, r.Summary = err.Error(), "check failed: "+err.Error()
		return
	}
	res, err := f.Check(ctx, c.Verify)
	if errors.Is(err, mutable.ErrNotFound) {
		r.Summary = "NOT RECOVERABLE: no shares found"
		if c.Repair {
			r.NotRepairable = "not recoverable: no shares found"
		}
		return
	}
	if err != nil {
		r.Error, r.Summary = err.Error(), "check failed: "+err.Error()
		return
	}
	r.Healthy, r.Recoverable, r.Summary, r.PostHealthy = res.Healthy, res.Recoverable, res.Summary(), res.Healthy
	if !c.Repair || res.Healthy {
		return
	}
	switch {
	case !res.Recoverable:
		r.NotRepairable = "not recoverable: no version has k good shares"
		return
	case f.WriteCap() == "":
		r.NotRepairable = "mutable, reached through a read-only cap: repair needs the write cap"
		return
	}
	r.RepairAttempted = true
	rr, err := f.Repair(ctx, c.Verify)
	if err != nil {
		r.RepairError = err.Error()
		return
	}
	r.RepairSuccessful = rr.After != nil && rr.After.Healthy
	r.PostHealthy = r.RepairSuccessful
	if !r.RepairSuccessful && rr.After != nil {
		r.RepairError = "still unhealthy after repair: " + rr.After.Summary()
	}
}
