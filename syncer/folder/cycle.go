package folder

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/syncer/db"
	"github.com/lafssync/lafssync/syncer/ignore"
	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/scan"
	"github.com/lafssync/lafssync/syncer/vv"
)

// actKind is what a cycle does to one path.
type actKind int

const (
	actNone       actKind = iota
	actDownload           // the grid's version replaces the local file (which is the synced one, or absent)
	actConflict           // both changed: the local file becomes a conflict copy, the grid's version takes its name
	actDeleteHere         // the grid deleted exactly the local version: delete the local file
	actAdopt              // the local file already is the grid's version: record it as synced
	actPut                // upload the local file and link it
	actDelete             // unlink the grid entry (a local delete)
	actDrop               // forget the record (deleted on both sides)
	actIgnored            // a follower's local edit, not uploaded
)

// action is one decision of a cycle.
type action struct {
	kind  actKind
	path  string
	rec   db.Record
	had   bool
	entry *remote.Entry
	base  vv.Vector // Put/Delete: the version the change is based on (nil: a new file)
	// baseCap names the entry a Put/Delete replaces when that entry has no
	// version vector (linked by stock Tahoe): remote.Op.BaseCap.
	baseCap string
}

// view is what a cycle read of the grid: the directories listed.
type view struct {
	listed map[string]map[string]*remote.Entry
}

// lookup says what the grid has at p: the entry (nil: nothing or a
// directory), and whether the cycle knows (its directory, or an ancestor
// lacking the next step, was listed).
func (v *view) lookup(p string) (e *remote.Entry, known bool) {
	dir, name := splitPath(p)
	if ents, ok := v.listed[dir]; ok {
		return ents[name], true
	}
	// The nearest listed ancestor decides whether the directory exists.
	for d := dir; d != ""; {
		parent, base := splitPath(d)
		if ents, ok := v.listed[parent]; ok {
			if c := ents[base]; c == nil || !c.Dir {
				return nil, true
			}
			return nil, false
		}
		d = parent
	}
	return nil, false
}

func splitPath(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// errRescan says the local file changed since the scan; the path is
// scanned again and decided next cycle (not an error for the user).
var errRescan = errors.New("changed since the scan")

// cycle runs one round and says whether work is left to retry.
func (f *Folder) cycle(ctx context.Context) (retry bool) {
	defer f.setUploading("")
	if f.localFull {
		f.setActivity("scanning the local folder")
	}
	gone, err := f.scanLocal(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		f.log.Warn("scan", "err", err)
		return true
	}
	if (gone > 0 || f.massOK) && f.massDeletePaused() {
		return false
	}
	if h := f.cfg.Grid.Health(); h.Reachable == 0 {
		// Not connected yet (the node is starting) or at all: say so
		// rather than fail a grid read with a misleading "not found".
		f.mu.Lock()
		f.st.health = h
		f.st.offlineWhy = "no storage servers connected yet"
		f.mu.Unlock()
		return true
	}
	f.setActivity("reading the folder on the grid")
	v, gen, err := f.readGrid(ctx)
	health := f.cfg.Grid.Health()
	f.mu.Lock()
	f.st.health = health
	if err != nil {
		f.st.offlineWhy = userGridError(err, health)
	} else {
		f.st.offlineWhy = ""
		f.st.lastCheck = f.clk.Now()
	}
	f.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			f.log.Info("grid check failed", "err", err)
		}
		// Local changes wait: without the grid's view they could only
		// fail or conflict.
		return true
	}
	if err := f.announce(ctx); err != nil {
		f.log.Info("announce unseen changes", "err", err)
		return true
	}
	acts, err := f.plan(ctx, v)
	if err != nil {
		f.log.Warn("plan", "err", err)
		return true
	}
	retry = f.apply(ctx, acts)
	if f.syncDirs(ctx, v) {
		retry = true
	} else if !f.dirsKnown && !f.walkFull {
		f.dirsKnown = true
		f.update(func(tx *db.Tx) error { return tx.PutMeta(dirsKnownKey, []byte{1}) })
	}
	if !retry && gen != f.since {
		if err := f.saveGeneration(gen); err != nil {
			f.log.Warn("save generation", "err", err)
		}
	}
	if len(f.localPaths) > 0 || len(f.relist) > 0 {
		retry = true
	}
	return retry
}

