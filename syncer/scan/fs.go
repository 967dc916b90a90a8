package scan

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/lafssync/lafssync/syncer/db"
)

// FS is the filesystem a scan reads: the folder on disk, or a fake that
// misbehaves on purpose in tests. Names are slash-separated and relative
// to the folder root ("." is the root), as they are on disk (not
// normalized). Nothing follows symbolic links.
type FS interface {
	// ReadDir lists a directory, sorted by name; an entry's Info is its
	// Lstat (os.ReadDir, or entries that already hold it).
	ReadDir(name string) ([]fs.DirEntry, error)
	// Lstat describes name without following a link (os.Lstat).
	Lstat(name string) (fs.FileInfo, error)
	// Open opens a regular file for reading; it fails rather than follow
	// a link or block on a FIFO put in the file's place.
	Open(name string) (io.ReadCloser, error)
}

// OS is the FS of the directory root on the local disk.
func OS(root string) FS { return osFS{root: root} }

type osFS struct{ root string }

func (o osFS) full(name string) string { return filepath.Join(o.root, filepath.FromSlash(name)) }

// ReadDir lstats every entry as it lists them: (*os.File).Readdir does so
// relative to the directory (fstatat on unix), which is markedly cheaper
// than an Lstat of each entry's whole path, and a rescan is mostly that.
func (o osFS) ReadDir(name string) ([]fs.DirEntry, error) {
	d, err := os.Open(o.full(name))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	infos, err := d.Readdir(-1)
	if err != nil {
		return nil, err
	}
	ents := make([]fs.DirEntry, len(infos))
	for i, fi := range infos {
		ents[i] = fs.FileInfoToDirEntry(fi)
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, nil
}

// readDirLazy lists without lstatting: the walk down to Options.Paths
// looks at one entry of each directory, not all of them.
func (o osFS) readDirLazy(name string) ([]fs.DirEntry, error) { return os.ReadDir(o.full(name)) }

// lazyLister is an FS that can list a directory without an Lstat of every
// entry (Info then lstats the one entry asked).
type lazyLister interface {
	readDirLazy(name string) ([]fs.DirEntry, error)
}

func (o osFS) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(o.full(name)) }

func (o osFS) Open(name string) (io.ReadCloser, error) {
	f, err := openNoFollow(o.full(name))
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: o.full(name), Err: errors.New("not a regular file")}
	}
	return f, nil
}

// State is the part of a record a scan compares: Size, MtimeNs, Inode and
// Mode of fi (from Lstat), the rest zero. The engine uses it to record a
// file it has just written (a download) so that the next scan does not
// read it again.
func State(fi fs.FileInfo) db.Record {
	return db.Record{
		Size:    fi.Size(),
		MtimeNs: fi.ModTime().UnixNano(),
		Inode:   inode(fi),
		Mode:    uint32(fi.Mode().Perm()),
	}
}

// DiskPath finds the on-disk name, relative to the folder root, of the
// NFC path p (a Change.Path or a grid path): the same string when the disk
// holds the name in NFC (Linux, Windows, and macOS for names created as
// NFC), else the name whose NFC form matches (macOS keeps names as they
// were created, often NFD). It fails with an error wrapping fs.ErrNotExist
// when no such path exists; then the engine creates p as given.
func DiskPath(fsys FS, p string) (string, error) {
	if p == "" || p == "." {
		return ".", nil
	}
	if _, err := fsys.Lstat(p); err == nil {
		return p, nil
	}
	disk := "."
	for _, comp := range strings.Split(p, "/") {
		ents, err := fsys.ReadDir(disk)
		if err != nil {
			return "", fmt.Errorf("find %q on disk: %w", p, err)
		}
		found := ""
		for _, e := range ents {
			if e.Name() == comp || norm.NFC.String(e.Name()) == comp {
				found = e.Name()
				break
			}
		}
		if found == "" {
			return "", fmt.Errorf("find %q on disk: %w", p, fs.ErrNotExist)
		}
		disk = join(disk, found)
	}
	return disk, nil
}

// join is path.Join for names already clean, with "." and "" as the root.
func join(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	return dir + "/" + name
}
