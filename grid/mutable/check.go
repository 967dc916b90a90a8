package mutable

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/lafssync/lafssync/grid/storage"
)

// BadShare is a share that failed a check, named by server and number.
type BadShare struct {
	Server string
	Share  int
	Reason string
}

// CheckResult reports the health of a mutable file (Tahoe's mutable
// checker: the servermap's view of the newest recoverable version).
type CheckResult struct {
	// Version is the newest recoverable version (zero if none).
	Version Version
	// Shares maps each share number of Version found to the servers
	// holding it.
	Shares map[int][]string
	Needed int
	Total  int
	// Versions counts the distinct versions seen on the servers, newest
	// or not, recoverable or not.
	Versions    int
	Recoverable bool
	// Healthy: every share of the newest version present (and, when
	// verified, intact), no other version left on the grid, no share
	// rejected.
	Healthy bool
	// Bad lists shares that were rejected (bad signature, hash tree…).
	Bad []BadShare
	// Verified is true when every block of every share of Version was
	// read and checked.
	Verified bool
}

// Summary is one line for people.
func (r *CheckResult) Summary() string {
	state := "healthy"
	switch {
	case !r.Recoverable:
		state = "NOT RECOVERABLE"
	case !r.Healthy:
		state = "unhealthy"
	}
	return fmt.Sprintf("%s: %d of %d shares of the newest version present (need %d), %d versions on the grid; %d bad",
		state, len(r.Shares), r.Total, r.Needed, r.Versions, len(r.Bad))
}

// verifyBatch bounds the block bytes a verify reads from one share at once.
const verifyBatch = 4 << 20

// Check maps every server's shares of the file and reports the health of
// its newest recoverable version; with verify it also reads and checks
// every block of every share of that version (bad shares are reported to
// their servers). A share that fails because a writer replaced it while
// it was verified is not bad: the check starts again (as a read does),
// and fails with ErrChangedWhileReading if writers keep winning.
func (f *File) Check(ctx context.Context, verify bool) (*CheckResult, error) {
	var res *CheckResult
	var seen string // the shares the last map found
	err := f.raceRetry(ctx, func() (err error) {
		res, err = f.checkOnce(ctx, verify, &seen)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", f, err)
	}
	return res, nil
}

// checkOnce is one pass of Check; it fails with errShareChanged if a
// share of the newest version changed while it was verified, and then
// reports nothing to the servers, and with errMidPublish for a map that
// catches writers mid-publish (as readOnce).
func (f *File) checkOnce(ctx context.Context, verify bool, seen *string) (*CheckResult, error) {
	m, err := f.mapServers(ctx)
	if err != nil {
		return nil, err
	}
	now := m.versionsSeen()
	if m.newest() == nil && len(m.versions) > 1 && now != *seen {
		*seen = now
		return nil, fmt.Errorf("%w: %d versions, none with k shares", errMidPublish, len(m.versions))
	}
	*seen = now
	res := &CheckResult{Shares: map[int][]string{}, Versions: len(m.versions), Verified: verify}
	for _, p := range m.problems {
		var ce *storage.CorruptShareError
		if errors.As(p, &ce) {
			res.Bad = append(res.Bad, BadShare{Server: ce.Server, Share: ce.Share, Reason: ce.Reason})
		}
	}
	v := m.newest()
	if v == nil {
		if len(m.shares) == 0 && len(m.problems) == 0 {
			return nil, ErrNotFound
		}
		for _, s := range m.shares {
			res.Needed, res.Total = max(res.Needed, s.p.K), max(res.Total, s.p.N)
		}
		return res, nil
	}
	res.Version, res.Needed, res.Total, res.Recoverable = v.id(), v.h.K, v.h.N, true
	type advice struct {
		s      mapShare
		reason string
	}
	var advise []advice // corrupt shares, reported once the pass is known to count
	var changed []error
	for _, s := range v.shares {
		srv := f.servers[s.srv]
		if verify {
			if err := f.verifyShare(ctx, v, s); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if err = f.recheck(ctx, s, err); errors.Is(err, errShareChanged) {
					changed = append(changed, changedShare(srv, s.shnum, err))
					continue
				}
				res.Bad = append(res.Bad, BadShare{Server: srv.Info().Nickname, Share: s.shnum, Reason: err.Error()})
				if errors.Is(err, storage.ErrCorruptShare) {
					advise = append(advise, advice{s, err.Error()})
				}
				continue
			}
		}
		res.Shares[s.shnum] = append(res.Shares[s.shnum], srv.Info().ID)
	}
	if len(changed) > 0 {
		return nil, fmt.Errorf("%v: %d shares changed while verified: %w", v.id(), len(changed), errors.Join(changed...))
	}
	for _, a := range advise {
		actx, cancel := f.call(context.WithoutCancel(ctx))
		_ = f.servers[a.s.srv].AdviseCorrupt(actx, storage.Mutable, f.si, a.s.shnum, a.reason)
		cancel()
	}
	good := len(res.Shares)
	res.Recoverable = good >= res.Needed
	res.Healthy = res.Recoverable && good == res.Total && res.Versions == 1 && len(res.Bad) == 0
	sort.Slice(res.Bad, func(i, j int) bool { return res.Bad[i].Share < res.Bad[j].Share })
	return res, nil
}

