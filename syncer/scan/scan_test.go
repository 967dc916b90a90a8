package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/storage/mem"
	"github.com/lafssync/lafssync/syncer/db"
)

func newFolder(t testing.TB) *db.Folder {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "sync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d.Folder("test")
}

func write(t testing.TB, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func scan(t testing.TB, f *db.Folder, o Options) *Result {
	t.Helper()
	res, err := Scan(context.Background(), f, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// commit records the changes as the engine would after syncing them.
func commit(t testing.TB, f *db.Folder, res *Result) {
	t.Helper()
	if err := f.Update(func(tx *db.Tx) error {
		for _, c := range res.Changes {
			if c.Gone {
				if err := tx.Delete(c.Path); err != nil {
					return err
				}
				continue
			}
			r := c.Rec
			r.Synced, r.SyncedHash, r.Cap, r.Pending = true, r.Hash, "URI:CHK:fake", false
			if err := tx.Put(c.Path, r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func paths(cs []Change) []string {
	var out []string
	for _, c := range cs {
		p := c.Path
		if c.Gone {
			p = "-" + p
		}
		out = append(out, p)
	}
	return out
}

func skipped(ss []Skipped) map[string]string {
	out := map[string]string{}
	for _, s := range ss {
		out[s.Path] = s.Reason
	}
	return out
}

func sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func TestNewChangedUnchangedDeleted(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "a.txt", "alpha")
	write(t, root, "b/c.txt", "gamma")
	write(t, root, "d.txt", "delta")
	res := scan(t, f, Options{Root: root})
	if got := paths(res.Changes); !slices.Equal(got, []string{"a.txt", "b/c.txt", "d.txt"}) {
		t.Fatalf("first scan: %q", got)
	}
	if res.Files != 3 || res.Hashed != 3 || res.Bytes != 15 {
		t.Fatalf("first scan: files %d hashed %d bytes %d", res.Files, res.Hashed, res.Bytes)
	}
	for _, c := range res.Changes {
		if c.Had || c.Rec.Hash == [32]byte{} || c.Rec.Size != 5 || c.Rec.Inode == 0 || c.Rec.Mode != 0o644 || c.DiskPath != c.Path {
			t.Errorf("%s: %+v", c.Path, c)
		}
	}
	if res.Changes[0].Rec.Hash != sum("alpha") {
		t.Error("a.txt hash is not the SHA-256 of its content")
	}
	commit(t, f, res)

	res = scan(t, f, Options{Root: root})
	if len(res.Changes) != 0 || res.Hashed != 0 || res.Files != 3 {
		t.Fatalf("unchanged scan: %q hashed %d files %d", paths(res.Changes), res.Hashed, res.Files)
	}

	write(t, root, "a.txt", "alpha, longer")
	os.Remove(filepath.Join(root, "b/c.txt"))
	res = scan(t, f, Options{Root: root})
	if got := paths(res.Changes); !slices.Equal(got, []string{"a.txt", "-b/c.txt"}) {
		t.Fatalf("after edit and delete: %q", got)
	}
	if res.Hashed != 1 {
		t.Fatalf("hashed %d files, want 1 (only the edited one)", res.Hashed)
	}
	a, gone := res.Changes[0], res.Changes[1]
	if !a.Had || a.Old.Hash != sum("alpha") || a.Rec.Hash != sum("alpha, longer") || !a.Rec.Synced || a.Rec.Cap != "URI:CHK:fake" {
		t.Errorf("edited: %+v", a)
	}
	if !gone.Had || !gone.Rec.Gone || gone.Old.Hash != sum("gamma") || gone.DiskPath != "" {
		t.Errorf("deleted: %+v", gone)
	}
	commit(t, f, res)
	// A record already Gone is not reported again.
	if err := f.Update(func(tx *db.Tx) error {
		return tx.Put("old/gone.txt", db.Record{Gone: true, Synced: true})
	}); err != nil {
		t.Fatal(err)
	}
	if res := scan(t, f, Options{Root: root}); len(res.Changes) != 0 {
		t.Fatalf("after commit: %q", paths(res.Changes))
	}
}

func TestTouchWithSameContentIsAChange(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "a", "same")
	commit(t, f, scan(t, f, Options{Root: root}))
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(root, "a"), later, later); err != nil {
		t.Fatal(err)
	}
	res := scan(t, f, Options{Root: root})
	if len(res.Changes) != 1 || res.Hashed != 1 {
		t.Fatalf("touch: %q hashed %d", paths(res.Changes), res.Hashed)
	}
	c := res.Changes[0]
	if c.Rec.Hash != c.Old.Hash || c.Rec.MtimeNs == c.Old.MtimeNs || c.Rec.MtimeNs != later.UnixNano() {
		t.Fatalf("touch: %+v", c)
	}
}

func TestModeOnlyChangeIsNotRead(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "run.sh", "#!/bin/sh")
	commit(t, f, scan(t, f, Options{Root: root}))
	if err := os.Chmod(filepath.Join(root, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	res := scan(t, f, Options{Root: root})
	if len(res.Changes) != 1 || res.Hashed != 0 || res.Changes[0].Rec.Mode != 0o755 || res.Changes[0].Rec.Hash != sum("#!/bin/sh") {
		t.Fatalf("chmod: %+v hashed %d", res.Changes, res.Hashed)
	}
}

func TestRenameKeepsHash(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "x/old.txt", "content that moves")
	commit(t, f, scan(t, f, Options{Root: root}))
	if err := os.Rename(filepath.Join(root, "x"), filepath.Join(root, "y")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "y/old.txt"), filepath.Join(root, "y/new.txt")); err != nil {
		t.Fatal(err)
	}
	res := scan(t, f, Options{Root: root})
	if got := paths(res.Changes); !slices.Equal(got, []string{"-x/old.txt", "y/new.txt"}) {
		t.Fatalf("rename: %q", got)
	}
	moved := res.Changes[1]
	if moved.Had || moved.Rec.Hash != sum("content that moves") || moved.Rec.Inode != res.Changes[0].Old.Inode {
		t.Fatalf("moved: %+v", moved)
	}
	// The engine finds the content on the grid by the new file's hash.
	f.View(func(tx *db.Tx) error {
		p, _, ok, err := tx.ByHash(moved.Rec.Hash)
		if !ok || err != nil || p != "x/old.txt" {
			t.Errorf("ByHash = %q %v %v", p, ok, err)
		}
		return nil
	})
}

func TestSymlinkAndFIFOSkipped(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "real.txt", "real")
	write(t, root, "was-a-file", "x")
	commit(t, f, scan(t, f, Options{Root: root}))
	os.Remove(filepath.Join(root, "was-a-file"))
	if err := os.Symlink("real.txt", filepath.Join(root, "was-a-file")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(root, filepath.Join(root, "loop")); err != nil {
		t.Fatal(err)
	}
	fifo := mkfifo(t, filepath.Join(root, "pipe"))
	res := scan(t, f, Options{Root: root})
	sk := skipped(res.Skipped)
	for _, p := range []string{"was-a-file", "loop"} {
		if !strings.Contains(sk[p], "symbolic link") {
			t.Errorf("%s: skipped %q", p, sk[p])
		}
	}
	if fifo && !strings.Contains(sk["pipe"], "named pipe") {
		t.Errorf("pipe: skipped %q", sk["pipe"])
	}
	// The file that became a symlink is left alone, not reported Gone.
	if len(res.Changes) != 0 {
		t.Fatalf("changes: %q", paths(res.Changes))
	}
}

// denyFS refuses to open or list the names in deny, as a file the user
// cannot read does (and as it does not for root, who runs the tests in CI).
type denyFS struct {
	FS
	deny map[string]bool
}

func (d denyFS) Open(name string) (io.ReadCloser, error) {
	if d.deny[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return d.FS.Open(name)
}

func (d denyFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if d.deny[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return d.FS.ReadDir(name)
}

func TestPermissionDeniedSkipped(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "secret.txt", "s")
	write(t, root, "locked/inside.txt", "i")
	write(t, root, "ok.txt", "fine")
	commit(t, f, scan(t, f, Options{Root: root}))
	write(t, root, "secret.txt", "changed, and now unreadable")
	write(t, root, "ok.txt", "fine too")
	fsys := denyFS{OS(root), map[string]bool{"secret.txt": true, "locked": true}}
	res := scan(t, f, Options{Root: root, FS: fsys})
	sk := skipped(res.Skipped)
	for _, p := range []string{"secret.txt", "locked"} {
		if !strings.HasPrefix(sk[p], "permission denied") {
			t.Errorf("%s: skipped %q", p, sk[p])
		}
	}
	// The other file still syncs; the unreadable ones are not deleted.
	if got := paths(res.Changes); !slices.Equal(got, []string{"ok.txt"}) {
		t.Fatalf("changes: %q", got)
	}
}

// The same with real permissions, where the test does not run as root.
func TestPermissionDeniedOnDisk(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode; TestPermissionDeniedSkipped covers this with a fake FS")
	}
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "secret.txt", "s")
	p := filepath.Join(root, "secret.txt")
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(p, 0o644) })
	res := scan(t, f, Options{Root: root})
	if r := skipped(res.Skipped)["secret.txt"]; !strings.HasPrefix(r, "permission denied") || len(res.Changes) != 0 {
		t.Fatalf("skipped %q, changes %q", r, paths(res.Changes))
	}
}

func TestNFDNameNormalized(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	nfd, nfc := "cafe\u0301.txt", "caf\u00e9.txt"
	write(t, root, "dir/"+nfd, "coffee")
	res := scan(t, f, Options{Root: root})
	if len(res.Changes) != 1 || res.Changes[0].Path != "dir/"+nfc || res.Changes[0].DiskPath != "dir/"+nfd {
		t.Fatalf("NFD file: %+v", res.Changes)
	}
	if dp, err := DiskPath(OS(root), "dir/"+nfc); err != nil || dp != "dir/"+nfd {
		t.Fatalf("DiskPath = %q, %v", dp, err)
	}
	if _, err := DiskPath(OS(root), "dir/none"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("DiskPath of a missing file: %v", err)
	}
	commit(t, f, res)
	// The NFC record matches the NFD name: nothing changed.
	if res := scan(t, f, Options{Root: root}); len(res.Changes) != 0 || res.Hashed != 0 {
		t.Fatalf("rescan: %q", paths(res.Changes))
	}
	// Paths are NFC; the NFD file on disk is found.
	if res := scan(t, f, Options{Root: root, Paths: []string{"dir/" + nfc}}); len(res.Changes) != 0 || res.Files != 1 {
		t.Fatalf("scan of the NFC path: %q files %d", paths(res.Changes), res.Files)
	}
}

func TestNamesDifferingByCaseOrNormalization(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "Readme.md", "one")
	write(t, root, "README.md", "two")
	write(t, root, "caf\u00e9", "nfc")
	write(t, root, "cafe\u0301", "nfd")
	res := scan(t, f, Options{Root: root})
	// os.ReadDir sorts by bytes: "README.md" < "Readme.md", "caf\u00e9" (c3 a9) > "cafe\u0301".
	if got := paths(res.Changes); !slices.Equal(got, []string{"README.md", "caf\u00e9"}) {
		t.Fatalf("changes %q", got)
	}
	if c := res.Changes[1]; c.DiskPath != "cafe\u0301" || c.Rec.Hash != sum("nfd") {
		t.Fatalf("kept the wrong café: %+v", c)
	}
	sk := skipped(res.Skipped)
	if !strings.Contains(sk["Readme.md"], "only by case") || !strings.Contains(sk["caf\u00e9"], "Unicode normalization") {
		t.Fatalf("skipped %q", sk)
	}
}

