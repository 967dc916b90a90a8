package history_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/lafssync/lafssync/app/ui/history"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/synctest"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// versions waits until the grid lists n versions of rel.
func versions(t *testing.T, m *syncer.Manager, rel string, n int) {
	t.Helper()
	testkit.WaitFor(t, fmt.Sprintf("%s with %d versions", rel, n), 60*time.Second, func() bool {
		vs, err := m.History(context.Background(), "Docs", rel)
		return err == nil && len(vs) == n
	})
}

// TestHistoryWindowOnRealEngine: a file written three times shows three
// versions; restoring the oldest puts the oldest bytes the test wrote at
// the file's name and keeps the current file as a conflict copy, and the
// window says both names; a deleted file, not in the list, is found by
// typing its path and restored.
func TestHistoryWindowOnRealEngine(t *testing.T) {
	g := gridtest.New(10)
	base := t.TempDir()
	m := synctest.StartManager(t, g, filepath.Join(base, "node"), "deviceA")
	docs := filepath.Join(base, "Docs")
	if err := os.MkdirAll(filepath.Join(docs, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	todo := filepath.Join(docs, "notes", "todo.txt")
	contents := []string{"first", "the second", "and the third"}
	write(t, todo, contents[0])
	write(t, filepath.Join(docs, "gone.txt"), "soon deleted")
	write(t, filepath.Join(docs, "other.md"), "x")
	if _, err := m.Add(context.Background(), api.AddRequest{Path: docs}); err != nil {
		t.Fatal(err)
	}
	versions(t, m, "notes/todo.txt", 1)
	for i, c := range contents[1:] {
		write(t, todo, c)
		versions(t, m, "notes/todo.txt", i+2)
	}
	if err := os.Remove(filepath.Join(docs, "gone.txt")); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the delete on the grid", 60*time.Second, func() bool {
		vs, err := m.History(context.Background(), "Docs", "gone.txt")
		return err == nil && len(vs) == 1 && vs[0].Deleted
	})

	a := test.NewApp()
	defer a.Quit()
	w := history.New(a, m, "Docs")
	defer w.Close()
	testkit.WaitFor(t, "the folder's files listed", 30*time.Second, func() bool { return len(w.Matches()) == 2 })
	if got := w.Matches(); !slices.Equal(got, []string{"notes/todo.txt", "other.md"}) {
		t.Fatalf("files %q", got)
	}
	test.Type(w.Path, "TODO")
	if got := w.Matches(); !slices.Equal(got, []string{"notes/todo.txt"}) {
		t.Fatalf("search TODO: %q", got)
	}
	w.Files.Select(0)
	testkit.WaitFor(t, "the versions listed", 30*time.Second, func() bool { f, l := w.Shown(); return f == "notes/todo.txt" && len(l) == 3 })
	_, lines := w.Shown()
	for i, want := range []string{"Current version — 13 B", "Version 1 — 10 B", "Version 2 — 5 B"} {
		if !strings.HasPrefix(lines[i], want) || !strings.Contains(lines[i], "by deviceA") {
			t.Errorf("row %d: %q, want it to start %q and name deviceA", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[1], "replaced") || strings.Contains(lines[0], "replaced") {
		t.Errorf("replaced markers: %q", lines)
	}

	// The current version cannot be restored: the folder has it.
	w.SelectVersion(0)
	if !w.Restore.Disabled() || w.StatusText() != history.CurrentNote {
		t.Errorf("current chosen: restore disabled %v, status %q", w.Restore.Disabled(), w.StatusText())
	}
	// The oldest can.
	w.SelectVersion(2)
	if w.Restore.Disabled() {
		t.Fatal("Restore disabled for version 2")
	}
	test.Tap(w.Restore)
	testkit.WaitFor(t, "the restore", 60*time.Second, func() bool { return strings.HasPrefix(w.StatusText(), "Restored version 2") })
	if got := read(todo); got != contents[0] {
		t.Errorf("restored %s holds %q, want the oldest %q", todo, got, contents[0])
	}
	var aside string
	ents, _ := os.ReadDir(filepath.Dir(todo))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "todo.sync-conflict-") {
			aside = e.Name()
		}
	}
	if aside == "" || read(filepath.Join(docs, "notes", aside)) != contents[2] {
		t.Fatalf("the current file was not kept: %q holds %q", aside, read(filepath.Join(docs, "notes", aside)))
	}
	if st := w.StatusText(); !strings.Contains(st, "to "+todo) || !strings.Contains(st, "kept beside it as "+aside) {
		t.Errorf("status %q does not say where the files went", st)
	}

	// The Deleted tab lists the deleted file; picked, its versions show.
	w.Path.SetText("")
	testkit.WaitFor(t, "the deleted files listed", 30*time.Second, func() bool { return w.DeletedLoads() > 0 })
	if got := w.DeletedPaths(); !slices.Equal(got, []string{"gone.txt"}) || w.DeletedInfoText() != "1 deleted file kept. Pick it to see its versions." {
		t.Fatalf("deleted files %q (%q)", got, w.DeletedInfoText())
	}
	n := w.Loads()
	w.SelectDeleted(0)
	testkit.WaitFor(t, "the picked deleted file's versions", 30*time.Second, func() bool { return w.Loads() > n })
	if f, lines := w.Shown(); f != "gone.txt" || len(lines) != 1 || !strings.Contains(lines[0], "— deleted ") {
		t.Fatalf("picked deleted file: %q %q (%s)", f, lines, w.StatusText())
	}

	// A deleted file is not among the local files; typed, its versions show.
	w.Path.SetText("")
	test.Type(w.Path, "gone")
	if len(w.Matches()) != 0 {
		t.Errorf("a deleted file in the list: %q", w.Matches())
	}
	w.Path.SetText("gone.txt")
	n = w.Loads()
	test.Tap(w.Show)
	testkit.WaitFor(t, "the deleted file's versions", 30*time.Second, func() bool { return w.Loads() > n })
	f, lines := w.Shown()
	if f != "gone.txt" || len(lines) != 1 || !strings.HasPrefix(lines[0], "Version 1 — 12 B") || !strings.Contains(lines[0], "— deleted ") {
		t.Fatalf("deleted file: %q %q (%s)", f, lines, w.StatusText())
	}
	w.SelectVersion(0)
	test.Tap(w.Restore)
	testkit.WaitFor(t, "the deleted file restored", 60*time.Second, func() bool { return strings.HasPrefix(w.StatusText(), "Restored version 1 of gone.txt") })
	if got := read(filepath.Join(docs, "gone.txt")); got != "soon deleted" {
		t.Errorf("gone.txt holds %q", got)
	}
	if !strings.Contains(w.StatusText(), "no file at that name") {
		t.Errorf("status %q", w.StatusText())
	}

	// A path the grid never had says so.
	w.Path.SetText("never/was.txt")
	n = w.Loads()
	test.Tap(w.Show)
	testkit.WaitFor(t, "the unknown path answered", 30*time.Second, func() bool { return w.Loads() > n })
	if !strings.Contains(w.StatusText(), "keeps no version of never/was.txt") {
		t.Errorf("unknown path: %q", w.StatusText())
	}
}

