package mutable

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
)

// ErrChangedWhileReading means a read (or check) kept losing the race to
// writers: each time the servers were mapped, the shares of the version
// chosen were replaced by a newer version before they could be fetched,
// as many times as the reader retries. Nothing is damaged: reading again
// later (when the writers pause) succeeds. The error also matches
// storage.ErrNotEnoughShares (at the last try too few shares of one
// version could be read), and never storage.ErrCorruptShare unless some
// share was also found corrupt.
var ErrChangedWhileReading = errors.New("the file changed while it was being read, every time it was tried: too many concurrent writers; try again when they pause")

// errShareChanged marks a share that failed its checks because a writer
// replaced it after the servers were mapped (its checkstring is no longer
// the one mapped): not corrupt, so not reported to its server as such.
var errShareChanged = errors.New("share changed since the servers were mapped (a writer replaced it)")

// errMidPublish marks a map that found several versions and none with k
// shares, different from the map before: writers are in the middle of
// publishing, and a map a moment later finds a recoverable version.
var errMidPublish = errors.New("writers are publishing: several versions on the servers, none complete yet")

// lostRace reports whether err is a read that lost a race to writers.
func lostRace(err error) bool {
	return errors.Is(err, errShareChanged) || errors.Is(err, errMidPublish)
}

// versionsSeen sums up the shares a map found (server, share number and
// version of each), to tell a grid mid-publish (it differs from one map
// to the next) from one left torn (it stays the same).
func (m *servermap) versionsSeen() string {
	vs := make([]string, 0, len(m.shares))
	for _, s := range m.shares {
		vs = append(vs, fmt.Sprintf("%d/%d:%d-%x", s.srv, s.shnum, s.p.Seqnum, s.p.Root[:8]))
	}
	sort.Strings(vs)
	return strings.Join(vs, " ")
}

// racePolicy bounds how long a reader keeps trying while writers replace
// the shares it is reading: at most attempts reads, a pause between them
// growing from first to max (each jittered to between half and all of it,
// so racing readers spread out), and no new attempt once budget has
// passed since the first.
type racePolicy struct {
	attempts   int
	first, max time.Duration
	budget     time.Duration
}

// defaultRace lets a read outlast a burst of writes to the same file (a
// directory several devices commit into at once): up to about 2 s of
// pauses over 10 reads, and never more than 15 s in all.
var defaultRace = racePolicy{attempts: 10, first: 10 * time.Millisecond, max: 500 * time.Millisecond, budget: 15 * time.Second}

// raceRetry runs try until it succeeds, fails for another reason than
// losing a race to writers (lostRace), or the policy runs out; the
// last then fails with ErrChangedWhileReading wrapping try's last error.
func (f *File) raceRetry(ctx context.Context, try func() error) error {
	p := f.race
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil || !lostRace(err) {
			return err
		}
		d := min(p.first<<min(attempt-1, 30), p.max)
		if d > 0 {
			d = d/2 + rand.N(d/2+1)
		}
		spent := time.Since(start)
		if attempt >= p.attempts || spent+d > p.budget {
			return fmt.Errorf("%w (%d tries in %v): %w", ErrChangedWhileReading, attempt, spent.Round(time.Millisecond), err)
		}
		f.opts.Logger.Debug("mutable: file changed while reading; trying again", "file", f, "attempt", attempt, "pause", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// recheck is called for a share of a mapped version that failed a check
// with cause: if the share no longer holds the checkstring it was mapped
// with (a writer replaced it in between, or is writing it now), the
// failure says nothing about the share's health and recheck returns an
// errShareChanged error instead. Otherwise (the same version is still
// there, or the server cannot say) cause stands. It costs one small read,
// and only for shares that failed.
func (f *File) recheck(ctx context.Context, s mapShare, cause error) error {
	if !errors.Is(cause, storage.ErrCorruptShare) {
		return cause
	}
	want := s.p.checkstring()
	cctx, cancel := f.call(ctx)
	defer cancel()
	now, err := f.servers[s.srv].ReadMutableShare(cctx, f.si, s.shnum, 0, uint64(len(want)))
	if err != nil || bytes.Equal(now, want) {
		return cause
	}
	switch {
	case len(now) == 0:
		return fmt.Errorf("%w: it is gone (mapped at seqnum %d)", errShareChanged, s.p.Seqnum)
	case len(now) >= 9:
		return fmt.Errorf("%w: seqnum %d now, %d when mapped", errShareChanged, binary.BigEndian.Uint64(now[1:9]), s.p.Seqnum)
	}
	return fmt.Errorf("%w (mapped at seqnum %d)", errShareChanged, s.p.Seqnum)
}

// changedShare names a share that changed under the reader, as
// corruptShare names a corrupt one.
func changedShare(srv storage.Server, shnum int, err error) error {
	return fmt.Errorf("share %d on %s: %w", shnum, srv.Info().Nickname, err)
}