type fakeIgnorer struct{}

func (fakeIgnorer) Ignored(rel string, isDir bool) bool {
	return strings.HasSuffix(rel, ".tmp") || (isDir && rel == "build")
}

func (fakeIgnorer) BadName(rel string) string {
	if strings.ContainsAny(rel, ":") {
		return "name not valid on Windows: " + rel
	}
	return ""
}

func TestIgnoredAndBadNames(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "keep.txt", "k")
	write(t, root, "build/out.o", "o")
	write(t, root, "x.tmp", "t")
	commit(t, f, scan(t, f, Options{Root: root})) // no Ignorer yet: all three recorded
	write(t, root, "a:b", "colon")
	write(t, root, "build/more.o", "o")
	res := scan(t, f, Options{Root: root, Ignore: fakeIgnorer{}})
	// Ignored paths are not reported, not even the recorded ones as Gone.
	if len(res.Changes) != 0 {
		t.Fatalf("changes %q", paths(res.Changes))
	}
	if sk := skipped(res.Skipped); len(sk) != 1 || !strings.HasPrefix(sk["a:b"], "name not valid on Windows") {
		t.Fatalf("skipped %q", sk)
	}
	if res.Files != 1 {
		t.Fatalf("files %d, want 1 (keep.txt)", res.Files)
	}
}

