package conflicts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/ignore"
)

// Choice is what the user keeps.
type Choice int

// Choices.
const (
	KeepMine Choice = iota
	KeepTheirs
	KeepBoth
)

func (c Choice) String() string {
	switch c {
	case KeepMine:
		return "keep mine"
	case KeepTheirs:
		return "keep theirs"
	}
	return "keep both"
}

// History is the part of the folder sync the resolver asks whether a
// version is on the grid (*syncer.Manager has it).
type History interface {
	History(ctx context.Context, folder, path string) ([]api.Version, error)
}

// Resolver resolves conflicts by file operations in the user's folder.
type Resolver struct {
	// Device is this computer's device ID (syncer.Config.Device): copies
	// named with it hold this computer's version.
	Device string
	// KeepDir is where a version about to be removed or replaced goes
	// when the grid does not have it yet; "" refuses such a choice.
	KeepDir string
	Grid    History
	Now     func() time.Time // nil: time.Now
}

// ErrNotOnGrid: the choice would remove the only copy of a version (it is
// not on the grid yet) and there is no KeepDir to move it to.
var ErrNotOnGrid = errors.New("not on the grid yet")

// Result says what a resolution did, in the user's words.
type Result struct {
	Kept    string // the path (inside the folder) that holds the kept version
	Other   string // where the other version is: a path in the folder (keep both), in KeepDir, or "" (the grid's history)
	Message string
}

func (r *Resolver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Resolve carries out choice on the conflict copy c.
func (r *Resolver) Resolve(ctx context.Context, c Copy, choice Choice) (Result, error) {
	cfi, ok, err := stat(c.disk(c.Copy))
	if err != nil {
		return Result{}, fmt.Errorf("read %s: %w", c.Copy, err)
	}
	if !ok {
		return Result{}, fmt.Errorf("the conflict copy %s is not there any more (resolved already?)", c.Copy)
	}
	if !cfi.Mode().IsRegular() {
		return Result{}, fmt.Errorf("%s is not a regular file; rename or remove it yourself", c.Copy)
	}
	if choice == KeepBoth {
		return r.keepBoth(c)
	}
	copyWins := (choice == KeepMine) == c.Mine(r.Device)
	if copyWins {
		return r.copyWins(ctx, c, cfi)
	}
	return r.originalWins(ctx, c, cfi)
}

// originalWins removes the copy, keeping its version recoverable.
func (r *Resolver) originalWins(ctx context.Context, c Copy, cfi os.FileInfo) (Result, error) {
	where, err := r.secure(ctx, c, c.Copy, cfi, true)
	if err != nil {
		return Result{}, err
	}
	res := Result{Kept: c.Path, Other: where}
	if where == "" {
		if err := os.Remove(c.disk(c.Copy)); err != nil {
			return Result{}, fmt.Errorf("remove the conflict copy %s: %w", c.Copy, err)
		}
		res.Message = fmt.Sprintf("Kept %s as it is. The other version (%s) was removed here; the grid keeps it in its history: open History and type %s to get it back.", c.Path, c.Copy, c.Copy)
	} else {
		res.Message = fmt.Sprintf("Kept %s as it is. The other version (%s) was not on the grid yet, so it was moved to %s.", c.Path, c.Copy, where)
	}
	syncDir(filepath.Dir(c.disk(c.Copy)))
	return res, nil
}

// copyWins renames the copy over the original, keeping the original's
// version recoverable.
func (r *Resolver) copyWins(ctx context.Context, c Copy, cfi os.FileInfo) (Result, error) {
	dst := c.disk(c.Path)
	ofi, exists, err := stat(dst)
	if err != nil {
		return Result{}, fmt.Errorf("read %s: %w", c.Path, err)
	}
	if exists && !ofi.Mode().IsRegular() {
		return Result{}, fmt.Errorf("%s is not a regular file; rename or remove it yourself", c.Path)
	}
	where := ""
	if exists {
		if where, err = r.secure(ctx, c, c.Path, ofi, false); err != nil {
			return Result{}, err
		}
	}
	if err := os.Rename(c.disk(c.Copy), dst); err != nil {
		return Result{}, fmt.Errorf("put %s in place of %s: %w", c.Copy, c.Path, err)
	}
	syncDir(filepath.Dir(dst))
	res := Result{Kept: c.Path, Other: where}
	switch {
	case !exists:
		res.Message = fmt.Sprintf("%s now holds the version from %s (there was no other file at that name).", c.Path, c.Copy)
	case where == "":
		res.Message = fmt.Sprintf("%s now holds the version from %s. The version it replaced stays in the grid's history of %s (open History to get it back).", c.Path, c.Copy, c.Path)
	default:
		res.Message = fmt.Sprintf("%s now holds the version from %s. The version it replaced was not on the grid yet, so a copy of it was saved to %s.", c.Path, c.Copy, where)
	}
	return res, nil
}

// secure makes sure the version in the folder's file rel survives its
// removal (move) or replacement (!move): "" when the grid has it (its
// history will), else the path in KeepDir it was moved or copied to.
func (r *Resolver) secure(ctx context.Context, c Copy, rel string, fi os.FileInfo, move bool) (string, error) {
	why := r.onGrid(ctx, c.Folder, rel, fi)
	if why == "" {
		return "", nil
	}
	if r.KeepDir == "" {
		return "", fmt.Errorf("nothing was changed: %s %s, so removing it here would lose that version; wait until the folder is up to date and try again, or choose Keep both (%w)", rel, why, ErrNotOnGrid)
	}
	dst, err := r.keepPath(c.Folder, rel)
	if err != nil {
		return "", err
	}
	if move {
		err = moveFile(c.disk(rel), dst)
	} else {
		err = copyFile(c.disk(rel), dst, fi)
	}
	if err != nil {
		return "", fmt.Errorf("save %s to %s first (nothing was changed): %w", rel, dst, err)
	}
	return dst, nil
}

// onGrid is "" when the grid's current version of rel is the local file
// (same size, same mtime to the microsecond the grid keeps), else why not.
func (r *Resolver) onGrid(ctx context.Context, folder, rel string, fi os.FileInfo) string {
	if r.Grid == nil {
		return "cannot be checked on the grid"
	}
	vs, err := r.Grid.History(ctx, folder, rel)
	if err != nil {
		if errors.Is(err, api.ErrNoFolder) {
			return "is not on the grid yet"
		}
		return "could not be checked on the grid (" + err.Error() + ")"
	}
	for _, v := range vs {
		if v.N == 0 && !v.Deleted {
			d := v.Mtime.Sub(fi.ModTime())
			if v.Size == fi.Size() && d < time.Microsecond && d > -time.Microsecond {
				return ""
			}
			return "changed here since its last upload"
		}
	}
	return "is not on the grid yet"
}

// keepPath is a new path in KeepDir for rel of folder: KEEPDIR/FOLDER/REL
// with the time added, never an existing file's.
func (r *Resolver) keepPath(folder, rel string) (string, error) {
	base := filepath.Join(r.KeepDir, safeName(folder), filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(base), 0o700); err != nil {
		return "", fmt.Errorf("make %s: %w", filepath.Dir(base), err)
	}
	stamp := r.now().UTC().Format("20060102-150405")
	for i := 1; i < 1000; i++ {
		p := base + ".kept-" + stamp
		if i > 1 {
			p += fmt.Sprintf("-%d", i)
		}
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no free name for %s in %s", rel, r.KeepDir)
}

func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		s = "_"
	}
	return s
}

