package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/syncer/api"
)

// TestSyncHistoryDeleted: lafs sync history --deleted lists a folder's
// (or a directory's) deleted files with when, size, by whom and the
// path, and says how to see and restore one; --json prints the list.
func TestSyncHistoryDeleted(t *testing.T) {
	dir, _, _ := fakeSyncNode(t, true)
	lafs := func(args ...string) (int, string, string) {
		return run(append([]string{"-d", dir, "sync", "history"}, args...)...)
	}
	tests := []struct {
		args      []string
		code      int
		out, errs []string
		notOut    []string
	}{
		{args: []string{"--deleted", "docs"}, out: []string{
			"Deleted files in folder docs, newest first:",
			"DELETED", "SIZE", "BY", "PATH",
			"1.5 kB", "devB        old/notes.md",
			"12 B", "gone.txt",
			"lafs sync history /home/u/docs/old/notes.md; get it back with: lafs sync restore /home/u/docs/old/notes.md"}},
		{args: []string{"--deleted", "/home/u/docs"}, out: []string{"Deleted files in folder docs", "old/notes.md", "gone.txt"}},
		{args: []string{"--deleted", "/home/u/docs/old"}, out: []string{"Deleted files in old/ in folder docs", "old/notes.md"}, notOut: []string{"gone.txt"}},
		{args: []string{"--deleted", "/home/u/docs/empty"}, out: []string{"No deleted files kept in empty/ in folder docs."}},
		{args: []string{"--deleted", "/home/u/docs/many"}, out: []string{"many/big.bin", "Only the 1 most recently deleted are listed; there may be more"}},
		{args: []string{"--deleted", "/elsewhere"}, code: 1, errs: []string{`"/elsewhere" is not a synced folder's name or directory`}},
		{args: []string{"--deleted", "a", "b"}, code: 1, errs: []string{"accepts at most 1 arg(s)"}},
		{args: []string{}, code: 1, errs: []string{"accepts 1 arg(s), received 0"}},
	}
	for _, tt := range tests {
		code, out, errs := lafs(tt.args...)
		bad := code != tt.code
		for _, w := range tt.out {
			bad = bad || !strings.Contains(out, w)
		}
		for _, w := range tt.notOut {
			bad = bad || strings.Contains(out, w)
		}
		for _, w := range tt.errs {
			bad = bad || !strings.Contains(errs, w)
		}
		if bad {
			t.Errorf("lafs sync history %s: exit %d\n%s%s", strings.Join(tt.args, " "), code, out, errs)
		}
	}
	// Newest first.
	_, out, _ := lafs("--deleted", "docs")
	if strings.Index(out, "old/notes.md") > strings.Index(out, "gone.txt") {
		t.Errorf("not newest first:\n%s", out)
	}
	code, out, errs := lafs("--deleted", "--json", "docs")
	var l api.DeletedList
	if err := json.Unmarshal([]byte(out), &l); code != 0 || err != nil || len(l.Files) != 2 || l.Files[0].Path != "old/notes.md" || l.Files[0].By != "devB" {
		t.Errorf("--json: exit %d, %+v %v %s", code, l, err, errs)
	}
}