// growFS appends to a file the first time it is read, as a program still
// writing it would.
type growFS struct {
	FS
	root, name string
}

type growReader struct {
	io.ReadCloser
	grow func()
}

func (g *growReader) Read(p []byte) (int, error) {
	if g.grow != nil {
		g.grow()
		g.grow = nil
	}
	return g.ReadCloser.Read(p)
}

func (g growFS) Open(name string) (io.ReadCloser, error) {
	r, err := g.FS.Open(name)
	if err != nil || name != g.name {
		return r, err
	}
	return &growReader{ReadCloser: r, grow: func() {
		fh, err := os.OpenFile(filepath.Join(g.root, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			panic(err)
		}
		fh.Write(bytes.Repeat([]byte("more"), 1000))
		fh.Close()
	}}, nil
}

func TestGrowingFileIsUnstable(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "log.txt", "start")
	write(t, root, "other.txt", "other")
	commit(t, f, scan(t, f, Options{Root: root}))
	write(t, root, "log.txt", "started again")
	res := scan(t, f, Options{Root: root, FS: growFS{OS(root), root, "log.txt"}})
	if !slices.Equal(res.Unstable, []string{"log.txt"}) || len(res.Changes) != 0 || res.Hashed != 1 {
		t.Fatalf("unstable %q changes %q hashed %d", res.Unstable, paths(res.Changes), res.Hashed)
	}
	// The next scan, the file quiet, sees the change.
	res = scan(t, f, Options{Root: root})
	if len(res.Changes) != 1 || res.Changes[0].Rec.Size != 13+4000 {
		t.Fatalf("next scan: %+v", res.Changes)
	}
}