// keepBoth renames the copy to an ordinary name beside the original,
// never replacing a file.
func (r *Resolver) keepBoth(c Copy) (Result, error) {
	dir, name := path.Split(c.Path)
	ext := path.Ext(name)
	if ext == name {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)
	label := fmt.Sprintf("kept from %s %s", c.Device, c.Time.Local().Format("2006-01-02 150405"))
	for i := 1; i < 100; i++ {
		n := stem + " (" + label + ")" + ext
		if i > 1 {
			n = fmt.Sprintf("%s (%s, %d)%s", stem, label, i, ext)
		}
		rel := dir + n
		err := renameNoReplace(c.disk(c.Copy), c.disk(rel))
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("rename %s: %w", c.Copy, err)
		}
		syncDir(filepath.Dir(c.disk(rel)))
		return Result{Kept: c.Path, Other: rel, Message: fmt.Sprintf(
			"Kept both: %s stays as it is, and the other version is now %s. Both sync to your other devices.", c.Path, rel)}, nil
	}
	return Result{}, fmt.Errorf("no free name beside %s for the conflict copy", c.Path)
}

// renameNoReplace renames src to dst unless dst exists (fs.ErrExist): a
// hard link and an unlink where the file system has hard links, else a
// check and a rename.
func renameNoReplace(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil {
		if err := os.Remove(src); err != nil {
			os.Remove(dst) // the copy stays where it was
			return err
		}
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return fs.ErrExist
	}
	if _, err := os.Lstat(dst); err == nil {
		return fs.ErrExist
	}
	return os.Rename(src, dst)
}

// moveFile moves src to dst (a new name): a rename, or across file
// systems a copy (temporary file, sync, rename) and then a removal.
func moveFile(src, dst string) error {
	if err := renameNoReplace(src, dst); err == nil {
		return nil
	} else if errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := copyFile(src, dst, fi); err != nil {
		return err
	}
	return os.Remove(src)
}

// copyFile copies src to dst through a temporary file beside dst that is
// synced and then renamed into place, keeping the mtime.
func copyFile(src, dst string, fi os.FileInfo) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ignore.TempPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, in); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	_ = os.Chmod(tmp.Name(), fi.Mode().Perm())
	_ = os.Chtimes(tmp.Name(), fi.ModTime(), fi.ModTime())
	if err = renameNoReplace(tmp.Name(), dst); err != nil {
		return err
	}
	syncDir(filepath.Dir(dst))
	return nil
}

// syncDir flushes a directory so a rename in it survives a crash (not on
// Windows, where a directory cannot be opened for it).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
