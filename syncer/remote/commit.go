package remote

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/syncer/vv"
)

// testHookBeforePublish, when set by a test, runs after history is
// written and before the directory is published (a crash point).
var testHookBeforePublish func() error

// testHookAfterPublish, when set by a test, runs after the directory is
// published and before the check that it is still linked.
var testHookAfterPublish func()

// errNoChange ends a Modify whose ops changed nothing, so nothing is
// published.
var errNoChange = errors.New("no change")

// dirMeta is a subdirectory entry's metadata.
func dirMeta() map[string]any {
	return map[string]any{"lafssync": map[string]any{"v": int64(metaVersion)}}
}

// linkEntry is a directory entry for child with user metadata and Tahoe's
// "tahoe" timestamps: the link's creation time kept from old, its
// modification time now (as Tahoe does when it re-links a name).
func linkEntry(child cap.Cap, old *dirnode.Entry, user map[string]any, now float64) *dirnode.Entry {
	md := make(map[string]any, len(user)+1)
	for k, v := range user {
		if k != "tahoe" {
			md[k] = v
		}
	}
	crtime := now
	if old != nil {
		if t, ok := old.Metadata["tahoe"].(map[string]any); ok {
			if c, ok := t["linkcrtime"].(float64); ok {
				crtime = c
			}
		}
	}
	md["tahoe"] = map[string]any{"linkcrtime": crtime, "linkmotime": now}
	e := &dirnode.Entry{Metadata: md}
	if child.IsReadOnly() {
		e.ReadCap = child.String()
	} else {
		e.WriteCap = child.String()
		if r := child.ReadOnly(); r != nil {
			e.ReadCap = r.String()
		}
	}
	return e
}

