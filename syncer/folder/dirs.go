package folder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/lafssync/lafssync/syncer/db"
	"github.com/lafssync/lafssync/syncer/remote"
)

// The directory pass (docs/sync-format.md, "Directories, empty ones
// included"): directories sync by presence. A mark in the database (meta
// key dirMarkPrefix+path) says "this directory existed here and on the
// grid when last synced"; it is the directory's base, as a synced version
// vector is a file's.
const dirMarkPrefix = "dir:"

// dirsKnownKey is the db meta key of Folder.dirsKnown.
const dirsKnownKey = "dirs-known"

// lookupDir says whether the grid has a directory at p, and whether the
// cycle knows (p's parent, or an ancestor lacking the next step, was
// listed). A listing of p itself proves nothing: a journal directory that
// is gone is listed empty.
func (v *view) lookupDir(p string) (exists, known bool) {
	dir, name := splitPath(p)
	if ents, ok := v.listed[dir]; ok {
		e := ents[name]
		return e != nil && e.Dir, true
	}
	_, known = v.lookup(p) // nil entry; known when an ancestor is missing
	return false, known
}

// noteDirs makes the directories a scan saw, and the marked directories
// in its scope (roots; nil: the whole folder), candidates of the next
// directory pass.
func (f *Folder) noteDirs(dirs []string, roots []string) {
	for _, d := range dirs {
		f.dirCand[d] = true
	}
	_ = f.cfg.DB.View(func(tx *db.Tx) error {
		if roots == nil {
			return tx.ForEachMeta(dirMarkPrefix, func(k string, _ []byte) error {
				f.dirCand[strings.TrimPrefix(k, dirMarkPrefix)] = true
				return nil
			})
		}
		for _, r := range roots {
			r = strings.Trim(r, "/")
			if r == "" || r == "." {
				return tx.ForEachMeta(dirMarkPrefix, func(k string, _ []byte) error {
					f.dirCand[strings.TrimPrefix(k, dirMarkPrefix)] = true
					return nil
				})
			}
			if ok, _ := tx.GetMeta(dirMarkPrefix + r); ok != nil {
				f.dirCand[r] = true
			}
			if err := tx.ForEachMeta(dirMarkPrefix+r+"/", func(k string, _ []byte) error {
				f.dirCand[strings.TrimPrefix(k, dirMarkPrefix)] = true
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// dirIgnored says whether directory d is out of the folder's sync: it or
// a directory above it is ignored, its name cannot be synced, or it is
// the engine's own entry.
func (f *Folder) dirIgnored(d string) bool {
	if d == "" || d == remote.StateName || f.ign == nil {
		return d == "" || d == remote.StateName
	}
	if f.ign.BadName(d) != "" {
		return true
	}
	for i := 0; i <= len(d); i++ {
		if i == len(d) || d[i] == '/' {
			if f.ign.Ignored(d[:i], true) {
				return true
			}
		}
	}
	return false
}

// localDir says whether the folder has a real directory at d, reached
// through real directories (no link on the way: a directory made or
// removed through one would be outside the folder).
func (f *Folder) localDir(d string) bool {
	for {
		fi, err := os.Lstat(f.diskPath(d))
		if err != nil || !fi.IsDir() {
			return false
		}
		if d, _ = splitPath(d); d == "" {
			return true
		}
	}
}

// exists says whether anything is at folder path p.
func (f *Folder) exists(p string) bool {
	_, err := os.Lstat(f.diskPath(p))
	return err == nil
}

// notEmpty says whether err is os.Remove's refusal of a directory that
// holds something.
func notEmpty(err error) bool {
	return errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) || errors.Is(err, fs.ErrExist)
}

// syncDirs is the cycle's directory pass, after its file actions. It
// says whether work is left to retry.
func (f *Folder) syncDirs(ctx context.Context, v *view) (retry bool) {
	if len(f.dirCand) == 0 && len(v.listed) == 0 {
		// An idle poll: nothing to look at (not even the marks read).
		clear(f.dirsLinked)
		return false
	}
	marks := map[string]bool{}
	if err := f.cfg.DB.View(func(tx *db.Tx) error {
		return tx.ForEachMeta(dirMarkPrefix, func(k string, _ []byte) error {
			marks[strings.TrimPrefix(k, dirMarkPrefix)] = true
			return nil
		})
	}); err != nil {
		f.log.Warn("database", "err", err)
		return true
	}
	cands := map[string]bool{}
	for d := range f.dirCand {
		cands[d] = true
	}
	for dir, ents := range v.listed {
		if dir != "" {
			cands[dir] = true
		}
		for name, e := range ents {
			if e.Dir {
				cands[joinRel(dir, name)] = true
			}
		}
	}
	for d := range marks {
		if _, known := v.lookupDir(d); known {
			cands[d] = true
		}
	}
	if len(cands) == 0 {
		clear(f.dirsLinked)
		return false
	}
	ro := f.cfg.Remote.ReadOnly()
	var setMark, dropMark, localMk, localRm, gridMk, gridRm []string
	for d := range cands {
		if f.dirIgnored(d) {
			continue
		}
		l, s := f.localDir(d), marks[d]
		g, known := v.lookupDir(d)
		if f.dirsLinked[d] {
			g, known = true, true // the cycle's view is older than this cycle's commit
		}
		switch {
		case l && g && !s:
			setMark = append(setMark, d)
		case l && !g && !s && !ro:
			gridMk = append(gridMk, d) // a new local directory (or the grid is not known)
		case l && !g && s && known:
			localRm = append(localRm, d) // the grid removed it
		case !l && g && !s:
			localMk = append(localMk, d) // new on the grid
		case !l && s && (g || !known) && !ro:
			gridRm = append(gridRm, d) // a local rmdir
		case !l && s && !g && known:
			dropMark = append(dropMark, d) // gone on both sides
		}
	}
	clear(f.dirCand)
	clear(f.dirsLinked)
	again := func(d string) { f.dirCand[d] = true; retry = true }
	later := func(d string) { f.dirCand[d] = true } // at the next cycle, no hurry

	// Local first: the grid's directories made here, parents first.
	sort.Strings(localMk)
	for _, d := range localMk {
		if parent, _ := splitPath(d); parent != "" && !f.localDir(parent) {
			if !f.exists(parent) {
				again(d) // its parent is not here yet (made next cycle)
			}
			continue // a file or a link where the parent should be
		}
		err := os.Mkdir(f.diskPath(d), 0o755)
		switch {
		case err == nil:
			f.log.Info("made a directory (made on the grid)", "path", d)
			setMark = append(setMark, d)
		case f.localDir(d):
			setMark = append(setMark, d)
		case errors.Is(err, fs.ErrExist):
			// A file of that name here: the file's own decision reports it.
		default:
			f.log.Info("could not make a directory made on the grid", "path", d, "err", err)
			again(d)
		}
	}
	// The directories the grid removed go here, deepest first, only if
	// empty: os.Remove never removes a directory that holds anything.
	sort.Sort(sort.Reverse(sort.StringSlice(localRm)))
	for _, d := range localRm {
		if !f.localDir(d) {
			continue // changed since it was decided; the next scan sees it
		}
		err := os.Remove(f.diskPath(d))
		switch {
		case err == nil || errors.Is(err, fs.ErrNotExist):
			f.log.Info("removed a directory (removed on the grid)", "path", d)
			dropMark = append(dropMark, d)
		case notEmpty(err):
			// Kept with what it holds, so the grid gets it again.
			if !ro {
				gridMk = append(gridMk, d)
			} else {
				dropMark = append(dropMark, d)
			}
		default:
			f.log.Info("could not remove a directory removed on the grid", "path", d, "err", err)
			again(d)
		}
	}
	f.saveMarks(setMark, dropMark)
	setMark, dropMark = nil, nil
	if n := len(gridRm) + len(gridMk); n > 0 {
		// The status says what the cycle does meanwhile (not the
		// Starting of a first cycle).
		f.setUploading(fmt.Sprintf("syncing: %d folder changes to send to the grid", n)) // cleared when the cycle ends
	}

	// Then the grid: deletes deepest first (a rm -r's file deletes are
	// committed already), one publish per parent.
	sort.Sort(sort.Reverse(sort.StringSlice(gridRm)))
	byParent := map[string][]string{}
	var parents []string
	for _, d := range gridRm {
		if f.hasRecordsUnder(d) {
			later(d) // its files' deletes are not committed yet
			continue
		}
		parent, name := splitPath(d)
		if _, known := v.lookupDir(d); !known {
			ents, err := f.cfg.Remote.List(ctx, parent)
			if errors.Is(err, remote.ErrNotFound) {
				dropMark = append(dropMark, d)
				continue
			}
			if err != nil {
				again(d)
				continue
			}
			if e := ents[name]; e == nil || !e.Dir {
				dropMark = append(dropMark, d)
				continue
			}
		}
		if byParent[parent] == nil {
			parents = append(parents, parent)
		}
		byParent[parent] = append(byParent[parent], d)
	}
	for _, parent := range parents {
		ds := byParent[parent]
		res, ok := f.commitEach(ctx, parent, ds, remote.Delete, again)
		if !ok {
			continue
		}
		for i, d := range ds {
			dropMark = append(dropMark, d)
			if i >= len(res) || !res[i].Applied {
				// Not empty on the grid: another device put something in
				// it. It comes back here with what it holds.
				f.relist[parent] = true
				retry = true
			} else {
				f.log.Info("removed a directory from the grid (removed here)", "path", d)
			}
		}
	}
	// Mkdirs parents first, one publish per parent.
	sort.Strings(gridMk)
	byParent, parents = map[string][]string{}, nil
	for _, d := range gridMk {
		parent, _ := splitPath(d)
		if byParent[parent] == nil {
			parents = append(parents, parent)
		}
		byParent[parent] = append(byParent[parent], d)
	}
	for _, parent := range parents {
		ds := byParent[parent]
		res, ok := f.commitEach(ctx, parent, ds, remote.Mkdir, again)
		if !ok {
			continue
		}
		for i, d := range ds {
			if i < len(res) && res[i].Applied {
				setMark = append(setMark, d)
				f.clearErr(d)
				continue
			}
			f.setErrWhile(d, "The grid has a file where this device has a folder of the same name.", "Rename one of them; until then this folder does not sync.",
				func() bool { return f.localDir(d) })
		}
	}
	f.saveMarks(setMark, dropMark)
	return retry
}

// commitEach commits one op of kind for each directory of ds, all in
// parent, in one publish (commitDirs); when that fails, each directory
// is handed to again, for the next cycle.
func (f *Folder) commitEach(ctx context.Context, parent string, ds []string, kind remote.OpKind, again func(string)) ([]remote.OpResult, bool) {
	ops := make([]remote.Op, len(ds))
	for i, d := range ds {
		_, name := splitPath(d)
		ops[i] = remote.Op{Kind: kind, Name: name}
	}
	res, ok := f.commitDirs(ctx, parent, ops)
	if !ok {
		for _, d := range ds {
			again(d)
		}
	}
	return res, ok
}

// commitDirs commits directory ops into parent with its write-ahead
// unannounced mark; ok is false when it must be tried again.
func (f *Folder) commitDirs(ctx context.Context, parent string, ops []remote.Op) ([]remote.OpResult, bool) {
	f.unannounced[parent] = true
	if err := f.cfg.DB.Update(f.putUnannounced); err != nil {
		f.log.Warn("database", "err", err)
		return nil, false
	}
	res, err := f.cfg.Remote.Commit(ctx, parent, ops, f.cfg.Retention)
	if err != nil {
		if errors.Is(err, remote.ErrDirGone) {
			f.relist[parent] = true
		}
		f.log.Info("commit directories", "dir", parent, "err", err)
		return nil, false
	}
	delete(f.unannounced, parent)
	f.update(f.putUnannounced)
	return res, true
}

// hasRecordsUnder says whether the database has a file record under d.
func (f *Folder) hasRecordsUnder(d string) bool {
	found := false
	errStop := errors.New("found")
	_ = f.cfg.DB.View(func(tx *db.Tx) error {
		err := tx.ForEach(d+"/", func(string, db.Record) error { found = true; return errStop })
		if errors.Is(err, errStop) {
			return nil
		}
		return err
	})
	return found
}

func (f *Folder) saveMarks(set, drop []string) {
	if len(set) == 0 && len(drop) == 0 {
		return
	}
	f.update(func(tx *db.Tx) error {
		for _, d := range set {
			if err := tx.PutMeta(dirMarkPrefix+d, []byte{1}); err != nil {
				return err
			}
		}
		for _, d := range drop {
			if err := tx.PutMeta(dirMarkPrefix+d, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// markDirs marks dir and its parents that are directories here as
// synced (a commit into dir just made them on the grid).
func (f *Folder) markDirs(tx *db.Tx, dir string) error {
	for d := dir; d != ""; d, _ = splitPath(d) {
		if f.dirIgnored(d) || !f.localDir(d) {
			continue
		}
		if err := tx.PutMeta(dirMarkPrefix+d, []byte{1}); err != nil {
			return err
		}
		f.dirsLinked[d] = true
	}
	return nil
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