func TestKeyerMatchesUpload(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	content := strings.Repeat("convergent ", 30000) // 330 kB: several segments
	write(t, root, "big.bin", content)
	write(t, root, "tiny", "lit")
	_, ss := mem.NewGrid(10)
	p := immutable.DefaultParams()
	p.MaxSegmentSize = 64 << 10
	c := &immutable.Client{Servers: ss, Params: p, Convergence: []byte("secret"), LeaseSecret: []byte("lease")}
	res := scan(t, f, Options{Root: root, Keyer: ClientKeyer(c.NewKeyHasher), Workers: 2})
	if len(res.Changes) != 2 {
		t.Fatalf("changes %q", paths(res.Changes))
	}
	ctx := context.Background()
	want, err := c.Upload(ctx, strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	_, ss2 := mem.NewGrid(10)
	c2 := *c
	c2.Servers = ss2
	got, err := c2.UploadKeyed(ctx, strings.NewReader(content), int64(len(content)), res.Changes[0].Rec.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cap.String() != want.Cap.String() {
		t.Fatal("the scan's key gives another cap than Upload")
	}
	// A Keyer error fails the scan, saying which file.
	bad := func(int64) (interface {
		Write([]byte) (int, error)
		Key() ([16]byte, error)
	}, error) {
		return nil, errors.New("no parameters")
	}
	if _, err := Scan(ctx, newFolder(t), Options{Root: root, Keyer: bad}); err == nil || !strings.Contains(err.Error(), "no parameters") {
		t.Fatalf("keyer error: %v", err)
	}
}

func TestPathsLimitTheScan(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "a/1", "1")
	write(t, root, "a/2", "2")
	write(t, root, "ab/3", "3")
	write(t, root, "b/4", "4")
	write(t, root, "c", "5")
	commit(t, f, scan(t, f, Options{Root: root}))
	write(t, root, "a/1", "one")
	write(t, root, "ab/3", "three")
	os.RemoveAll(filepath.Join(root, "b"))
	os.Remove(filepath.Join(root, "c"))
	res := scan(t, f, Options{Root: root, Paths: []string{"a", "a/1", "b", "c", "nothing/here"}})
	// ab/3 changed but is outside "a"; b and c are gone.
	if got := paths(res.Changes); !slices.Equal(got, []string{"a/1", "-b/4", "-c"}) {
		t.Fatalf("changes %q", got)
	}
	if res.Files != 2 {
		t.Fatalf("files %d, want 2 (a/1, a/2)", res.Files)
	}
	// One file, found through a listing of its directory.
	res = scan(t, f, Options{Root: root, Paths: []string{"ab/3"}})
	if got := paths(res.Changes); !slices.Equal(got, []string{"ab/3"}) || res.Files != 1 || res.Changes[0].Rec.Hash != sum("three") {
		t.Fatalf("file path: changes %q files %d", got, res.Files)
	}
	if _, err := Scan(context.Background(), f, Options{Root: root, Paths: []string{"../etc"}}); err == nil {
		t.Fatal("a path outside the folder was accepted")
	}
}

func TestMissingRootIsAnError(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "a", "a")
	commit(t, f, scan(t, f, Options{Root: root}))
	if _, err := Scan(context.Background(), f, Options{Root: filepath.Join(root, "unmounted")}); err == nil {
		t.Fatal("scan of a missing folder succeeded (it would report every file Gone)")
	}
}