// verifyShare reads every block of one share, in batches, checking each
// against the share's block hash tree and the tree against the signed root.
func (f *File) verifyShare(ctx context.Context, v *version, s mapShare) error {
	h := s.p.header
	if h.numSegs == 0 {
		_, err := f.fetchShare(ctx, v, s, 0, 0)
		return err
	}
	per := 1
	if blk := h.SegSize / uint64(max(h.K, 1)); blk > 0 {
		per = max(1, int(verifyBatch/blk))
	}
	for first := 0; first < h.numSegs; first += per {
		if _, err := f.fetchShare(ctx, v, s, first, min(first+per, h.numSegs)-1); err != nil {
			return err
		}
	}
	return nil
}

// RepairResult reports what a repair did.
type RepairResult struct {
	Before, After *CheckResult
	// Republished is the version written, zero if nothing was written.
	Republished Version
}

// ErrRepairNeedsWriteCap means an unhealthy file was opened with its read
// cap: repairing a mutable file means publishing it again, which only a
// holder of the write cap (the signing key) can do.
var ErrRepairNeedsWriteCap = errors.New("repairing a mutable file needs its write cap")

// Repair checks the file and, if it is unhealthy but recoverable,
// publishes the newest version's contents again as the next version (as
// Tahoe's mutable repairer does), so every share is written anew and the
// older versions are superseded. It needs the write cap.
func (f *File) Repair(ctx context.Context, verify bool) (*RepairResult, error) {
	before, err := f.Check(ctx, verify)
	if err != nil {
		return nil, err
	}
	out := &RepairResult{Before: before, After: before}
	if before.Healthy {
		return out, nil
	}
	if !before.Recoverable {
		return out, fmt.Errorf("repair %s: not recoverable: %s", f, before.Summary())
	}
	if !f.rw {
		return out, fmt.Errorf("repair %s: %w", f, ErrRepairNeedsWriteCap)
	}
	// A republish leaves alone the servers holding shares newer than
	// what it read (they may be another writer's version in progress:
	// TestStaleWriterLeavesNewerSharesAlone) and then reports a conflict,
	// though it landed around them. Such shares of a version still
	// unrecoverable are left over from a writer that died or failed;
	// based on the version just written they are older, and one more
	// pass, on top of the newest, replaces them.
	for pass := 1; ; pass++ {
		data, ver, err := f.Read(ctx)
		if err != nil {
			return out, fmt.Errorf("repair %s: %w", f, err)
		}
		nv, err := f.Replace(ctx, data, ver)
		if err == nil {
			out.Republished = nv
			break
		}
		if !errors.Is(err, ErrUncoordinated) || pass == repairPasses {
			return out, fmt.Errorf("repair %s: %w", f, err)
		}
	}
	// Checked as deeply as before: a verifying repair reports a verified result.
	out.After, err = f.Check(ctx, verify)
	return out, err
}

// repairPasses bounds the republishes of one repair.
const repairPasses = 3