// mkdirAll opens the directory at path, making the missing ones, and
// returns the paths of the directories that gained an entry.
func (f *Folder) mkdirAll(ctx context.Context, path string) (*dirnode.Directory, []string, error) {
	parts, err := splitPath(path)
	if err != nil {
		return nil, nil, err
	}
	cur, err := f.open(f.root.String())
	if err != nil {
		return nil, nil, err
	}
	var changed []string
	for i, part := range parts {
		parent := strings.Join(parts[:i], "/")
		here := strings.Join(parts[:i+1], "/")
		e, err := get(ctx, cur, part)
		if errors.Is(err, dirnode.ErrNotFound) {
			sub, mkErr := f.newDir(ctx)
			if mkErr != nil {
				return nil, nil, fmt.Errorf("make directory %q: %w", here, mkErr)
			}
			_, err = cur.Link(ctx, part, sub.Cap(), dirMeta(), dirnode.ReplaceNothing)
			switch {
			case err == nil:
				changed = append(changed, parent)
				cur = sub
				continue
			case errors.Is(err, dirnode.ErrExists): // another device made it meanwhile
				e, err = get(ctx, cur, part)
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("make directory %q: %w", here, err)
		}
		if !isMutableDir(e) {
			return nil, nil, fmt.Errorf("cannot make directory %q: a file of that name is in the way on the grid; rename one of them", here)
		}
		if e.WriteCap == "" {
			return nil, nil, fmt.Errorf("directory %q is read-only on the grid (linked in with its read cap), so changes under it cannot be uploaded; replace it with a writable copy", here)
		}
		if cur, err = f.open(f.childCap(e)); err != nil {
			return nil, nil, fmt.Errorf("open directory %q: %w", here, err)
		}
	}
	return cur, changed, nil
}

// checkOps refuses ops that could never apply.
func checkOps(dir string, ops []Op) error {
	for i, op := range ops {
		where := fmt.Sprintf("%q", joinPath(dir, op.Name))
		if err := dirnode.CheckName(op.Name); err != nil {
			return fmt.Errorf("op %d on %s: %w", i, where, err)
		}
		if strings.Trim(dir, "/") == "" && dirnode.Normalize(op.Name) == StateName {
			return fmt.Errorf("op %d on %s: the name %s is reserved for the sync engine's own data; rename the file", i, where, StateName)
		}
		switch op.Kind {
		case Put:
			c, err := cap.Parse(op.Cap)
			if err != nil || (c.Kind() != cap.KindCHK && c.Kind() != cap.KindLIT) {
				return fmt.Errorf("op %d on %s: a Put needs a file's read cap (URI:CHK or URI:LIT)", i, where)
			}
		case Delete, Mkdir:
		default:
			return fmt.Errorf("op %d on %s: unknown op kind %d", i, where, op.Kind)
		}
	}
	return nil
}

// baseMatches is the test an op's Base (or BaseCap) makes of the entry it
// finds (cur nil: none).
func baseMatches(cur *Entry, op Op) bool {
	switch {
	case cur == nil:
		return op.Base.IsZero() && op.BaseCap == ""
	case cur.Dir:
		return false
	case cur.Foreign:
		return op.Base.IsZero() && op.BaseCap != "" && op.BaseCap == cur.Cap
	}
	return !op.Base.IsZero() && cur.Meta.Ver.Compare(op.Base) == vv.Equal
}

// alreadyPut says whether cur is exactly what op would link (a retried
// commit whose first publish landed).
func alreadyPut(cur *Entry, op Op, opCap string) bool {
	return cur != nil && !cur.Dir && !cur.Foreign && cur.Cap == opCap &&
		!op.Meta.Ver.IsZero() && cur.Meta.Ver.Compare(op.Meta.Ver) == vv.Equal && cur.Meta.Hash == op.Meta.Hash
}

// Commit applies ops to directory dir (made, with its parents, if
// missing and an op needs it) in one publish of that directory, each op tested against the
// entry it finds (see Op). Entries replaced by a Put and removed by a
// Delete are moved to history (with a tombstone for a Delete), pruned to
// r, before the directory is published; then state gets generation+1 and
// a journal record naming dir. Concurrent writers of the same directory or
// of state are retried, never lost. results[i] is what happened to ops[i].
//
// Details:
//   - A Put whose exact entry (cap, Ver, Hash) is already there counts as
//     applied without a change, so a Commit retried after an error is safe.
//   - A Put never replaces a directory; a Delete of a directory entry
//     applies only if that directory is empty (Base is not tested).
//   - A Mkdir applies if Name is a directory already or is free; a file
//     under Name makes it not applied, with Current.
//   - Nothing is published when no op changes anything; ops that are all
//     Deletes into a directory not on the grid (removed meanwhile) make
//     nothing and publish nothing.
//   - When err is not nil but results is, the directory was published and
//     only the state update failed: the changes are on the grid; a later
//     Commit (or the other devices' periodic full walk) makes them seen.
func (f *Folder) Commit(ctx context.Context, dir string, ops []Op, r Retention) (results []OpResult, err error) {
	if f.readOnly {
		return nil, fmt.Errorf("cannot upload changes to %s: %w", showDir(dir), ErrReadOnly)
	}
	if err := checkOps(dir, ops); err != nil {
		return nil, fmt.Errorf("commit to %s: %w", showDir(dir), err)
	}
	parts, err := splitPath(dir)
	if err != nil {
		return nil, fmt.Errorf("commit to %s: %w", showDir(dir), err)
	}
	dir = strings.Join(parts, "/") // as stored: NFC, so history and journal agree across devices
	var d *dirnode.Directory
	var changedDirs []string
	if dir != "" && onlyDeletes(ops) {
		// Deletes need no directory: one that is gone (another device
		// removed it, empty, meanwhile) is not made again just to
		// delete from it, which other devices would see as the
		// directory coming back.
		d, err = f.resolve(ctx, dir)
		if errors.Is(err, ErrNotFound) {
			return deletesFromNothing(ops), nil
		}
		if err != nil {
			return nil, f.withHealth(fmt.Errorf("commit to %s: %w", showDir(dir), err))
		}
	}
	h, err := f.ensureHidden(ctx)
	if err != nil {
		return nil, f.withHealth(fmt.Errorf("commit to %s: set up the folder's .lafssync: %w", showDir(dir), err))
	}
	if d == nil {
		if d, changedDirs, err = f.mkdirAll(ctx, dir); err != nil {
			return nil, f.withHealth(fmt.Errorf("commit to %s: %w", showDir(dir), err))
		}
	}
	caps := make([]string, len(ops))
	for i, op := range ops {
		if op.Kind == Put {
			c, _ := cap.Parse(op.Cap)
			caps[i] = c.String()
		}
	}
	deleted := make([]bool, len(ops))            // the op's delete was decided in an earlier attempt
	made := make([]*dirnode.Directory, len(ops)) // a Mkdir's new directory, made once
	archived := map[string]bool{}                // history items already written
	// everChanged: an earlier attempt changed the directory, and its write
	// (reported as a conflict) may have landed. Finding our change there on
	// a retry is no proof it stays (the other side of a torn race may win),
	// so the directory is written again to confirm it, and state bumped.
	everChanged := false

	err = d.Modify(ctx, func(es dirnode.Entries) error {
		results = make([]OpResult, len(ops))
		now := f.now()
		var pending []archiveItem
		changed := everChanged
		for i, op := range ops {
			n := dirnode.Normalize(op.Name)
			var cur *Entry
			if de := es[n]; de != nil {
				cur = f.toEntry(n, de)
			}
			notApplied := func() { results[i] = OpResult{Current: cur} }
			switch op.Kind {
			case Put:
				if alreadyPut(cur, op, caps[i]) {
					results[i].Applied = true
					continue
				}
				if !baseMatches(cur, op) {
					notApplied()
					continue
				}
				if cur != nil {
					pending = append(pending, archiveItem{name: n, v: histVersion{Cap: cur.Cap, Meta: cur.Meta, Replaced: now}})
				}
				c, _ := cap.Parse(caps[i])
				es[n] = linkEntry(c, es[n], EncodeMeta(op.Meta), now)
			case Delete:
				if cur == nil {
					if deleted[i] || op.Base.IsZero() && op.BaseCap == "" {
						results[i].Applied = true
					} else {
						notApplied()
					}
					continue
				}
				if cur.Dir {
					empty, err := f.isEmpty(ctx, cur.Cap)
					if err != nil {
						return fmt.Errorf("delete directory %q: %w", joinPath(dir, n), err)
					}
					if !empty {
						notApplied()
						continue
					}
				} else {
					if !baseMatches(cur, op) {
						notApplied()
						continue
					}
					pending = append(pending, archiveItem{name: n,
						v:    histVersion{Cap: cur.Cap, Meta: cur.Meta, Replaced: now, Deleted: true},
						tomb: &Tombstone{Ver: cur.Meta.Ver, Hash: cur.Meta.Hash, By: f.device, Time: unixFloat(now)}})
				}
				delete(es, n)
				deleted[i] = true
			case Mkdir:
				if cur != nil && cur.Dir {
					results[i].Applied = true
					continue
				}
				if cur != nil {
					notApplied()
					continue
				}
				if made[i] == nil {
					sub, err := f.newDir(ctx)
					if err != nil {
						return fmt.Errorf("make directory %q: %w", joinPath(dir, n), err)
					}
					made[i] = sub
				}
				es[n] = linkEntry(made[i].Cap(), nil, dirMeta(), now)
			}
			results[i].Applied = true
			changed = true
		}
		// History first: a crash between this and the publish leaves an
		// extra version in history, never a lost one.
		var todo []archiveItem
		for _, it := range pending {
			if k := it.key(); !archived[k] {
				todo = append(todo, it)
			}
		}
		if len(todo) > 0 {
			if err := f.archive(ctx, h, dir, todo, r); err != nil {
				return fmt.Errorf("keep the previous versions in history: %w", err)
			}
			for _, it := range todo {
				archived[it.key()] = true
			}
		}
		if !changed {
			return errNoChange
		}
		if testHookBeforePublish != nil {
			if err := testHookBeforePublish(); err != nil {
				return err
			}
		}
		everChanged = true
		return nil
	})
	if errors.Is(err, errNoChange) {
		return results, nil
	}
	if err != nil {
		return nil, f.withHealth(fmt.Errorf("commit to %s: %w", showDir(dir), err))
	}
	if testHookAfterPublish != nil {
		testHookAfterPublish()
	}
	if n := f.failAfterPublish.Load(); n > 0 && f.failAfterPublish.CompareAndSwap(n, n-1) {
		return nil, fmt.Errorf("commit to %s: %w", showDir(dir), ErrInjected)
	}
	// Another device may have removed the directory (empty when it looked)
	// while this commit was writing into it: the changes would then sit in
	// an unlinked directory, unseen. Check that the path still leads here.
	if dir != "" {
		again, err := f.resolve(ctx, dir)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, f.withHealth(fmt.Errorf("commit to %s: check the directory is still in the folder: %w", showDir(dir), err))
		}
		if err != nil || again.Cap().String() != d.Cap().String() {
			return nil, fmt.Errorf("commit to %s: %w", showDir(dir), ErrDirGone)
		}
	}
	if _, err := f.bumpState(ctx, h, append(changedDirs, dir)); err != nil {
		return results, f.withHealth(fmt.Errorf("commit to %s: the changes are on the grid, but other devices may not notice them until the next change (update .lafssync/state: %w)", showDir(dir), err))
	}
	return results, nil
}

