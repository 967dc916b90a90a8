// Package scan compares a folder on disk with its records in syncer/db and
// reports what changed, reading only files whose size, mtime or inode
// differ from their record. A file it reads is read once for both its
// SHA-256 and its CHK convergent key, so that the upload's key pass is
// already done: a changed file is read twice in all (scan, upload), not
// three times.
//
// What a scan decides:
//   - Paths are NFC (macOS often stores names as NFD); Change.DiskPath is
//     the name on disk, and DiskPath maps an NFC path back to it.
//   - Symbolic links, FIFOs, sockets, devices, unreadable files and
//     directories, names the Ignorer's BadName rejects, and a second name
//     in a directory that differs from another only by case or Unicode
//     normalization are skipped with a reason (Result.Skipped).
//   - Ignored paths are not looked at. A path that is ignored or skipped
//     is never reported Gone: its record, if any, is left alone (a file
//     that became unreadable or ignored must not delete the grid's copy;
//     the engine can act on Result.Skipped if it wants to).
//   - A record under a scanned path whose file is not on disk is reported
//     Gone (unless the record is Gone already). A folder root that is
//     missing or not a directory is an error, never "everything Gone": an
//     unmounted disk must not look like a mass delete.
//   - Directories walked are listed (Result.Dirs); it keeps no record of
//     them (the engine does).
//   - A file whose size, mtime or inode changes while it is read is
//     reported Unstable, not changed, for a later scan to pick up.
//
// It writes nothing to the database and never holds a file's content in
// memory (each hasher streams through one 256 KiB buffer).
//
// CONTRACT (written by the coordinator before the implementation; the
// implementer may add to it but must keep these signatures and meanings).
package scan

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/lafssync/lafssync/syncer/db"
)

// Change is one path whose local state differs from its record.
type Change struct {
	Path string // slash-separated, NFC, relative to the folder root
	// DiskPath is the file's name on disk, relative to the root and
	// slash-separated: Path unless the disk holds a non-NFC name. Empty
	// when Gone.
	DiskPath string
	// Gone: the file is no longer there. (An ignored or skipped path is
	// not reported Gone: see the package doc.)
	Gone bool
	// The new local state (when not Gone): Size, MtimeNs, Inode, Mode,
	// Hash and Key filled in; the synced fields (and Pending) copied from
	// the old record. A change of Mode alone is reported without reading
	// the file: Hash and Key are the record's. When Gone, Rec is Old with
	// Gone set.
	Rec db.Record
	// Had: there was a record before (Old is it).
	Had bool
	Old db.Record
}

// Skipped is a path the folder cannot sync, with the reason in the user's
// words ("symbolic link: not synced", "permission denied: …",
// "name not valid on Windows: …").
type Skipped struct {
	Path   string
	Reason string
}

// Ignorer says whether a path is ignored (syncer/ignore.Matcher) or has a
// name that cannot be synced ("" = fine).
type Ignorer interface {
	Ignored(rel string, isDir bool) bool
	BadName(rel string) string
}

// Keyer gives the convergent-key hasher of a file of the given size
// (immutable.Client.NewKeyHasher over the node's convergence secret and
// encoding parameters; ClientKeyer).
type Keyer func(size int64) (interface {
	Write(p []byte) (int, error)
	Key() ([16]byte, error)
}, error)

// Options are a scan's inputs.
type Options struct {
	Root string // the folder on disk
	// FS reads the folder; nil is OS(Root). (The contract's fs.FS could
	// not lstat, give inodes or refuse to follow links: this is scan's
	// own interface.)
	FS     FS
	Ignore Ignorer // nil: nothing ignored
	Keyer  Keyer   // nil: Key is left zero
	// Paths limits the scan to these paths (files or directories, each
	// scanned recursively); empty means the whole folder. They are NFC
	// paths as in Change.Path ("" or "." is the whole folder).
	Paths []string
	// A file whose size or mtime changes while it is read is left for
	// the next scan and reported in Result.Unstable.
	Workers int // concurrent hashers (default 4)
}

