package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 13 items 7 and 18: check handles every kind of object, says what a
// LIT cap is, exits non-zero while the object is unhealthy, and errors are
// in the user's words.
func TestCheckAndMessagesOnLocalGrid(t *testing.T) {
	dir := t.TempDir()
	lafs := startLocalGridFor(t, dir)
	must := mustIn(t, dir)
	want := func(wantCode int, wantOut string, args ...string) string {
		t.Helper()
		code, out, errs := lafs(args...)
		if code != wantCode || !strings.Contains(out+errs, wantOut) {
			t.Errorf("lafs %v: exit %d, %q %q; want exit %d and %q", args, code, out, errs, wantCode, wantOut)
		}
		return out + errs
	}
	must("create-alias", "home")
	small := filepath.Join(dir, "small.txt")
	os.WriteFile(small, []byte("tiny"), 0o600)
	big := filepath.Join(dir, "big.txt")
	os.WriteFile(big, bytes.Repeat([]byte("payload\n"), 20000), 0o600)
	must("put", small, "home:small.txt")
	bigCap := strings.TrimSpace(must("put", big, "home:big.txt"))
	mutCap := strings.TrimSpace(must("put", "--mutable", big, "home:mut.txt"))

	// A LIT file, a directory, a mutable file.
	want(0, "stored in the cap itself", "check", "home:small.txt")
	want(0, "healthy: 10 of 10 shares of the newest version", "check", "--verify", "home:")
	want(0, "healthy: 10 of 10 shares of the newest version", "check", "home:mut.txt")
	want(0, `"kind":"DIR2"`, "check", "--json", "home:")

	// Unhealthy: exit 2 until repaired; the repair prints the state after.
	files := shareFiles(t, dir, siOf(t, bigCap))
	removed := 0
	for p := range files {
		if removed < 3 {
			os.Remove(p)
			removed++
		}
	}
	want(2, "unhealthy", "check", "home:big.txt")
	want(0, "after repair: healthy: 10 of 10", "check", "--verify", "--repair", "home:big.txt")
	want(0, "healthy", "check", "home:big.txt")
	// A mutable file with shares gone: exit 2, repaired with its write cap.
	for p := range shareFiles(t, dir, siOf(t, mutCap)) {
		if removed < 6 {
			os.Remove(p)
			removed++
		}
	}
	want(2, "unhealthy", "check", mutCap)
	want(0, "after repair: healthy", "check", "--repair", mutCap)

	// A cap that is not on this grid: its key changed, so nothing has it.
	parts := strings.Split(bigCap, ":")
	k := []byte(parts[2])
	if k[0] == 'a' {
		k[0] = 'b'
	} else {
		k[0] = 'a'
	}
	parts[2] = string(k)
	elsewhere := strings.Join(parts, ":")
	out := want(1, "this file is not on this grid: no storage server has any of its shares", "get", elsewhere)
	if strings.Contains(out, "need 3, found 0") {
		t.Errorf("get of a cap not on the grid still speaks the grid's words: %q", out)
	}
	want(2, "it is not on this grid", "check", elsewhere)

	// Typing mistakes.
	want(1, `did you mean home:?`, "ls", "home")
	want(1, `did you mean home:docs?`, "ls", "home/docs")
	want(1, "usage: lafs get CAP|alias:path [OUTFILE]", "get")
	want(1, "usage: lafs ln FROM TO", "ln", "home:small.txt")

	// status: ten servers on this computer are shown as such.
	want(0, "all 10 on this computer: no protection against a disk failure", "status")
}

// Issue 13 item 18: status before the first run says how to start, not
// that a directory which does not exist has no node.url.
func TestStatusBeforeFirstRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "never-ran")
	code, _, errs := run("-d", dir, "status")
	if code == 0 || !strings.Contains(errs, "has not run yet") || !strings.Contains(errs, "make run") || !strings.Contains(errs, "lafs daemon") {
		t.Errorf("status before the first run: %d %q", code, errs)
	}
	os.MkdirAll(dir, 0o700)
	code, _, errs = run("-d", dir, "status")
	if code == 0 || !strings.Contains(errs, "is not running: start it with 'lafs daemon'") {
		t.Errorf("status of a stopped node: %d %q", code, errs)
	}
}
