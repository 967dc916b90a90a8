package folder

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/db"
)

type apiSkipped = api.Skipped

// progressState is the transfer in flight; guarded by Folder.mu.
type progressState struct {
	files     int
	total     int64
	start     time.Time
	doneFiles int64 // bytes of finished files
	current   map[string]*api.FileProgress
}

// maxListed bounds the conflicts and errors a status carries.
const maxListed = 200

func (f *Folder) setErr(p, msg, hint string) {
	f.mu.Lock()
	if _, ok := f.st.errors[p]; ok || len(f.st.errors) < maxListed {
		f.st.errors[p] = api.FileError{Path: p, Error: msg, Hint: hint, Time: f.clk.Now()}
		delete(f.st.errConds, p) // setErrWhile adds the new one's
	}
	e := f.st.errors[p]
	f.mu.Unlock()
	f.log.Warn("file not synced", "path", p, "err", msg)
	f.send(api.Event{Type: "error", Folder: f.cfg.Name, Error: &e})
}

func (f *Folder) clearErr(p string) {
	f.mu.Lock()
	delete(f.st.errors, p)
	delete(f.st.errConds, p)
	delete(f.st.ignoredEdit, p)
	f.mu.Unlock()
}

func (f *Folder) setFatal(msg string) {
	f.mu.Lock()
	changed := f.st.fatal != msg
	f.st.fatal = msg
	f.mu.Unlock()
	if changed && msg != "" {
		f.log.Error("folder stopped", "why", msg)
	}
}

func (f *Folder) addConflict(c api.Conflict) {
	f.mu.Lock()
	f.st.conflicts = append(f.st.conflicts, c)
	if len(f.st.conflicts) > maxListed {
		f.st.conflicts = f.st.conflicts[len(f.st.conflicts)-maxListed:]
	}
	f.mu.Unlock()
	f.send(api.Event{Type: "conflict", Folder: f.cfg.Name, Conflict: &c})
}

func (f *Folder) startProgress(files int, total int64) {
	f.mu.Lock()
	if f.st.progress == nil {
		f.st.progress = &progressState{start: f.clk.Now(), current: map[string]*api.FileProgress{}}
	}
	f.st.progress.files += files
	f.st.progress.total += total
	f.mu.Unlock()
	f.emit()
}

func (f *Folder) endProgress() {
	f.mu.Lock()
	f.st.progress = nil
	f.mu.Unlock()
}

func (f *Folder) fileProgress(p, dir string, done, total int64) {
	f.mu.Lock()
	if ps := f.st.progress; ps != nil {
		fp := ps.current[p]
		if fp == nil {
			fp = &api.FileProgress{Path: p, Direction: dir}
			ps.current[p] = fp
		}
		fp.DoneBytes, fp.TotalBytes = done, total
	}
	f.mu.Unlock()
}

func (f *Folder) fileDone(p string) {
	f.mu.Lock()
	if ps := f.st.progress; ps != nil {
		if fp := ps.current[p]; fp != nil {
			ps.doneFiles += fp.TotalBytes
			delete(ps.current, p)
		}
		ps.files--
	}
	f.mu.Unlock()
	f.emit()
}

// countFiles refreshes the folder's file and byte counts.
func (f *Folder) countFiles() {
	var n int
	var b int64
	_ = f.cfg.DB.View(func(tx *db.Tx) error {
		return tx.ForEach("", func(_ string, r db.Record) error {
			if !r.Gone {
				n++
				b += r.Size
			}
			return nil
		})
	})
	f.mu.Lock()
	f.st.files, f.st.bytes = n, b
	f.mu.Unlock()
}

// dropResolved forgets the conflicts whose copy is no longer on disk:
// the user resolved them (deleted the copy, or moved it over the file).
// It costs one Lstat per listed conflict (at most maxListed). Nothing is
// dropped while the folder's root cannot be read: an unmounted disk is
// not a resolution.
func (f *Folder) dropResolved() {
	f.mu.Lock()
	cs := slices.Clone(f.st.conflicts)
	f.mu.Unlock()
	if len(cs) == 0 {
		return
	}
	if fi, err := os.Stat(f.cfg.Root); err != nil || !fi.IsDir() {
		return
	}
	gone := map[string]bool{}
	for _, c := range cs {
		if _, err := os.Lstat(f.diskPath(c.Copy)); errors.Is(err, fs.ErrNotExist) {
			gone[c.Copy] = true
		}
	}
	if len(gone) == 0 {
		return
	}
	f.mu.Lock()
	f.st.conflicts = slices.DeleteFunc(f.st.conflicts, func(c api.Conflict) bool { return gone[c.Copy] })
	f.mu.Unlock()
	f.log.Info("conflicts resolved", "count", len(gone))
}

