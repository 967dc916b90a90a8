package folder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/db"
	"github.com/lafssync/lafssync/syncer/ignore"
	"github.com/lafssync/lafssync/syncer/remote"
)

// sameStat says whether fi is the file the record last saw.
func sameStat(fi os.FileInfo, r db.Record) bool {
	if r.Gone || !fi.Mode().IsRegular() || fi.Size() != r.Size || fi.ModTime().UnixNano() != r.MtimeNs {
		return false
	}
	ino := inode(fi)
	return ino == 0 || r.Inode == 0 || ino == r.Inode
}

// upload streams one local file to the grid with the scan's key.
func (f *Folder) upload(ctx context.Context, a action) (string, error) {
	target := f.diskPath(a.path)
	file, err := os.Open(target)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			f.rescanLater(a.path) // deleted meanwhile: the rescan records it
			return "", errRescan
		}
		f.setErrWhile(a.path, "Cannot read the file: "+err.Error(), "Check its permissions; LAFS Sync retries.",
			func() bool { return f.changeWaiting(a.path) })
		return "", err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil || !sameStat(fi, a.rec) {
		f.rescanLater(a.path) // changed since the scan: scan (and hash) it again
		return "", errRescan
	}
	// The bytes sent are hashed again: a file rewritten in place while it
	// uploads (same size, or a writer stalled mid-write when the scan
	// read it) must not be committed under the scan's hash.
	sum := sha256.New()
	c, err := f.cfg.Remote.Upload(ctx, io.TeeReader(file, sum), a.rec.Size, a.rec.Key, func(done int64) { f.fileProgress(a.path, "up", done, a.rec.Size) })
	if err == nil {
		after, serr := file.Stat()
		if serr != nil || !sameStat(after, a.rec) || !bytes.Equal(sum.Sum(nil), a.rec.Hash[:]) {
			f.log.Info("changed while uploading: scanning it again", "path", a.path)
			if serr == nil && sameStat(after, a.rec) {
				// Other bytes under the same size and mtime (a coarse
				// clock, or a rewrite that restored the mtime): the scan
				// would take the file as unchanged, so make it read it.
				f.forgetStat(a.path, a.rec.Hash)
			}
			f.rescanLater(a.path)
			return "", errRescan
		}
	}
	if err != nil {
		if errors.Is(err, immutable.ErrSourceChanged) {
			f.rescanLater(a.path)
			return "", errRescan
		}
		if ctx.Err() == nil {
			f.setErrWhile(a.path, "Could not upload it: "+userGridError(err, f.cfg.Grid.Health()), "LAFS Sync retries by itself; the file stays as it is.",
				func() bool { return f.changeWaiting(a.path) })
		}
		return "", err
	}
	f.log.Info("uploaded", "path", a.path, "bytes", a.rec.Size)
	return c, nil
}

