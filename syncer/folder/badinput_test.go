package folder_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
)

// The bad-input tests: each trouble is reported in the status with the
// file's path, and the other files keep syncing.

func (d *device) waitErr(rel, contains string) api.FileError {
	d.t.Helper()
	var found api.FileError
	d.waitFor("an error for "+rel, func() bool {
		for _, e := range d.eng.Status().Errors {
			if e.Path == rel && strings.Contains(e.Error, contains) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

func TestFileDeletedWhileUploadingAndOthersSync(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	big := strings.Repeat("y", 6<<20)
	a.write("doomed.bin", big)
	a.write("keeper.txt", "keep me")
	// Delete it while the engine is (most likely) reading or uploading it.
	time.Sleep(60 * time.Millisecond)
	if err := os.Remove(filepath.Join(a.root, "doomed.bin")); err != nil {
		t.Fatal(err)
	}
	a.waitGrid("keeper.txt", "keep me")
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent("keeper.txt", "keep me")
	// Whether or not its upload finished first, it ends deleted on both.
	b.waitFor("doomed.bin absent", func() bool { _, ok := b.read("doomed.bin"); return !ok })
	a.waitUpToDate()
	if s := a.eng.Status(); len(s.Errors) != 0 {
		t.Fatalf("a file deleted during upload left errors: %+v", s.Errors)
	}
}

func TestFileGrowingWhileReadSyncsItsFinalContent(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	p := filepath.Join(a.root, "growing.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range 60 {
		line := fmt.Sprintf("line %d %s\n", i, strings.Repeat("z", 20_000))
		if _, err := f.WriteString(line); err != nil {
			t.Fatal(err)
		}
		want.WriteString(line)
		time.Sleep(10 * time.Millisecond)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	a.write("other.txt", "other")
	a.waitGrid("growing.log", want.String())
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent("growing.log", want.String())
	b.waitContent("other.txt", "other")
}

func TestBogusGridEntryIsReportedOthersSync(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("good.txt", "good")
	a.waitGrid("good.txt", "good")
	// A grid member with the write cap links garbage into the folder.
	root, err := g.Dirs().Open(a.cap)
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Set(context.Background(), "bogus.txt", "URI:CHK:not-a-cap:at-all", "", map[string]any{"size": 5}, false); err != nil {
		t.Fatal(err)
	}
	b := newDevice(t, g, "deviceB", a.cap)
	b.waitContent("good.txt", "good")
	e := b.waitErr("bogus.txt", "")
	if e.Hint == "" {
		t.Fatalf("the error says nothing about what to do: %+v", e)
	}
	a.write("later.txt", "later")
	b.waitContent("later.txt", "later")
	if _, ok := b.read("bogus.txt"); ok {
		t.Fatal("a bogus entry became a local file")
	}
}

func TestFileTooBigForTheGridIsReportedOthersSync(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	for _, s := range g.Servers {
		s.SetCapacity(2 << 20) // 2 MiB each: the grid has no room for 64 MiB
	}
	// A sparse file: cheap to make, 64 MiB to read.
	p := filepath.Join(a.root, "huge.iso")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	a.write("small.txt", "small")
	a.waitGrid("small.txt", "small")
	e := a.waitErr("huge.iso", "upload")
	if !strings.Contains(e.Error+e.Hint, "servers") {
		t.Fatalf("the error does not say the grid lacks room: %+v", e)
	}
	if st := a.eng.Status().State; st != api.Error && st != api.Syncing {
		t.Fatalf("folder state %q with a file that cannot upload", st)
	}
}

// TestDiskFullOnDownload needs a tiny filesystem: a tmpfs mount (root).
func TestDiskFullOnDownload(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.MkdirAll(small, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", small).Run() })

	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	big := strings.Repeat("b", 3<<20) // more than the 1 MiB disk
	a.write("big.bin", big)
	a.write("note.txt", "fits")
	a.waitGrid("big.bin", big)
	a.waitGrid("note.txt", "fits")

	b := &device{t: t, name: "deviceB", root: filepath.Join(small, "B"), dbPath: filepath.Join(t.TempDir(), "sync.db"), g: g, cap: a.cap}
	if err := os.MkdirAll(b.root, 0o755); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(b.halt)
	b.waitContent("note.txt", "fits")
	e := b.waitErr("big.bin", "disk is full")
	if !strings.Contains(e.Hint, "Free") {
		t.Fatalf("hint: %q", e.Hint)
	}
	// No partial file under the name, no temp file left behind.
	for name := range b.tree() {
		if name == "big.bin" || strings.HasPrefix(filepath.Base(name), ".lafssync-tmp-") {
			t.Fatalf("a failed download left %s", name)
		}
	}
}

// TestPermissionDeniedIsReported makes a file the engine cannot read. Root
// reads everything, so as root the test runs itself again as nobody.
func TestPermissionDeniedIsReported(t *testing.T) {
	if os.Geteuid() == 0 {
		runAsNobody(t, "TestPermissionDeniedIsReported")
		return
	}
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("secret.txt", "not for you")
	if err := os.Chmod(filepath.Join(a.root, "secret.txt"), 0); err != nil {
		t.Fatal(err)
	}
	a.write("open.txt", "open")
	a.waitGrid("open.txt", "open")
	a.waitFor("secret.txt skipped", func() bool {
		for _, s := range a.eng.Status().Skipped {
			if s.Path == "secret.txt" && strings.Contains(s.Reason, "permission denied") {
				return true
			}
		}
		return false
	})
}

// runAsNobody runs this test binary's test name as user nobody (65534).
func runAsNobody(t *testing.T, name string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "lafs-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "folder.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for p := filepath.Dir(dir); p != "/"; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s is not searchable by nobody", p)
		}
	}
	cmd := exec.Command(bin, "-test.run", "^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = []string{"TMPDIR=" + dir, "HOME=" + dir, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = nobodyAttr()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("as nobody: the test did not pass:\n%s", out)
	}
}