// scanLocal scans what the watcher reported and records the changes; it
// returns how many files it found deleted.
func (f *Folder) scanLocal(ctx context.Context) (gone int, err error) {
	if !f.localFull && len(f.localPaths) == 0 {
		return 0, nil
	}
	if fi, err := os.Stat(f.cfg.Root); err != nil || !fi.IsDir() {
		f.setFatal(fmt.Sprintf("The local folder %s is missing. Nothing was deleted from the grid. Reconnect the drive or put the folder back, or remove this folder from LAFS Sync.", f.cfg.Root))
		return 0, fmt.Errorf("local folder %s missing", f.cfg.Root)
	}
	f.setFatal("")
	o := scan.Options{Root: f.cfg.Root, Keyer: f.cfg.Keyer, Workers: f.cfg.Workers}
	if f.ign != nil {
		o.Ignore = f.ign
	}
	full := f.localFull
	if !full {
		for p := range f.localPaths {
			o.Paths = append(o.Paths, p)
			if p == ignore.FileName && f.ign != nil {
				if err := f.ign.Reload(); err != nil {
					f.setErr(ignore.FileName, err.Error(), "Fix the line in .lafsignore; the other lines apply.")
				} else {
					f.clearErr(ignore.FileName)
				}
				// Directories the new rules let in need watching, and
				// their files scanning.
				f.watcher.Rewatch()
				full = true
			}
		}
		sort.Strings(o.Paths)
		if full {
			o.Paths = nil
		}
	} else if f.ign != nil {
		_ = f.ign.Reload()
	}
	res, err := scan.Scan(ctx, f.cfg.DB, o)
	if err != nil {
		return 0, err
	}
	f.noteDirs(res.Dirs, o.Paths)
	if len(res.Changes) > 0 {
		f.dirty = true
	}
	f.localFull = false
	clear(f.localPaths)
	for _, p := range res.Unstable {
		f.localPaths[p] = true
	}
	err = f.cfg.DB.Update(func(tx *db.Tx) error {
		for _, c := range res.Changes {
			if c.Gone {
				gone++
			}
			if err := recordChange(tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	f.mu.Lock()
	if full {
		f.st.skipped = f.st.skipped[:0]
	}
	for _, s := range res.Skipped {
		f.st.skipped = appendSkipped(f.st.skipped, s)
	}
	f.mu.Unlock()
	return gone, err
}

func appendSkipped(list []apiSkipped, s scan.Skipped) []apiSkipped {
	for i := range list {
		if list[i].Path == s.Path {
			list[i].Reason = s.Reason
			return list
		}
	}
	if len(list) >= 1000 {
		return list
	}
	return append(list, apiSkipped{Path: s.Path, Reason: s.Reason})
}

// recordChange turns a scan's change into the record: a local change to
// commit (Pending) unless the file is back to the synced version.
func recordChange(tx *db.Tx, c scan.Change) error {
	if c.Gone {
		if !c.Had {
			return nil
		}
		r := c.Old
		if !r.Synced {
			return tx.Delete(c.Path)
		}
		r.Gone, r.Pending = true, true
		return tx.Put(c.Path, r)
	}
	r := c.Rec
	r.Gone = false
	r.Pending = !(r.Synced && r.Hash == r.SyncedHash)
	if c.Had && !c.Old.Gone && r.Synced && execBit(r.Mode) != execBit(c.Old.Mode) {
		r.Pending = true // made executable or not: a change other devices get
	}
	return tx.Put(c.Path, r)
}

// execBit is the one permission bit a folder syncs: may the owner execute.
func execBit(m uint32) bool { return m&0o100 != 0 }

// massDeletePaused pauses the folder (and says true) when the scan found
// most files deleted at once, until the user resumes.
func (f *Folder) massDeletePaused() bool {
	var synced, gone int
	_ = f.cfg.DB.View(func(tx *db.Tx) error {
		return tx.ForEach("", func(_ string, r db.Record) error {
			if r.Synced {
				synced++
				if r.Gone && r.Pending {
					gone++
				}
			}
			return nil
		})
	})
	mass := (gone == synced && synced >= 5) || (synced > 100 && gone > synced/2)
	if !mass || f.massOK || f.cfg.Remote.ReadOnly() {
		if !mass {
			f.massOK = false
		}
		return false
	}
	f.mu.Lock()
	f.st.pausedUntil = forever
	f.st.pausedWhy = fmt.Sprintf("%d of the %d files of %s were deleted at once, so LAFS Sync paused this folder rather than delete them from the grid. If you meant it, resume the folder (lafs sync resume %s) and the grid follows; if not, put the files back, or restore them with lafs sync restore.", gone, synced, f.cfg.Root, f.cfg.Name)
	f.mu.Unlock()
	f.log.Warn("mass delete: folder paused", "deleted", gone, "files", synced)
	f.emit()
	return true
}

// readGrid polls the grid and lists what changed.
func (f *Folder) readGrid(ctx context.Context) (*view, uint64, error) {
	gen, dirs, full, err := f.cfg.Remote.Poll(ctx, f.since)
	if err != nil {
		return nil, 0, err
	}
	v := &view{listed: map[string]map[string]*remote.Entry{}}
	if full || f.walkFull || f.clk.Now().Sub(f.lastWalk) > f.cfg.FullWalkEvery {
		var unreadable []string
		err := f.cfg.Remote.Walk(ctx, func(dir string, ents map[string]*remote.Entry, err error) error {
			if err != nil {
				unreadable = append(unreadable, dir)
				return nil
			}
			v.listed[dir] = ents
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
		if len(unreadable) > 0 {
			// Their subtrees stay unknown; the next full walk tries again.
			f.log.Warn("grid directories unreadable", "count", len(unreadable))
			return v, f.since, nil
		}
		f.walkFull = false
		f.lastWalk = f.clk.Now()
		clear(f.relist)
		return v, gen, nil
	}
	want := map[string]bool{}
	for _, d := range dirs {
		want[d] = true
	}
	for d := range f.relist {
		want[d] = true
	}
	for d := range want {
		ents, err := f.cfg.Remote.List(ctx, d)
		if errors.Is(err, remote.ErrNotFound) {
			ents = map[string]*remote.Entry{}
		} else if err != nil {
			return nil, 0, err
		}
		v.listed[d] = ents
	}
	clear(f.relist)
	return v, gen, nil
}

// plan decides, per path the cycle touches, what to do.
func (f *Folder) plan(ctx context.Context, v *view) ([]action, error) {
	type item struct {
		rec   db.Record
		had   bool
		entry *remote.Entry
		known bool
	}
	items := map[string]*item{}
	get := func(p string) *item {
		it := items[p]
		if it == nil {
			it = &item{}
			items[p] = it
		}
		return it
	}
	intents := map[string]intent{}
	err := f.cfg.DB.View(func(tx *db.Tx) error {
		if err := tx.ForEachMeta(intentPrefix, func(k string, v []byte) error {
			var in intent
			if json.Unmarshal(v, &in) == nil {
				intents[strings.TrimPrefix(k, intentPrefix)] = in
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Pending(func(p string, r db.Record) error {
			it := get(p)
			it.rec, it.had = r, true
			return nil
		}); err != nil {
			return err
		}
		for dir, ents := range v.listed {
			prefix := ""
			if dir != "" {
				prefix = dir + "/"
			}
			for name, e := range ents {
				if e.Dir {
					continue
				}
				p := prefix + name
				it := get(p)
				if !it.had {
					r, ok, err := tx.Get(p)
					if err != nil {
						return err
					}
					it.rec, it.had = r, ok
				}
			}
			if err := tx.ForEach(prefix, func(p string, r db.Record) error {
				it := get(p)
				it.rec, it.had = r, true
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ro := f.cfg.Remote.ReadOnly()
	paths := make([]string, 0, len(items))
	var own []string
	for p, it := range items {
		it.entry, it.known = v.lookup(p)
		if it.entry != nil && it.entry.Meta.Ver[f.cfg.Device] > f.counter {
			f.counter = it.entry.Meta.Ver[f.cfg.Device] // the database lost some of ours
		}
		if in, ok := intents[p]; ok && it.had && it.entry != nil && in.is(it.entry) {
			it.rec = ownVersion(it.rec, it.entry)
			own = append(own, p)
		}
		paths = append(paths, p)
	}
	// Own commits a crash kept from being recorded are recorded now, so
	// the knowledge outlives the intent (the next commit's intent for the
	// same path replaces it).
	if len(own) > 0 {
		if err := f.cfg.DB.Update(func(tx *db.Tx) error {
			for _, p := range own {
				if err := tx.Put(p, items[p].rec); err != nil {
					return err
				}
				if err := tx.PutMeta(intentPrefix+p, nil); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
		for _, p := range own {
			f.clearErr(p) // the error of the commit that did land, if it said one
		}
		f.log.Info("recorded commits of this device a crash had kept from being recorded", "files", len(own))
	}
	sort.Strings(paths)
	var acts []action
	for _, p := range paths {
		it := items[p]
		a := action{path: p, rec: it.rec, had: it.had, entry: it.entry}
		a.kind, a.base = f.decide(ctx, p, it.rec, it.had, it.entry, it.known, ro)
		if (a.kind == actPut || a.kind == actDelete) && a.base.IsZero() {
			switch {
			case it.entry != nil && (it.entry.Foreign || it.entry.Bad != ""):
				a.baseCap = it.entry.Cap
			case !it.known && it.rec.Synced && it.rec.Ver.IsZero():
				a.baseCap = it.rec.Cap // it was synced from a foreign entry
			}
		}
		if a.kind != actNone {
			acts = append(acts, a)
		}
	}
	return acts, nil
}

// testHookCommit, set by a test, runs before a directory's commit
// (published false; its intents are written) and after it, before its
// records are saved (published true); true makes the upload stop there,
// as a process killed at that moment would.
var testHookCommit func(ctx context.Context, dir string, published bool) bool

// intentPrefix starts the db meta keys of the Puts a commit is about to
// make: written ahead with the commit's other marks, removed with its
// records. One left over names a version this device may have committed
// without recording it (killed between the publish and the save).
const intentPrefix = "intent:"

// intent is one Put a commit is about to make: the version and hash it
// links.
type intent struct {
	Ver  vv.Vector `json:"ver"`
	Hash [32]byte  `json:"hash"`
}

// is says whether grid entry e is the version this intent put.
func (in intent) is(e *remote.Entry) bool {
	return !e.Foreign && !e.Dir && e.Meta.Hash == in.Hash && e.Meta.Ver.Compare(in.Ver) == vv.Equal
}

// ownVersion is record r once grid entry e, a version this device
// committed without recording it, is known to be the synced one: the
// local file, if it differs, is an ordinary change on top of it (never a
// conflict with itself, whether the file was new or not).
func ownVersion(r db.Record, e *remote.Entry) db.Record {
	r.Synced, r.Cap, r.Ver, r.SyncedHash = true, e.Cap, e.Meta.Ver.Clone(), e.Meta.Hash
	r.Pending = r.Gone || r.Hash != e.Meta.Hash || execBit(r.Mode) != (e.Meta.Mode&0o100 != 0)
	return r
}

// sameContent says whether grid entry e holds the content record r synced.
func sameContent(e *remote.Entry, r db.Record) bool {
	return r.Synced && (e.Cap == r.Cap || (!e.Foreign && e.Meta.Hash == r.SyncedHash))
}

// decide is the heart of the engine: one path's local record, the grid's
// entry (known: the cycle read its directory) → what to do.
func (f *Folder) decide(ctx context.Context, p string, r db.Record, had bool, e *remote.Entry, known, ro bool) (actKind, vv.Vector) {
	local := func(kind actKind, base vv.Vector) (actKind, vv.Vector) {
		if ro {
			return actIgnored, nil
		}
		return kind, base
	}
	if !known {
		if had && r.Pending {
			switch {
			case !r.Synced && r.Gone:
				return actDrop, nil
			case !r.Synced:
				return local(actPut, nil)
			case r.Gone:
				return local(actDelete, r.Ver)
			default:
				return local(actPut, r.Ver)
			}
		}
		return actNone, nil
	}
	if e != nil && e.Bad != "" {
		f.setErr(p, "The grid entry for this file is broken: "+e.Bad+".", "Another device or a Tahoe user linked something that is not a file here; rename or delete the entry on the grid. Your local copy is kept.")
		return actNone, nil
	}
	if e == nil { // nothing on the grid (or a directory of that name: not a file)
		switch {
		case !had:
			return actNone, nil
		case !r.Synced && r.Gone:
			return actDrop, nil
		case !r.Synced:
			return local(actPut, nil) // a new local file
		case r.Pending && r.Gone:
			return actDrop, nil // deleted on both sides
		case r.Pending:
			return local(actPut, nil) // changed here, deleted there: the change wins
		}
		// Unchanged here, gone there: delete only the version the grid deleted.
		// The version deleted may also be a later one of the same
		// lineage (this device missed the edits between): the delete
		// then applies to ours too; it is in the grid's history.
		t, err := f.cfg.Remote.Tombstone(ctx, p)
		if err == nil && t != nil && (t.Hash == r.SyncedHash || descends(t.Ver, r.Ver)) {
			return actDeleteHere, nil
		}
		// Unsure (no tombstone: deleted outside LAFS Sync): keep the file
		// and give it back to the grid.
		if ro {
			return actDrop, nil
		}
		return actPut, nil
	}
	if e.Dir {
		switch {
		case had && r.Gone:
			return actDrop, nil // deleted here; the name is a directory there
		case had && r.Synced && !r.Pending:
			// Another device replaced the file by a directory: the file
			// goes only if the grid deleted this very version.
			t, err := f.cfg.Remote.Tombstone(ctx, p)
			if err == nil && t != nil && (t.Hash == r.SyncedHash || descends(t.Ver, r.Ver)) {
				return actDeleteHere, nil
			}
			fallthrough
		case had:
			f.setErrWhile(p, "The grid has a folder where this device has a file of the same name.", "Rename one of them; until then this file does not sync.",
				func() bool { return f.localFile(p) })
		}
		return actNone, nil
	}
	switch {
	case !had || (!r.Synced && r.Gone) || (r.Gone && !r.Synced):
		return actDownload, nil
	case !r.Synced: // new here and there
		if !e.Foreign && e.Meta.Hash == r.Hash {
			return actAdopt, nil
		}
		return actConflict, nil
	case sameContent(e, r):
		if !r.Pending {
			if e.Cap != r.Cap || e.Meta.Ver.Compare(r.Ver) != vv.Equal {
				return actAdopt, nil
			}
			return actNone, nil
		}
		if r.Gone {
			return local(actDelete, e.Meta.Ver)
		}
		return local(actPut, e.Meta.Ver)
	}
	// The grid's content differs from what this device last synced.
	if f.ownCommit(e, r) {
		// This device committed that version but died before recording
		// it: it is the base, and a local edit on top an ordinary change.
		switch {
		case r.Gone:
			return local(actDelete, e.Meta.Ver)
		case e.Meta.Hash == r.Hash:
			return actAdopt, nil
		}
		return local(actPut, e.Meta.Ver)
	}
	if !e.Foreign && e.Meta.Ver.Compare(r.Ver) == vv.Before {
		// The grid shows an ancestor of what this device synced: a stale
		// read, or a write of ours that did not stick. Assert ours again
		// (the commit's test stops it if the grid is in fact newer, and the
		// older content goes to history), never take the older one.
		if r.Gone {
			return local(actDelete, e.Meta.Ver)
		}
		return local(actPut, e.Meta.Ver)
	}
	switch {
	case !r.Pending, r.Gone:
		return actDownload, nil // theirs is newer (a change beats a delete)
	case !e.Foreign && e.Meta.Hash == r.Hash:
		return actAdopt, nil // both made the same change
	}
	return actConflict, nil
}

// descends says whether version v is base or a later version of it
// (never for an empty vector: a foreign entry's lineage is unknown).
func descends(v, base vv.Vector) bool {
	if v.IsZero() || base.IsZero() {
		return false
	}
	c := v.Compare(base)
	return c == vv.After || c == vv.Equal
}

// apply carries out a cycle's actions and says whether any must retry.
func (f *Folder) apply(ctx context.Context, acts []action) (retry bool) {
	var downs, puts []action
	for _, a := range acts {
		switch a.kind {
		case actDownload, actConflict:
			downs = append(downs, a)
		case actPut, actDelete:
			puts = append(puts, a)
		case actAdopt:
			f.adopt(a)
		case actDrop:
			f.update(func(tx *db.Tx) error { return tx.Delete(a.path) })
		case actDeleteHere:
			if err := f.deleteLocal(a); err != nil {
				retry = true
			}
		case actIgnored:
			f.mu.Lock()
			f.st.ignoredEdit[a.path] = true
			f.mu.Unlock()
		}
	}
	if len(downs) > 0 && f.transfer(ctx, downs, f.download) {
		retry = true
	}
	// Uploads go in chunks, each committed before the next starts, so a
	// big first sync shows up on the grid as it goes and a crash redoes
	// one chunk at most. puts is in path order: a chunk's files share
	// few directories, so few publishes.
	nPuts, sent := len(puts), 0
	// The upload detail stays until the cycle ends (cycle clears it): the
	// directory pass and the saves after the uploads are part of them.
	for len(puts) > 0 && ctx.Err() == nil {
		// While a chunk commits and between chunks no transfer is in
		// flight: the status says the upload goes on, counting the
		// files committed so far.
		if sent > 0 {
			f.countFiles()
		}
		f.setUploading(fmt.Sprintf("syncing: %d of %d changes sent to the grid", sent, nPuts))
		n, size := 0, int64(0)
		for n < len(puts) && n < chunkFiles && (n == 0 || size+puts[n].rec.Size <= chunkBytes) {
			size += puts[n].rec.Size
			n++
		}
		if f.putAll(ctx, puts[:n]) {
			retry = true
		}
		puts = puts[n:]
		sent += n
	}
	if len(acts) > 0 || f.dirty {
		f.dirty = false
		f.countFiles()
	}
	return retry
}

// transfer runs fn over acts with bounded concurrency, with progress.
func (f *Folder) transfer(ctx context.Context, acts []action, fn func(context.Context, action) error) (retry bool) {
	var total int64
	for _, a := range acts {
		if a.kind == actDownload || a.kind == actConflict {
			total += a.entry.Meta.Size
		} else {
			total += a.rec.Size
		}
	}
	f.startProgress(len(acts), total)
	defer f.endProgress()
	var mu sync.Mutex
	sem := make(chan struct{}, f.cfg.Workers)
	var wg sync.WaitGroup
	for _, a := range acts {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := fn(ctx, a)
			f.fileDone(a.path)
			if err != nil {
				mu.Lock()
				retry = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return retry || ctx.Err() != nil
}

// adopt records that the local file is the grid's version.
func (f *Folder) adopt(a action) {
	r := a.rec
	r.Synced, r.Cap, r.Ver, r.SyncedHash = true, a.entry.Cap, a.entry.Meta.Ver.Clone(), r.Hash
	if a.entry.Foreign {
		r.SyncedHash = r.Hash
	}
	r.Pending = r.Gone
	if !a.entry.Foreign && !r.Gone {
		r.Mode = f.applyExecBit(a.path, a.rec, a.entry.Meta.Mode)
	}
	f.update(func(tx *db.Tx) error {
		if err := tx.PutMeta(intentPrefix+a.path, nil); err != nil {
			return err
		}
		return tx.Put(a.path, r)
	})
	f.clearErr(a.path)
}

// applyExecBit makes the local file at p executable or not as the grid's
// mode says (a version that changed only that), if it still is the file
// record r saw; it returns the file's mode as recorded afterwards. Only
// the execute bits change: x for those who may read it, or none.
func (f *Folder) applyExecBit(p string, r db.Record, mode os.FileMode) uint32 {
	want := mode&0o100 != 0
	if execBit(r.Mode) == want {
		return r.Mode
	}
	target := f.diskPath(p)
	fi, err := os.Lstat(target)
	if err != nil || !sameStat(fi, r) {
		return r.Mode // changed meanwhile: the next scan sees it
	}
	perm := fi.Mode().Perm()
	if want {
		perm |= (perm & 0o444) >> 2
	} else {
		perm &^= 0o111
	}
	if err := os.Chmod(target, perm); err != nil {
		f.log.Info("could not change the file's execute permission", "path", p, "err", err)
		return r.Mode
	}
	if fi, err := os.Lstat(target); err == nil {
		return uint32(fi.Mode().Perm())
	}
	return uint32(perm)
}

func (f *Folder) update(fn func(tx *db.Tx) error) {
	if err := f.cfg.DB.Update(fn); err != nil {
		f.log.Warn("database", "err", err)
	}
}

// deleteLocal removes a local file the grid deleted, if it is still the
// synced version.
func (f *Folder) deleteLocal(a action) error {
	target := f.diskPath(a.path)
	fi, err := os.Lstat(target)
	if errors.Is(err, os.ErrNotExist) {
		f.update(func(tx *db.Tx) error { return tx.Delete(a.path) })
		return nil
	}
	if err != nil || !sameStat(fi, a.rec) {
		f.localPaths[a.path] = true
		return errRescan
	}
	if err := os.Remove(target); err != nil {
		f.setErr(a.path, "It was deleted on another device but cannot be deleted here: "+err.Error(), "Check the file's permissions; it is kept.")
		return err
	}
	f.update(func(tx *db.Tx) error { return tx.Delete(a.path) })
	f.clearErr(a.path)
	// Its directory stays: directories go when the grid's do (syncDirs).
	f.log.Info("deleted (deleted on the grid)", "path", a.path)
	return nil
}

// diskPath is where the folder path p (NFC) is on disk: the same name,
// or, when the disk holds the name in another normalization (macOS NFD),
// that name.
func (f *Folder) diskPath(p string) string {
	full := filepath.Join(f.cfg.Root, filepath.FromSlash(p))
	if _, err := os.Lstat(full); err == nil || !errors.Is(err, os.ErrNotExist) {
		return full
	}
	if dp, err := scan.DiskPath(scan.OS(f.cfg.Root), p); err == nil && dp != p {
		return filepath.Join(f.cfg.Root, filepath.FromSlash(dp))
	}
	return full
}

// putAll uploads and commits local changes, one publish per directory.
func (f *Folder) putAll(ctx context.Context, acts []action) (retry bool) {
	// Upload first (bounded), then commit each directory's ops at once.
	type done struct {
		a   action
		cap string
		ok  bool
	}
	results := make([]done, len(acts))
	for i := range acts {
		results[i].a = acts[i]
	}
	var idx sync.Map
	for i, a := range acts {
		idx.Store(a.path, i)
	}
	var uploads []action
	var same []int // files whose content another file of the chunk uploads
	uploading := map[[32]byte]bool{}
	for i, a := range acts {
		if a.kind == actDelete {
			results[i].ok = true
			continue
		}
		if c := f.knownCap(a.rec.Hash); c != "" {
			results[i].cap, results[i].ok = c, true
			continue
		}
		if uploading[a.rec.Hash] {
			same = append(same, i)
			continue
		}
		uploading[a.rec.Hash] = true
		uploads = append(uploads, a)
	}
	if len(uploads) > 0 {
		var mu sync.Mutex
		if f.transfer(ctx, uploads, func(ctx context.Context, a action) error {
			c, err := f.upload(ctx, a)
			if err != nil {
				return err
			}
			i, _ := idx.Load(a.path)
			mu.Lock()
			results[i.(int)].cap, results[i.(int)].ok = c, true
			f.uploaded[a.rec.Hash] = c
			mu.Unlock()
			return nil
		}) {
			retry = true
		}
	}
	for _, i := range same {
		if c := f.uploaded[results[i].a.rec.Hash]; c != "" {
			results[i].cap, results[i].ok = c, true
		} else {
			retry = true
		}
	}
	// Group by directory.
	byDir := map[string][]int{}
	for i, d := range results {
		if !d.ok {
			continue
		}
		dir, _ := splitPath(d.a.path)
		byDir[dir] = append(byDir[dir], i)
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	// Write-ahead: until a commit's state update is confirmed, its
	// directory is remembered as unannounced (see Folder.unannounced),
	// and each Put's version as an intent (see intentPrefix).
	vers := make([]vv.Vector, len(results))
	if len(dirs) > 0 {
		for _, d := range dirs {
			f.unannounced[d] = true
		}
		if err := f.cfg.DB.Update(func(tx *db.Tx) error {
			for i, d := range results {
				if !d.ok || d.a.kind == actDelete {
					continue
				}
				vers[i] = f.nextVersion(d.a.base)
				b, err := json.Marshal(intent{Ver: vers[i], Hash: d.a.rec.Hash})
				if err != nil {
					return err
				}
				if err := tx.PutMeta(intentPrefix+d.a.path, b); err != nil {
					return err
				}
			}
			if err := tx.PutMeta("counter", binary.BigEndian.AppendUint64(nil, f.counter)); err != nil {
				return err
			}
			return f.putUnannounced(tx)
		}); err != nil {
			f.log.Warn("database", "err", err)
			return true
		}
	}
	for _, dir := range dirs {
		ix := byDir[dir]
		ops := make([]remote.Op, len(ix))
		for j, i := range ix {
			d := results[i]
			_, name := splitPath(d.a.path)
			if d.a.kind == actDelete {
				ops[j] = remote.Op{Kind: remote.Delete, Name: name, Base: d.a.base, BaseCap: d.a.baseCap}
				continue
			}
			ops[j] = remote.Op{Kind: remote.Put, Name: name, Cap: d.cap, Base: d.a.base, BaseCap: d.a.baseCap, Meta: remote.FileMeta{
				Size: d.a.rec.Size, Mtime: time.Unix(0, d.a.rec.MtimeNs), Mode: fileMode(d.a.rec.Mode),
				Ver: vers[i], By: f.cfg.Device, Hash: d.a.rec.Hash,
			}}
		}
		if testHookCommit != nil && testHookCommit(ctx, dir, false) {
			return true
		}
		res, err := f.cfg.Remote.Commit(ctx, dir, ops, f.cfg.Retention)
		if errors.Is(err, remote.ErrDirGone) {
			// Another device removed the (empty) directory meanwhile:
			// the next cycle makes it again and commits there.
			retry = true
			f.relist[dir] = true
			continue
		}
		if err != nil {
			retry = true
			for _, i := range ix {
				p := results[i].a.path
				f.setErrWhile(p, "Could not save the change to the grid: "+userGridError(err, f.cfg.Grid.Health()), "LAFS Sync retries by itself.",
					func() bool { return f.changeWaiting(p) })
			}
			continue
		}
		if testHookCommit != nil && testHookCommit(ctx, dir, true) {
			return true
		}
		delete(f.unannounced, dir)
		linked := false
		f.update(func(tx *db.Tx) error {
			// The counter was saved ahead, with the intents.
			if err := f.putUnannounced(tx); err != nil {
				return err
			}
			for j, i := range ix {
				d := results[i]
				if err := tx.PutMeta(intentPrefix+d.a.path, nil); err != nil {
					return err
				}
				if j >= len(res) || !res[j].Applied {
					f.relist[dir] = true
					retry = true
					continue
				}
				f.clearErr(d.a.path)
				if d.a.kind == actDelete {
					if err := tx.Delete(d.a.path); err != nil {
						return err
					}
					continue
				}
				r := d.a.rec
				r.Synced, r.Cap, r.Ver, r.SyncedHash, r.Pending, r.Gone = true, d.cap, vers[i], r.Hash, false, false
				if err := tx.Put(d.a.path, r); err != nil {
					return err
				}
				linked = true
			}
			if linked {
				// The commit made dir and its parents on the grid: those
				// here are synced directories from now on (a rmdir of
				// one right after must go to the grid, not be undone).
				return f.markDirs(tx, dir)
			}
			return nil
		})
	}
	return retry
}

// nextVersion is the vector of a change this device makes to base: its
// own counter goes above every counter it ever used in this folder (not
// just base's + 1), so a file re-created after a delete, or a version
// made after a crash lost the database's last commits, still descends
// from (never looks older than) anything this device wrote before.
func (f *Folder) nextVersion(base vv.Vector) vv.Vector {
	v := base.Clone()
	if v == nil {
		v = vv.Vector{}
	}
	f.counter = max(f.counter, v[f.cfg.Device]) + 1
	v[f.cfg.Device] = f.counter
	return v
}

// ownCommit says whether grid entry e is a version this device committed
// on top of r's base without recording it (killed between the publish
// and the database update): made by this device, and descending from the
// base by this device's counter alone.
func (f *Folder) ownCommit(e *remote.Entry, r db.Record) bool {
	if e.Foreign || e.Meta.By != f.cfg.Device || !r.Synced || e.Meta.Ver.Compare(r.Ver) != vv.After {
		return false
	}
	for d, n := range e.Meta.Ver {
		if d != f.cfg.Device && n != r.Ver[d] {
			return false
		}
	}
	for d, n := range r.Ver {
		if d != f.cfg.Device && n != e.Meta.Ver[d] {
			return false
		}
	}
	return true
}

// knownCap finds content already on the grid (a rename, a copy).
func (f *Folder) knownCap(h [32]byte) string {
	if c := f.uploaded[h]; c != "" {
		return c
	}
	var c string
	_ = f.cfg.DB.View(func(tx *db.Tx) error {
		_, r, ok, err := tx.ByHash(h)
		if err == nil && ok && r.Synced {
			c = r.Cap
		}
		return nil
	})
	return c
}

func fileMode(m uint32) os.FileMode {
	if m&0o100 != 0 {
		return 0o755
	}
	return 0o644
}

// conflictName is Syncthing's form: NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.EXT.
func conflictName(p string, t time.Time, device string) string {
	dir, name := path.Split(p)
	ext := path.Ext(name)
	if ext == name { // ".bashrc": no extension
		ext = ""
	}
	base := strings.TrimSuffix(name, ext)
	return dir + base + ".sync-conflict-" + t.UTC().Format("20060102-150405") + "-" + device + ext
}

// conflictCopies counts the existing conflict copies of p.
func (f *Folder) conflictCopies(p string) int {
	dir, name := path.Split(p)
	ext := path.Ext(name)
	if ext == name {
		ext = ""
	}
	prefix := strings.TrimSuffix(name, ext) + ".sync-conflict-"
	ents, err := os.ReadDir(f.diskPath(strings.TrimSuffix(dir, "/")))
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) && strings.HasSuffix(e.Name(), ext) {
			n++
		}
	}
	return n
}

// chunkFiles and chunkBytes bound one upload chunk.
const (
	chunkFiles = 256
	chunkBytes = 256 << 20
)

// MaxConflictCopies bounds the conflict copies of one file: beyond it the
// file is reported instead (no conflict storms).
const MaxConflictCopies = 5