// Result is what a scan found.
type Result struct {
	Changes  []Change  // in Path order
	Skipped  []Skipped // in Path order
	Unstable []string  // changed while being read; scan again later
	// Dirs are the directories the scan walked (not ignored, not skipped,
	// readable), the folder root excepted, in Path order: the engine syncs
	// directories, empty ones included, from them.
	Dirs   []string
	Files  int   // files looked at
	Hashed int   // files read
	Bytes  int64 // bytes read
}

// bufSize is each hasher's read buffer: the scan's memory per worker.
const bufSize = 256 << 10

// Scan compares the folder with f's records. It writes nothing to the
// database: the engine commits Changes as it handles them.
func Scan(ctx context.Context, f *db.Folder, o Options) (*Result, error) {
	fsys := o.FS
	if fsys == nil {
		if o.Root == "" {
			return nil, errors.New("scan: no folder root given")
		}
		fsys = OS(o.Root)
	}
	roots, err := cleanPaths(o.Paths)
	if err != nil {
		return nil, err
	}
	fi, err := fsys.Lstat(".")
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		return nil, fmt.Errorf("scan folder %s: %w (is the disk mounted? the folder is not scanned until it is back)", o.Root, err)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s := &scanner{
		ctx:       ctx,
		fsys:      fsys,
		ign:       o.Ignore,
		keyer:     o.Keyer,
		remaining: map[string]db.Record{},
		protected: map[string]bool{},
		listings:  map[string][]fs.DirEntry{},
		fold:      cases.Fold(),
		res:       &Result{},
		jobs:      make(chan job, 64),
	}
	if err := s.load(f, roots); err != nil {
		return nil, err
	}

	workers := o.Workers
	if workers <= 0 {
		workers = 4
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			buf := make([]byte, bufSize)
			for j := range s.jobs {
				r := s.hash(j, buf)
				if r.err != nil {
					cancel(r.err)
				}
				s.mu.Lock()
				s.results = append(s.results, r)
				s.mu.Unlock()
			}
		})
	}
	walkErr := s.walkRoots(roots)
	close(s.jobs)
	wg.Wait()
	if walkErr == nil {
		walkErr = context.Cause(ctx)
	}
	if walkErr != nil {
		return nil, walkErr
	}
	return s.finish(), nil
}

// ClientKeyer is the Keyer of an immutable client's NewKeyHasher, given as
// a function so that scan does not depend on the client type.
func ClientKeyer[H interface {
	Write(p []byte) (int, error)
	Key() ([16]byte, error)
}](newKeyHasher func(size int64) (H, error)) Keyer {
	return func(size int64) (interface {
		Write(p []byte) (int, error)
		Key() ([16]byte, error)
	}, error) {
		h, err := newKeyHasher(size)
		if err != nil {
			return nil, err
		}
		return h, nil
	}
}

// cleanPaths turns Options.Paths into NFC, clean, non-overlapping roots
// ("" is the whole folder).
func cleanPaths(ps []string) ([]string, error) {
	if len(ps) == 0 {
		return []string{""}, nil
	}
	var out []string
	whole := false
	for _, p := range ps {
		if strings.HasPrefix(p, "/") || strings.Contains("/"+p+"/", "/../") {
			return nil, fmt.Errorf("scan: path %q is not relative to the folder", p)
		}
		c := path.Clean("/" + norm.NFC.String(p))[1:]
		whole = whole || c == ""
		out = append(out, c)
	}
	if whole {
		return []string{""}, nil
	}
	// Shortest first, so that a path's ancestors are kept before it.
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) })
	set := map[string]bool{}
	var kept []string
	for _, p := range out {
		under := false
		for a := p; !under; {
			under = set[a]
			i := strings.LastIndexByte(a, '/')
			if i < 0 {
				break
			}
			a = a[:i]
		}
		if !under {
			set[p] = true
			kept = append(kept, p)
		}
	}
	slices.Sort(kept)
	return kept, nil
}