// download fetches the grid's version of a file to a temporary file in the
// same directory, verified and flushed, then renames it into place; with a
// conflict, the local file is first renamed to its conflict copy.
func (f *Folder) download(ctx context.Context, a action) error {
	target := f.diskPath(a.path)
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.setErr(a.path, "Cannot make its folder here: "+err.Error(), "A file may be in the way of the folder; rename it.")
		return err
	}
	fi, err := os.Lstat(target)
	exists := err == nil
	if exists && !fi.Mode().IsRegular() {
		f.setErr(a.path, "Something that is not a file is in the way here.", "Rename or remove it; then the grid's file arrives.")
		return errors.New("not a regular file in the way")
	}
	if exists && a.kind == actDownload && !(a.had && sameStat(fi, a.rec)) {
		f.rescanLater(a.path) // changed here since the scan: decide again
		return errRescan
	}
	if a.kind == actConflict && exists && f.conflictCopies(a.path) >= MaxConflictCopies {
		f.setErr(a.path, fmt.Sprintf("It changed here and on another device again, and it already has %d conflict copies.", MaxConflictCopies),
			"Resolve the conflict copies (keep what you want, delete the others); until then this file does not sync.")
		return nil // not retried: the user must act
	}
	tmp, err := os.CreateTemp(dir, ignore.TempPrefix+"*")
	if err != nil {
		f.setErr(a.path, "Cannot write in its folder: "+err.Error(), "Check the folder's permissions and free space; LAFS Sync retries.")
		return err
	}
	tmpName := tmp.Name()
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	size := a.entry.Meta.Size
	h := sha256.New()
	k, err := f.cfg.Keyer(size)
	if err != nil {
		return err
	}
	pw := &progressWriter{fn: func(n int64) { f.fileProgress(a.path, "down", n, size) }}
	if err := f.cfg.Remote.Download(ctx, a.entry.Cap, io.MultiWriter(tmp, h, k, pw)); err != nil {
		if ctx.Err() != nil {
			return err
		}
		if errors.Is(err, syscall.ENOSPC) {
			f.setErr(a.path, fmt.Sprintf("The disk is full: no room to download it (%s).", humanBytes(size)), "Free some space; LAFS Sync retries by itself.")
		} else {
			f.setErr(a.path, "Could not download it: "+userGridError(err, f.cfg.Grid.Health()), "LAFS Sync retries by itself; your local copy is untouched.")
		}
		return err
	}
	if err := tmp.Sync(); err != nil {
		f.setErr(a.path, "Could not write it to disk: "+err.Error(), "Free some space; LAFS Sync retries by itself.")
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if pw.n != size && !a.entry.Foreign {
		size = pw.n // metadata said otherwise; the verified bytes win
	}
	_ = os.Chmod(tmpName, fileMode(uint32(a.entry.Meta.Mode)))
	if mt := a.entry.Meta.Mtime; !mt.IsZero() {
		_ = os.Chtimes(tmpName, mt, mt)
	}
	var hash [32]byte
	copy(hash[:], h.Sum(nil))
	key, err := k.Key()
	if err != nil {
		return err
	}
	// The record the file gets, from the temporary file (a rename keeps
	// its size, mtime, mode and inode), is written ahead as the landing
	// of this download: a crash after the rename but before the record
	// is saved must not make the grid's version look like a local edit
	// (a conflict with itself, or an older version sent back).
	tst, err := os.Lstat(tmpName)
	if err != nil {
		return err
	}
	r := db.Record{
		Size: tst.Size(), MtimeNs: tst.ModTime().UnixNano(), Inode: inode(tst), Mode: uint32(tst.Mode().Perm()),
		Hash: hash, Key: key,
		Synced: true, Cap: a.entry.Cap, Ver: a.entry.Meta.Ver.Clone(), SyncedHash: hash,
	}
	landing, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	if err := f.cfg.DB.Update(func(tx *db.Tx) error { return tx.PutMeta(landingKey(a.path), landing) }); err != nil {
		f.log.Warn("database", "err", err)
		return err
	}
	landed := false
	defer func() {
		if !landed {
			f.update(func(tx *db.Tx) error { return tx.PutMeta(landingKey(a.path), nil) })
		}
	}()
	// The local file: a conflict keeps it under its conflict name; an
	// expected local file must still be what the scan saw.
	var copyPath string
	var copyRec db.Record
	if fi, err := os.Lstat(target); err == nil {
		conflict := a.kind == actConflict || !(a.had && sameStat(fi, a.rec))
		if conflict {
			if f.conflictCopies(a.path) >= MaxConflictCopies {
				f.setErr(a.path, fmt.Sprintf("It already has %d conflict copies.", MaxConflictCopies), "Resolve the conflict copies; until then this file does not sync.")
				return nil
			}
			copyPath = conflictName(a.path, f.clk.Now(), f.cfg.Device)
			if err := os.Rename(target, f.diskPath(copyPath)); err != nil {
				f.setErr(a.path, "Could not keep the local version as a conflict copy: "+err.Error(), "Nothing was overwritten; LAFS Sync retries.")
				return err
			}
			copyRec = a.rec
			if st, err := os.Lstat(f.diskPath(copyPath)); err == nil {
				copyRec.Size, copyRec.MtimeNs, copyRec.Inode = st.Size(), st.ModTime().UnixNano(), inode(st)
			}
			copyRec.Synced, copyRec.Cap, copyRec.Ver, copyRec.SyncedHash = false, "", nil, [32]byte{}
			copyRec.Pending, copyRec.Gone = true, false
			if a.rec.Gone || !a.had || !sameStat(fi, a.rec) {
				// The scan never read this local version: the next
				// scan of the copy reads and hashes it.
				f.rescanLater(copyPath)
				copyRec = db.Record{}
			}
		}
	}
	if err := os.Rename(tmpName, target); err != nil {
		f.setErr(a.path, "Could not put the downloaded file in place: "+err.Error(), "LAFS Sync retries by itself.")
		return err
	}
	keep = true
	syncDir(dir)
	landed = true
	if testHookLanded != nil && testHookLanded(ctx, a.path) {
		return errors.New("test: crashed after putting the download in place")
	}
	f.update(func(tx *db.Tx) error {
		if copyPath != "" && copyRec.Pending {
			if err := tx.Put(copyPath, copyRec); err != nil {
				return err
			}
		}
		if err := tx.Put(a.path, r); err != nil {
			return err
		}
		return tx.PutMeta(landingKey(a.path), nil)
	})
	f.clearErr(a.path)
	if copyPath != "" {
		f.addConflict(api.Conflict{Path: a.path, Copy: copyPath, Time: f.clk.Now()})
		f.log.Info("conflict: both changed; the local version kept as a copy", "path", a.path, "copy", copyPath)
	} else {
		f.log.Info("downloaded", "path", a.path, "bytes", size)
	}
	return nil
}