// refreshState recomputes the folder's state after a cycle (dropping
// resolved conflicts and errors) and tells subscribers.
func (f *Folder) refreshState() {
	f.dropResolved()
	f.dropResolvedErrors()
	pending := 0
	_ = f.cfg.DB.View(func(tx *db.Tx) error {
		return tx.Pending(func(string, db.Record) error { pending++; return nil })
	})
	f.mu.Lock()
	ro := f.cfg.Remote.ReadOnly()
	if ro {
		pending -= len(f.st.ignoredEdit)
	}
	st := &f.st
	switch {
	case st.fatal != "":
		st.state, st.detail = api.Error, st.fatal
	case !st.pausedUntil.IsZero() && st.pausedWhy != "":
		st.state, st.detail = api.Paused, st.pausedWhy
	case !st.pausedUntil.IsZero() && st.pausedUntil.Equal(forever):
		st.state, st.detail = api.Paused, "paused until you resume it"
	case !st.pausedUntil.IsZero():
		st.state, st.detail = api.Paused, "paused until "+st.pausedUntil.Local().Format("15:04")
	case st.offlineWhy != "" || (st.health.Known > 0 && !st.health.OK()):
		st.state = api.Offline
		st.detail = fmt.Sprintf("offline — %d of %d storage servers reachable (%d needed)", st.health.Reachable, st.health.Known, st.health.Happy)
		if st.health.Reachable == 0 {
			st.detail = "offline — no storage servers connected"
			if st.health.Known > 0 {
				st.detail = fmt.Sprintf("offline — none of the %d storage servers is reachable", st.health.Known)
			}
		}
		if st.offlineWhy != "" && st.health.OK() {
			st.detail = "offline — the grid did not answer: " + st.offlineWhy
		}
	case pending > len(st.errors):
		st.state, st.detail = api.Syncing, fmt.Sprintf("syncing: %d changes waiting", pending)
	case len(st.errors) > 0:
		st.state, st.detail = api.Error, fmt.Sprintf("%d files could not sync (see errors)", len(st.errors))
	default:
		st.state = api.UpToDate
		st.detail = "up to date"
		if !st.lastCheck.IsZero() {
			st.detail = "up to date, checked with the grid at " + st.lastCheck.Local().Format("15:04:05")
		}
	}
	f.mu.Unlock()
	f.emit()
}

// Status is the folder's status document.
func (f *Folder) Status() api.FolderStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := &f.st
	s := api.FolderStatus{
		Name: f.cfg.Name, Path: f.cfg.Root, Mode: "sync", State: st.state, Detail: st.detail,
		Files: st.files, Bytes: st.bytes, Watcher: st.watcher,
		Servers:   api.Servers{Reachable: st.health.Reachable, Known: st.health.Known, Happy: st.health.Happy},
		Conflicts: slices.Clone(st.conflicts), Skipped: slices.Clone(st.skipped),
		LocalChangesIgnored: len(st.ignoredEdit),
	}
	if f.cfg.Remote.ReadOnly() {
		s.Mode = "follow"
	}
	if s.Conflicts == nil {
		s.Conflicts = []api.Conflict{}
	}
	if s.Skipped == nil {
		s.Skipped = []api.Skipped{}
	}
	s.Errors = make([]api.FileError, 0, len(st.errors))
	for _, k := range slices.Sorted(maps.Keys(st.errors)) {
		s.Errors = append(s.Errors, st.errors[k])
	}
	if s.State == api.UpToDate && len(s.Errors) > 0 {
		// An error found since the cycle ended: never up to date with it.
		s.State, s.Detail = api.Error, fmt.Sprintf("%d files could not sync (see errors)", len(s.Errors))
	}
	if s.State == api.Starting && st.activity != "" {
		s.Detail = st.activity
		if st.shownSyncing {
			s.State = api.Syncing
		}
	}
	if st.uploading != "" && st.progress == nil {
		s.State, s.Detail = api.Syncing, st.uploading
	}
	if st.watchMsg != "" && s.State == api.UpToDate {
		s.Detail += "; " + st.watchMsg
	}
	if !st.pausedUntil.IsZero() && !st.pausedUntil.Equal(forever) {
		t := st.pausedUntil
		s.PausedUntil = &t
	}
	if !st.lastCheck.IsZero() {
		t := st.lastCheck
		s.LastCheck = &t
	}
	if ps := st.progress; ps != nil {
		p := &api.Progress{Files: ps.files, TotalBytes: ps.total}
		done := ps.doneFiles
		for _, fp := range ps.current {
			done += fp.DoneBytes
			p.Current = append(p.Current, *fp)
		}
		sort.Slice(p.Current, func(i, j int) bool { return p.Current[i].Path < p.Current[j].Path })
		p.DoneBytes = done
		if el := f.clk.Now().Sub(ps.start).Seconds(); el > 0.5 && done > 0 {
			rate := float64(done) / el
			p.ETASeconds = float64(ps.total-done) / rate
			for i := range p.Current {
				c := &p.Current[i]
				c.ETASeconds = float64(c.TotalBytes-c.DoneBytes) / rate
			}
		}
		s.Progress = p
		s.State = api.Syncing
		s.Detail = fmt.Sprintf("syncing %d files, %s of %s", ps.files, humanBytes(done), humanBytes(ps.total))
		if p.ETASeconds > 0 {
			s.Detail += fmt.Sprintf(", about %s left", (time.Duration(p.ETASeconds) * time.Second).Round(time.Second))
		}
	}
	return s
}

// setActivity says what the first cycle is doing (the Starting state's
// detail); it tells subscribers only while the folder is starting, so
// later cycles cost nothing.
func (f *Folder) setActivity(a string) {
	f.mu.Lock()
	starting := f.st.state == api.Starting
	changed := f.st.activity != a
	f.st.activity = a
	f.mu.Unlock()
	if starting && changed {
		f.emit()
	}
}

// setUploading sets the detail shown while upload chunks commit ("": none).
func (f *Folder) setUploading(u string) {
	f.mu.Lock()
	f.st.uploading = u
	f.st.shownSyncing = f.st.shownSyncing || u != ""
	f.mu.Unlock()
	if u != "" {
		f.emit()
	}
}

// emit tells the subscriber the new status.
func (f *Folder) emit() {
	if f.cfg.OnEvent == nil {
		return
	}
	s := f.Status()
	f.send(api.Event{Type: "status", Folder: f.cfg.Name, Status: &s})
}

func (f *Folder) send(e api.Event) {
	if f.cfg.OnEvent != nil {
		f.cfg.OnEvent(e)
	}
}
