package syncer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/synctest"
)

// TestManagerDeleted: files deleted locally are listed as deleted on the
// grid (by path, by whom, last size), under the whole folder or one of its
// directories given relative or absolute; a deleted file's versions are
// then found by the listed path and it can be restored.
func TestManagerDeleted(t *testing.T) {
	g := gridtest.New(10)
	base := t.TempDir()
	m := synctest.StartManager(t, g, filepath.Join(base, "nodeA"), "deviceA")
	docs := filepath.Join(base, "Docs")
	if err := os.MkdirAll(filepath.Join(docs, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, c := range map[string]string{"a.txt": "aaa", "sub/b.txt": "bbbbb", "keep.txt": "k"} {
		if err := os.WriteFile(filepath.Join(docs, filepath.FromSlash(p)), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Add(context.Background(), api.AddRequest{Path: docs}); err != nil {
		t.Fatal(err)
	}
	waitState(t, m, "Docs", api.UpToDate)
	if l, err := m.Deleted(context.Background(), "Docs", ""); err != nil || len(l.Files) != 0 || l.Truncated {
		t.Fatalf("nothing deleted yet: %+v %v", l, err)
	}
	for _, p := range []string{"a.txt", "sub/b.txt"} {
		if err := os.Remove(filepath.Join(docs, filepath.FromSlash(p))); err != nil {
			t.Fatal(err)
		}
	}
	var l api.DeletedList
	testkit.WaitFor(t, "two deleted files listed", 30*time.Second, func() bool {
		var err error
		l, err = m.Deleted(context.Background(), "Docs", "")
		return err == nil && len(l.Files) == 2
	})
	got := map[string]api.DeletedFile{}
	for _, d := range l.Files {
		got[d.Path] = d
	}
	if a, b := got["a.txt"], got["sub/b.txt"]; a.Size != 3 || b.Size != 5 || a.By != "deviceA" || a.Deleted.IsZero() || a.Versions != 1 || l.Limit <= 0 || l.Truncated {
		t.Fatalf("deleted: %+v", l)
	}
	for _, dir := range []string{"sub", filepath.Join(docs, "sub")} {
		if s, err := m.Deleted(context.Background(), docs, dir); err != nil || len(s.Files) != 1 || s.Files[0].Path != "sub/b.txt" || s.Dir != "sub" {
			t.Errorf("Deleted(%q): %+v %v", dir, s, err)
		}
	}
	if _, err := m.Deleted(context.Background(), "Docs", "../elsewhere"); !errors.Is(err, api.ErrBadInput) {
		t.Errorf("a directory outside the folder: %v", err)
	}
	if _, err := m.Deleted(context.Background(), "Nope", ""); !errors.Is(err, api.ErrNoFolder) {
		t.Errorf("no such folder: %v", err)
	}
	vs, err := m.History(context.Background(), "Docs", "sub/b.txt")
	if err != nil || len(vs) != 1 || !vs[0].Deleted {
		t.Fatalf("history of a listed file: %+v %v", vs, err)
	}
	if _, err := m.Restore(context.Background(), "Docs", api.RestoreRequest{Path: "sub/b.txt", Version: 1}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(docs, "sub", "b.txt")); string(b) != "bbbbb" {
		t.Fatalf("restored %q", b)
	}
	// Back in the folder (and on the grid), it is no longer listed.
	testkit.WaitFor(t, "the restored file no longer listed", 30*time.Second, func() bool {
		l, err := m.Deleted(context.Background(), "Docs", "")
		return err == nil && len(l.Files) == 1 && l.Files[0].Path == "a.txt"
	})
}