func TestCancel(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	for i := range 50 {
		write(t, root, "d/"+string(rune('a'+i%26))+string(rune('a'+i/26)), "x")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Scan(ctx, f, Options{Root: root}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled scan: %v", err)
	}
}

// cancelFS cancels the scan as the first file is read.
type cancelFS struct {
	FS
	cancel context.CancelFunc
}

func (c cancelFS) Open(name string) (io.ReadCloser, error) {
	c.cancel()
	return c.FS.Open(name)
}

func TestCancelDuringRead(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		write(t, root, n, strings.Repeat(n, 1<<20))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := Scan(ctx, f, Options{Root: root, FS: cancelFS{OS(root), cancel}, Workers: 2})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("scan cancelled mid-read: %v, %v", res, err)
	}
}

// A file whose record says Gone (a delete the engine committed, or a
// remote delete applied) is read when it appears again, even with the
// size, mtime and inode it had.
func TestGoneRecordFileBackIsRead(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	write(t, root, "back", "again")
	res := scan(t, f, Options{Root: root})
	commit(t, f, res)
	r := res.Changes[0].Rec
	r.Gone = true
	if err := f.Update(func(tx *db.Tx) error { return tx.Put("back", r) }); err != nil {
		t.Fatal(err)
	}
	res = scan(t, f, Options{Root: root})
	if len(res.Changes) != 1 || res.Hashed != 1 || res.Changes[0].Rec.Gone || !res.Changes[0].Old.Gone {
		t.Fatalf("file back: %+v hashed %d", res.Changes, res.Hashed)
	}
}

func TestCleanPaths(t *testing.T) {
	for _, tc := range []struct {
		in, want []string
	}{
		{nil, []string{""}},
		{[]string{"a", "a b", "a/x", "a b/c"}, []string{"a", "a b"}},
		{[]string{"x/./y/", "x/y/z", "cafe\u0301"}, []string{"caf\u00e9", "x/y"}},
		{[]string{"x", ".", "y"}, []string{""}},
	} {
		got, err := cleanPaths(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("cleanPaths(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range [][]string{{"../x"}, {"/etc"}, {".", "a/../../b"}} {
		if _, err := cleanPaths(bad); err == nil {
			t.Errorf("cleanPaths(%q) accepted", bad)
		}
	}
}

func TestDirsAreListedEmptyOnesIncluded(t *testing.T) {
	root, f := t.TempDir(), newFolder(t)
	for _, d := range []string{"empty", "a/b/c", "build/sub", "docs"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, root, "docs/x.txt", "x")
	res := scan(t, f, Options{Root: root, Ignore: fakeIgnorer{}})
	// build is ignored: neither it nor what is under it is listed.
	if got, want := strings.Join(res.Dirs, " "), "a a/b a/b/c docs empty"; got != want {
		t.Fatalf("dirs %q, want %q", got, want)
	}
	res = scan(t, f, Options{Root: root, Ignore: fakeIgnorer{}, Paths: []string{"a/b"}})
	if got, want := strings.Join(res.Dirs, " "), "a/b a/b/c"; got != want {
		t.Fatalf("dirs of a scan of a/b: %q, want %q", got, want)
	}
}