// syncDir flushes a directory so a rename in it survives a crash.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

type progressWriter struct {
	n  int64
	fn func(int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	p.fn(p.n)
	return len(b), nil
}

// userGridError says what went wrong with the grid in the user's words.
func userGridError(err error, h remote.Health) string {
	var msg string
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		msg = "the grid did not answer in time"
	case errors.Is(err, mutable.ErrChangedWhileReading):
		msg = "other devices kept changing this folder on the grid while it was being read (nothing is damaged)"
	case h.Known > 0 && !h.OK():
		// Too few servers is the whole story: the error's own words
		// (placement, happiness) say it again less plainly, and the
		// log has them.
		return fmt.Sprintf("only %d of %d storage servers are reachable, %d needed", h.Reachable, h.Known, h.Happy)
	default:
		msg = err.Error()
	}
	if h.Known > 0 && !h.OK() {
		msg = fmt.Sprintf("%s (%d of %d storage servers reachable, %d needed)", msg, h.Reachable, h.Known, h.Happy)
	}
	return msg
}

func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// rescanLater schedules a path for the next scan (safe from transfer
// workers; the engine reads localPaths only when no transfer runs).
func (f *Folder) rescanLater(p string) {
	f.mu.Lock()
	f.localPaths[p] = true
	f.mu.Unlock()
}

// forgetStat makes the next scan read path p again (its record's mtime is
// cleared), if its record still holds the content hash h.
func (f *Folder) forgetStat(p string, h [32]byte) {
	f.update(func(tx *db.Tx) error {
		r, ok, err := tx.Get(p)
		if err != nil || !ok || r.Hash != h {
			return err
		}
		r.MtimeNs = 0
		return tx.Put(p, r)
	})
}

// testHookLanded, set by a test, runs once a download is in place and
// before its record is saved; true makes the download stop there, as a
// process killed at that moment would.
var testHookLanded func(ctx context.Context, path string) bool

// landingPrefix starts the db meta keys of downloads being put in place.
const landingPrefix = "landing:"

func landingKey(p string) string { return landingPrefix + p }

// recoverLandings finishes, at start, the downloads a crash cut off
// between putting the file in place and saving its record: a file that is
// exactly the one landed (size, mtime, inode) gets the grid version's
// record; otherwise (the rename never happened) the landing is dropped.
func (f *Folder) recoverLandings() error {
	type landing struct {
		key string
		r   db.Record
		ok  bool
	}
	var ls []landing
	if err := f.cfg.DB.View(func(tx *db.Tx) error {
		return tx.ForEachMeta(landingPrefix, func(k string, v []byte) error {
			l := landing{key: k}
			l.ok = l.r.UnmarshalBinary(v) == nil
			ls = append(ls, l)
			return nil
		})
	}); err != nil || len(ls) == 0 {
		return err
	}
	return f.cfg.DB.Update(func(tx *db.Tx) error {
		for _, l := range ls {
			p := strings.TrimPrefix(l.key, landingPrefix)
			if fi, err := os.Lstat(f.diskPath(p)); l.ok && err == nil && sameStat(fi, l.r) {
				if err := tx.Put(p, l.r); err != nil {
					return err
				}
				f.log.Info("recorded a download a crash had cut short", "path", p)
			}
			if err := tx.PutMeta(l.key, nil); err != nil {
				return err
			}
		}
		return nil
	})
}
