package conflicts

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/ignore"
)

// Bounds on what one look at a folder costs: a folder is walked at most
// maxWalked entries deep, and at most maxCopies copies are listed.
const (
	maxWalked = 1_000_000
	maxCopies = 1000
)

// marker is what the engine puts between a conflict copy's base name and
// its time and device.
const marker = ".sync-conflict-"

// Copy is one conflict copy in a folder.
type Copy struct {
	Folder string    // the folder's name
	Root   string    // the folder's local directory
	Path   string    // the original, a slash path inside the folder
	Copy   string    // the conflict copy, a slash path inside the folder
	Time   time.Time // when the copy was made
	Device string    // the device that made it: the copy holds its version
}

// ParseName reads a conflict copy's file name (no directory):
// NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.EXT gives NAME.EXT, the time
// and DEVICE. Both of the engine's spellings of a name without an
// extension (".bashrc.sync-conflict-…-D" from a download and
// ".sync-conflict-…-D.bashrc" from a restore) give ".bashrc".
func ParseName(name string) (orig string, t time.Time, device string, ok bool) {
	i := strings.LastIndex(name, marker)
	if i < 0 {
		return "", time.Time{}, "", false
	}
	base, rest := name[:i], name[i+len(marker):]
	const stamp = "20060102-150405"
	if len(rest) < len(stamp)+2 || rest[len(stamp)] != '-' {
		return "", time.Time{}, "", false
	}
	t, err := time.ParseInLocation(stamp, rest[:len(stamp)], time.UTC)
	if err != nil {
		return "", time.Time{}, "", false
	}
	device, ext := rest[len(stamp)+1:], ""
	if j := strings.IndexByte(device, '.'); j >= 0 {
		device, ext = device[:j], device[j:]
	}
	orig = base + ext
	if device == "" || orig == "" || strings.HasPrefix(orig, marker) {
		return "", time.Time{}, "", false
	}
	return orig, t, device, true
}

// Find lists the conflict copies under a folder's local directory, newest
// first; known are the engine's records (FolderStatus.Conflicts), whose
// times are used where they name a copy found. A copy the engine reported
// that is no longer on disk is not listed: it was resolved.
func Find(folder, root string, known []api.Conflict) ([]Copy, error) {
	byCopy := map[string]api.Conflict{}
	for _, c := range known {
		byCopy[c.Copy] = c
	}
	var out []Copy
	walked := 0
	errStop := errors.New("stop")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // an unreadable subdirectory: list what can be read
		}
		walked++
		if walked > maxWalked || len(out) >= maxCopies {
			return errStop
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && strings.HasPrefix(name, ignore.TempPrefix) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.Contains(name, marker) {
			return nil
		}
		orig, t, dev, ok := ParseName(name)
		if !ok {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		c := Copy{Folder: folder, Root: root, Path: path.Join(path.Dir(rel), orig), Copy: rel, Time: t, Device: dev}
		if k, ok := byCopy[rel]; ok {
			c.Time = k.Time
			if k.Path != "" {
				c.Path = k.Path
			}
		}
		out = append(out, c)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].Copy < out[j].Copy
	})
	return out, nil
}

// disk is where a slash path of the folder is on disk.
func (c Copy) disk(rel string) string { return filepath.Join(c.Root, filepath.FromSlash(rel)) }

// Mine says whether the copy holds this computer's version (device is
// this computer's device ID).
func (c Copy) Mine(device string) bool { return device != "" && c.Device == device }

// stat is a file's size and mtime, or ok false when it is not there.
func stat(p string) (fi os.FileInfo, ok bool, err error) {
	fi, err = os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return fi, true, nil
}