// fakeBackend lists a folder whose deleted files were cut by the engine.
type fakeBackend struct{ root string }

func (f fakeBackend) List() []api.FolderStatus {
	return []api.FolderStatus{{Name: "Docs", Path: f.root}}
}

func (f fakeBackend) History(ctx context.Context, folder, p string) ([]api.Version, error) {
	return nil, fmt.Errorf("%s: %w", p, api.ErrNoFolder)
}

func (f fakeBackend) Deleted(ctx context.Context, folder, dir string) (api.DeletedList, error) {
	t := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return api.DeletedList{Files: []api.DeletedFile{
		{Path: "b/new.txt", Deleted: t, By: "devB", Size: 2048, Versions: 1},
		{Path: "a/old.txt", Deleted: t.Add(-time.Hour), By: "devA", Size: 5, Versions: 3},
	}, Truncated: true, Limit: 2}, nil
}

func (f fakeBackend) Restore(ctx context.Context, folder string, r api.RestoreRequest) (string, error) {
	return "", errors.New("not in this test")
}

// TestHistoryDeletedListCut: a list the engine cut says so; the search
// filters deleted files too; each line says when, by whom and the size.
func TestHistoryDeletedListCut(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	w := history.New(a, fakeBackend{root: t.TempDir()}, "Docs")
	defer w.Close()
	testkit.WaitFor(t, "the deleted files listed", 10*time.Second, func() bool { return w.DeletedLoads() > 0 })
	if got := w.DeletedPaths(); !slices.Equal(got, []string{"b/new.txt", "a/old.txt"}) {
		t.Fatalf("deleted %q", got)
	}
	if info := w.DeletedInfoText(); !strings.Contains(info, "Only the 2 most recently deleted files are listed; there may be more") {
		t.Errorf("info %q", info)
	}
	test.Type(w.Path, "OLD")
	if got := w.DeletedPaths(); !slices.Equal(got, []string{"a/old.txt"}) {
		t.Errorf("search OLD: %q", got)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	line := history.DeletedLine(api.DeletedFile{Path: "b/new.txt", Deleted: now.Add(-2 * time.Hour), By: "devB", Size: 2048}, now)
	if !strings.HasPrefix(line, "b/new.txt — deleted ") || !strings.HasSuffix(line, " by devB, 2.0 kB") {
		t.Errorf("line %q", line)
	}
}