func onlyDeletes(ops []Op) bool {
	for _, op := range ops {
		if op.Kind != Delete {
			return false
		}
	}
	return len(ops) > 0
}

// deletesFromNothing is what deletes find in a directory that is not on
// the grid: no entry, so each applies as a Delete of a missing entry does
// (only an unconditional one; one with a base is not applied, with no
// Current: the file is gone on both sides).
func deletesFromNothing(ops []Op) []OpResult {
	res := make([]OpResult, len(ops))
	for i, op := range ops {
		res[i].Applied = op.Base.IsZero() && op.BaseCap == ""
	}
	return res
}

func (f *Folder) isEmpty(ctx context.Context, dirCap string) (bool, error) {
	d, err := f.open(dirCap)
	if err != nil {
		return false, err
	}
	names, _, err := list(ctx, d)
	return len(names) == 0, err
}

// ErrInjected is the failure FailAfterPublish injects.
var ErrInjected = errors.New("injected failure: stopped after the directory publish, before .lafssync/state")

// FailAfterPublish makes this Folder's next n Commits stop right after
// their directory publish, before .lafssync/state is updated, and fail
// with ErrInjected and no results: what a process killed at that moment
// leaves on the grid (the change is there, but no journal record tells
// other devices). For crash tests of the engine above.
func (f *Folder) FailAfterPublish(n int) { f.failAfterPublish.Store(int32(n)) }