type scanner struct {
	ctx   context.Context
	fsys  FS
	ign   Ignorer
	keyer Keyer
	fold  cases.Caser
	jobs  chan job

	// Owned by the walking goroutine until the workers are done.
	remaining map[string]db.Record // records not (yet) found on disk
	protected map[string]bool      // ignored or skipped paths: their records are left alone
	listings  map[string][]fs.DirEntry
	res       *Result
	changes   []Change // mode-only changes found by the walk

	mu      sync.Mutex // guards results
	results []result
}

// load reads the records under each root into remaining.
func (s *scanner) load(f *db.Folder, roots []string) error {
	return f.View(func(tx *db.Tx) error {
		if len(roots) == 1 && roots[0] == "" {
			// Sized once: growing a map of 100,000 records costs more
			// than counting them.
			n, err := tx.Count()
			if err != nil {
				return err
			}
			s.remaining = make(map[string]db.Record, n)
		}
		for _, r := range roots {
			if r != "" {
				old, ok, err := tx.Get(r)
				if err != nil {
					return err
				}
				if ok {
					s.remaining[r] = old
				}
				r += "/"
			}
			if err := tx.ForEach(r, func(p string, rec db.Record) error {
				s.remaining[p] = rec
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// child is one directory entry, classified.
type child struct {
	e         fs.DirEntry
	rel, disk string // NFC path, on-disk path
	isDir     bool
	ignored   bool
	skip      string // why not synced ("" = synced)
}

func (s *scanner) skip(rel, reason string) {
	s.res.Skipped = append(s.res.Skipped, Skipped{Path: rel, Reason: reason})
	s.protected[rel] = true
}

// list reads and classifies a directory's entries. The rules are the same
// whether the walk visits the whole directory or looks for one entry of
// it (Options.Paths), so a name skipped by one is skipped by the other.
// Listings are kept (keep) only for the directories above Options.Paths,
// which several paths may share.
func (s *scanner) list(dirRel, dirDisk string, keep bool) ([]child, error) {
	ents, ok := s.listings[dirDisk]
	if !ok {
		var err error
		if l, lazy := s.fsys.(lazyLister); lazy && keep {
			ents, err = l.readDirLazy(dirDisk)
		} else {
			ents, err = s.fsys.ReadDir(dirDisk)
		}
		if err != nil {
			return nil, err
		}
		if keep {
			s.listings[dirDisk] = ents
		}
	}
	out := make([]child, 0, len(ents))
	first := make(map[string]string, len(ents)) // folded NFC name → the name that has it
	for _, e := range ents {
		name := e.Name()
		nfc := name
		if !norm.NFC.IsNormalString(name) {
			nfc = norm.NFC.String(name)
		}
		c := child{e: e, rel: join(dirRel, nfc), isDir: e.IsDir()}
		if c.disk = c.rel; nfc != name || dirRel != dirDisk && dirDisk != "." {
			c.disk = join(dirDisk, name)
		}
		typ := e.Type()
		switch {
		case !utf8.ValidString(name):
			c.rel = join(dirRel, strings.ToValidUTF8(name, "\uFFFD"))
			c.skip = "file name is not valid UTF-8: not synced; rename it"
		case s.ign != nil && s.ign.Ignored(c.rel, c.isDir):
			c.ignored = true
		case typ&fs.ModeSymlink != 0:
			c.skip = "symbolic link: not synced"
		case typ&fs.ModeNamedPipe != 0:
			c.skip = "named pipe (FIFO): not synced"
		case typ&fs.ModeSocket != 0:
			c.skip = "socket: not synced"
		case typ&fs.ModeDevice != 0:
			c.skip = "device file: not synced"
		case !typ.IsRegular() && !typ.IsDir():
			c.skip = "special file: not synced"
		}
		if c.skip == "" && !c.ignored && s.ign != nil {
			if why := s.ign.BadName(c.rel); why != "" {
				c.skip = why
			}
		}
		if c.skip == "" && !c.ignored {
			key := foldKey(s.fold, nfc)
			if other, dup := first[key]; dup {
				c.skip = fmt.Sprintf("name differs from %q only by case or Unicode normalization: not synced (a Windows or macOS device can hold only one of them); rename one", other)
			} else {
				first[key] = name
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *scanner) walkRoots(roots []string) error {
	for _, r := range roots {
		if r == "" {
			if err := s.walkDir("", "."); err != nil {
				return err
			}
			continue
		}
		if err := s.walkPath(r); err != nil {
			return err
		}
	}
	return nil
}

// walkPath scans the subtree at the NFC path p, found component by
// component with the walk's own rules.
func (s *scanner) walkPath(p string) error {
	comps := strings.Split(p, "/")
	dirRel, dirDisk := "", "."
	for i, comp := range comps {
		kids, err := s.list(dirRel, dirDisk, true)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // gone: the records under p are reported Gone
		}
		if err != nil {
			s.skip(cmp.Or(dirRel, "."), readError("directory", err))
			s.protected[p] = true
			return nil
		}
		var c *child
		for k := range kids {
			if kids[k].rel == join(dirRel, comp) {
				c = &kids[k]
				break
			}
		}
		switch {
		case c == nil:
			return nil
		case c.ignored:
			s.protected[p] = true
			return nil
		case c.skip != "":
			s.skip(c.rel, c.skip)
			s.protected[p] = true
			return nil
		case i == len(comps)-1 && c.isDir:
			return s.walkDir(c.rel, c.disk)
		case i == len(comps)-1:
			return s.file(*c)
		case !c.isDir:
			return nil // a file where p needs a directory: p is gone
		}
		dirRel, dirDisk = c.rel, c.disk
	}
	return nil
}

func (s *scanner) walkDir(rel, disk string) error {
	if err := s.ctx.Err(); err != nil {
		return context.Cause(s.ctx)
	}
	kids, err := s.list(rel, disk, false)
	if errors.Is(err, fs.ErrNotExist) && rel != "" {
		return nil // removed while we walked
	}
	if err != nil {
		if rel == "" {
			return fmt.Errorf("scan folder: read its top directory: %w", err)
		}
		s.skip(rel, readError("directory", err))
		return nil
	}
	if rel != "" {
		s.res.Dirs = append(s.res.Dirs, rel)
	}
	for _, c := range kids {
		switch {
		case c.ignored:
			s.protected[c.rel] = true
		case c.skip != "":
			s.skip(c.rel, c.skip)
		case c.isDir:
			if err := s.walkDir(c.rel, c.disk); err != nil {
				return err
			}
		default:
			if err := s.file(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// foldKey is the name two names share when they differ only by case:
// ASCII names (most) are lowered without the Unicode folder's allocation.
func foldKey(fold cases.Caser, nfc string) string {
	for i := 0; i < len(nfc); i++ {
		if nfc[i] >= utf8.RuneSelf {
			return fold.String(nfc)
		}
	}
	return strings.ToLower(nfc)
}

func readError(what string, err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Sprintf("permission denied: cannot read this %s; give your user read access to it (%v)", what, err)
	}
	return fmt.Sprintf("cannot read this %s: %v", what, err)
}

// job is a file to read.
type job struct {
	c   child
	st  db.Record // the Lstat before reading
	old db.Record
	had bool
}

// result is a read file's outcome.
type result struct {
	job      job
	change   *Change
	unstable bool
	vanished bool
	skip     string
	read     bool
	bytes    int64
	err      error // fatal: the scan fails
}

// file looks at one regular file: unchanged (nothing to do), a mode-only
// change, or a file to read.
func (s *scanner) file(c child) error {
	if err := s.ctx.Err(); err != nil {
		return context.Cause(s.ctx)
	}
	fi, err := c.e.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		s.skip(c.rel, readError("file", err))
		return nil
	}
	if !fi.Mode().IsRegular() {
		s.skip(c.rel, "not a regular file: not synced")
		return nil
	}
	s.res.Files++
	st := State(fi)
	old, had := s.remaining[c.rel]
	delete(s.remaining, c.rel)
	if had && !old.Gone && old.Size == st.Size && old.MtimeNs == st.MtimeNs && (st.Inode == 0 || old.Inode == st.Inode) {
		if old.Mode != st.Mode {
			rec := old
			rec.Mode = st.Mode
			s.changes = append(s.changes, Change{Path: c.rel, DiskPath: c.disk, Rec: rec, Had: true, Old: old})
		}
		return nil
	}
	select {
	case s.jobs <- job{c: c, st: st, old: old, had: had}:
		return nil
	case <-s.ctx.Done():
		return context.Cause(s.ctx)
	}
}

// ctxReader stops a read when the scan is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// hash reads one file through SHA-256 and the convergent-key hasher, then
// checks the file did not change meanwhile.
func (s *scanner) hash(j job, buf []byte) result {
	r := result{job: j}
	if s.ctx.Err() != nil {
		return r // the scan is failing; the result is dropped
	}
	f, err := s.fsys.Open(j.c.disk)
	if errors.Is(err, fs.ErrNotExist) {
		r.vanished = true
		return r
	}
	if err != nil {
		r.skip = readError("file", err)
		return r
	}
	defer f.Close()
	r.read = true
	sum := sha256.New()
	var w io.Writer = sum
	var kh interface {
		Write(p []byte) (int, error)
		Key() ([16]byte, error)
	}
	if s.keyer != nil {
		if kh, err = s.keyer(j.st.Size); err != nil {
			r.err = fmt.Errorf("scan %s: convergent key: %w", j.c.rel, err)
			return r
		}
		w = io.MultiWriter(sum, kh)
	}
	n, err := io.CopyBuffer(w, ctxReader{s.ctx, f}, buf)
	r.bytes = n
	if err != nil {
		if s.ctx.Err() != nil {
			return r
		}
		r.skip = readError("file", err)
		return r
	}
	fi, err := s.fsys.Lstat(j.c.disk)
	if errors.Is(err, fs.ErrNotExist) {
		r.vanished = true
		return r
	}
	if err != nil {
		r.skip = readError("file", err)
		return r
	}
	after := State(fi)
	if n != j.st.Size || after.Size != j.st.Size || after.MtimeNs != j.st.MtimeNs || after.Inode != j.st.Inode || !fi.Mode().IsRegular() {
		r.unstable = true
		return r
	}
	rec := j.old
	rec.Size, rec.MtimeNs, rec.Inode, rec.Mode = j.st.Size, j.st.MtimeNs, j.st.Inode, j.st.Mode
	rec.Gone = false
	copy(rec.Hash[:], sum.Sum(nil))
	rec.Key = [16]byte{}
	if kh != nil {
		if rec.Key, err = kh.Key(); err != nil {
			r.err = fmt.Errorf("scan %s: convergent key: %w", j.c.rel, err)
			return r
		}
	}
	r.change = &Change{Path: j.c.rel, DiskPath: j.c.disk, Rec: rec, Had: j.had, Old: j.old}
	return r
}

// finish turns the walk and the workers' results into the Result.
func (s *scanner) finish() *Result {
	res := s.res
	res.Changes = s.changes
	for _, r := range s.results {
		if r.read {
			res.Hashed++
			res.Bytes += r.bytes
		}
		switch {
		case r.vanished:
			if r.job.had {
				s.remaining[r.job.c.rel] = r.job.old
			}
		case r.skip != "":
			s.skip(r.job.c.rel, r.skip)
		case r.unstable:
			res.Unstable = append(res.Unstable, r.job.c.rel)
		case r.change != nil:
			res.Changes = append(res.Changes, *r.change)
		}
	}
	for p, old := range s.remaining {
		if old.Gone || s.isProtected(p) {
			continue
		}
		rec := old
		rec.Gone = true
		res.Changes = append(res.Changes, Change{Path: p, Gone: true, Rec: rec, Had: true, Old: old})
	}
	slices.SortFunc(res.Changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(res.Skipped, func(a, b Skipped) int { return strings.Compare(a.Path, b.Path) })
	slices.Sort(res.Unstable)
	slices.Sort(res.Dirs)
	return res
}

// isProtected says whether p or a directory above it was ignored or
// skipped.
func (s *scanner) isProtected(p string) bool {
	for {
		if s.protected[p] {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}
