package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The file commands against the embedded local grid, as a user runs them
// after `make run`.
func TestFileCommandsOnLocalGrid(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := run("-d", dir, "ls", "x:"); code == 0 || !strings.Contains(errs, "no storage servers known") {
		t.Errorf("without a grid: %d %q", code, errs)
	}
	startLocalGrid(t, dir)
	must := mustIn(t, dir)
	must("create-alias", "home")
	if out := must("list-aliases"); out != "home:\n" {
		t.Errorf("list-aliases: %q", out)
	}
	if out := must("list-aliases", "--show-caps"); !strings.HasPrefix(out, "home: URI:DIR2:") {
		t.Errorf("list-aliases --show-caps: %q", out)
	}
	src := filepath.Join(dir, "report.txt")
	data := bytes.Repeat([]byte("quarterly numbers\n"), 5000)
	os.WriteFile(src, data, 0o600)
	capStr := strings.TrimSpace(must("put", src, "home:docs/2026/report.txt"))
	if !strings.HasPrefix(capStr, "URI:CHK:") {
		t.Fatalf("put printed %q", capStr)
	}
	if out := must("ls", "home:"); out != "dir  docs/\n" {
		t.Errorf("ls home: %q", out)
	}
	if out := must("ls", "home:docs/2026"); out != "file report.txt\n" {
		t.Errorf("ls home:docs/2026: %q", out)
	}
	dst := filepath.Join(dir, "copy.txt")
	must("get", "home:docs/2026/report.txt", dst)
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Fatal("get returned different bytes")
	}
	if out := must("get", capStr); out != string(data) {
		t.Error("get CAP to stdout differs")
	}
	if out := must("check", "--verify", "home:docs/2026/report.txt"); !strings.HasPrefix(out, "healthy: 10 of 10 shares") {
		t.Errorf("check: %q", out)
	}
	must("mkdir", "home:photos/2025")
	if out := must("ls", "home:photos"); out != "dir  2025/\n" {
		t.Errorf("after mkdir: %q", out)
	}
	// Wrong inputs get errors that say what to do.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ls", "nope:"}, "unknown alias \"nope\": create it with 'lafs create-alias nope'"},
		{[]string{"get", "home:docs/missing.txt"}, `no entry "missing.txt" in home:docs (lafs ls home:docs)`},
		{[]string{"get", "home:docs"}, "is a directory"},
		{[]string{"put", filepath.Join(dir, "absent")}, "no such file"},
		{[]string{"create-alias", "home"}, "already exists"},
		{[]string{"get", "plainword"}, "neither a cap nor alias:path"},
	} {
		code, _, errs := run(append([]string{"-d", dir}, c.args...)...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("lafs %v: exit %d, %q; want %q", c.args, code, errs, c.want)
		}
	}
	// A failed get leaves no output file behind, and never clobbers one.
	partial := filepath.Join(dir, "partial.txt")
	if code, _, _ := run("-d", dir, "get", "home:docs/missing.txt", partial); code == 0 {
		t.Error("get of a missing entry succeeded")
	}
	if _, err := os.Stat(partial); err == nil {
		t.Error("a failed get created its output file")
	}
	os.WriteFile(dst, []byte("keep me"), 0o600)
	run("-d", dir, "get", "home:docs/missing.txt", dst)
	if got, _ := os.ReadFile(dst); string(got) != "keep me" {
		t.Error("a failed get overwrote an existing file")
	}
}