// Announce records in .lafssync/state that directories dirs changed (one
// new generation with a journal record for each dir and each of its
// ancestors), so other devices' next poll lists them again. The engine
// calls it for commits whose own state update may not have happened (a
// crash or an error between a directory publish and its state update);
// announcing a directory that did not change costs other devices one
// listing, nothing else.
func (f *Folder) Announce(ctx context.Context, dirs []string) error {
	if f.readOnly {
		return fmt.Errorf("announce changes: %w", ErrReadOnly)
	}
	seen := map[string]bool{}
	var all []string
	for _, d := range dirs {
		parts, err := splitPath(d)
		if err != nil {
			continue // not a folder path: nothing another device could list
		}
		for i := len(parts); i >= 0; i-- {
			p := strings.Join(parts[:i], "/")
			if !seen[p] {
				seen[p] = true
				all = append(all, p)
			}
		}
	}
	if len(all) == 0 {
		return nil
	}
	sort.Strings(all)
	h, err := f.ensureHidden(ctx)
	if err != nil {
		return f.withHealth(fmt.Errorf("announce changes: set up the folder's .lafssync: %w", err))
	}
	if _, err := f.bumpState(ctx, h, all); err != nil {
		return f.withHealth(fmt.Errorf("announce changes to %s: %w", showDir(all[len(all)-1]), err))
	}
	return nil
}
