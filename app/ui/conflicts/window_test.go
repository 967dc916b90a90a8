package conflicts_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/lafssync/lafssync/app/ui/conflicts"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/api/apitest"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/synctest"
)

func waitState(t *testing.T, m *syncer.Manager, folder, state string) {
	t.Helper()
	testkit.WaitFor(t, folder+" "+state, 60*time.Second, func() bool {
		s, err := m.Status(folder)
		return err == nil && s.State == state
	})
}

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

// gridHolds waits until the grid's history of rel (in m's folder) has a
// version whose bytes, restored outside the folder, are want.
func gridHolds(t *testing.T, m *syncer.Manager, folder, rel, want string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "restored")
	testkit.WaitFor(t, "the grid's history of "+rel+" holding "+want, 60*time.Second, func() bool {
		vs, err := m.History(context.Background(), folder, rel)
		if err != nil {
			return false
		}
		for _, v := range vs {
			if v.N == 0 || v.Size != int64(len(want)) {
				continue
			}
			os.Remove(out)
			if _, err := m.Restore(context.Background(), folder, api.RestoreRequest{Path: rel, Version: v.N, To: out}); err == nil && read(out) == want {
				return true
			}
		}
		return false
	})
}

// TestConflictsWindowOnRealEngine provokes real conflicts between two
// devices of one folder and resolves them from the window of the device
// whose edits became the copies: keep mine, keep theirs and keep both
// leave the expected bytes, the version not kept stays in the grid's
// history, and a copy removed by hand drops out of the list.
func TestConflictsWindowOnRealEngine(t *testing.T) {
	g := gridtest.New(10)
	base := t.TempDir()
	ma := synctest.StartManager(t, g, filepath.Join(base, "nodeA"), "deviceA")
	mb := synctest.StartManager(t, g, filepath.Join(base, "nodeB"), "deviceB")
	da, db := filepath.Join(base, "A"), filepath.Join(base, "B")
	if err := os.MkdirAll(da, 0o755); err != nil {
		t.Fatal(err)
	}
	files := []string{"mine.txt", "theirs.txt", "both.txt", "byhand.txt"}
	for _, f := range files {
		write(t, filepath.Join(da, f), "v1")
	}
	if _, err := ma.Add(context.Background(), api.AddRequest{Path: da, Name: "Docs"}); err != nil {
		t.Fatal(err)
	}
	waitState(t, ma, "Docs", api.UpToDate)
	wc, err := ma.Share(context.Background(), "Docs", "write")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Add(context.Background(), api.AddRequest{Path: db, Name: "Docs", To: wc}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "B has the files", 60*time.Second, func() bool { return read(filepath.Join(db, "byhand.txt")) == "v1" })
	waitState(t, mb, "Docs", api.UpToDate)

	// B stops syncing; both edit every file.
	if err := mb.Pause("Docs", 0); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		write(t, filepath.Join(da, f), "A's "+f)
	}
	testkit.WaitFor(t, "A's edits on the grid", 60*time.Second, func() bool {
		for _, f := range files {
			vs, err := ma.History(context.Background(), "Docs", f)
			if err != nil || vs[0].N != 0 || vs[0].Size != int64(len("A's "+f)) {
				return false
			}
		}
		return true
	})
	for _, f := range files {
		write(t, filepath.Join(db, f), "B's edit of "+f)
	}

	a := test.NewApp()
	defer a.Quit()
	w := conflicts.New(a, mb, conflicts.Options{Device: "deviceB", KeepDir: filepath.Join(base, "kept")})
	defer w.Close()
	if err := mb.Resume("Docs"); err != nil {
		t.Fatal(err)
	}
	rowOf := func(f string) (conflicts.Row, bool) {
		for _, r := range w.Rows() {
			if r.Copy.Path == f {
				return r, true
			}
		}
		return conflicts.Row{}, false
	}
	testkit.WaitFor(t, "four conflicts listed", 60*time.Second, func() bool { return len(w.Rows()) == 4 })
	for _, f := range files {
		r, _ := rowOf(f)
		stem := strings.TrimSuffix(f, ".txt")
		if r.Copy.Device != "deviceB" || !strings.HasPrefix(r.Copy.Copy, stem+".sync-conflict-") || !strings.HasSuffix(r.Copy.Copy, "-deviceB.txt") {
			t.Fatalf("row for %s: %+v", f, r.Copy)
		}
		// On B the copy is B's own edit: "mine".
		if !slices.Contains(r.Lines, "Docs: "+f) || !strings.HasPrefix(r.Lines[2], "Mine: "+r.Copy.Copy) || !strings.HasPrefix(r.Lines[3], "Theirs: "+f) ||
			!strings.Contains(r.Lines[1], "on deviceB (this computer)") {
			t.Errorf("row for %s says %q", f, r.Lines)
		}
		if got := read(filepath.Join(db, r.Copy.Copy)); got != "B's edit of "+f {
			t.Fatalf("copy %s holds %q", r.Copy.Copy, got)
		}
		if got := read(filepath.Join(db, f)); got != "A's "+f {
			t.Fatalf("%s holds %q", f, got)
		}
	}
	// The copies reach the grid before anything is resolved, so "the
	// grid's history keeps it" is what the choices below can rely on.
	waitState(t, mb, "Docs", api.UpToDate)
	copyOf := map[string]string{}
	for _, f := range files {
		r, _ := rowOf(f)
		copyOf[f] = r.Copy.Copy
		testkit.WaitFor(t, r.Copy.Copy+" on the grid", 60*time.Second, func() bool {
			vs, err := mb.History(context.Background(), "Docs", r.Copy.Copy)
			return err == nil && vs[0].N == 0
		})
	}

	// Resolved in the folder directly: the entry goes.
	if err := os.Remove(filepath.Join(db, copyOf["byhand.txt"])); err != nil {
		t.Fatal(err)
	}
	w.Kick()
	testkit.WaitFor(t, "the removed copy no longer listed", 30*time.Second, func() bool { _, ok := rowOf("byhand.txt"); return !ok })

	tap := func(f string, pick func(conflicts.Row) func()) {
		t.Helper()
		r, ok := rowOf(f)
		if !ok {
			t.Fatalf("no row for %s", f)
		}
		pick(r)()
		testkit.WaitFor(t, f+" resolved", 30*time.Second, func() bool {
			_, listed := rowOf(f)
			return !listed && strings.Contains(w.StatusText(), f)
		})
		if strings.Contains(w.StatusText(), "not done") {
			t.Fatalf("%s: %s", f, w.StatusText())
		}
	}
	tap("mine.txt", func(r conflicts.Row) func() { return func() { test.Tap(r.Mine) } })
	if got := read(filepath.Join(db, "mine.txt")); got != "B's edit of mine.txt" {
		t.Errorf("keep mine: mine.txt holds %q", got)
	}
	if !strings.Contains(w.StatusText(), "grid's history") {
		t.Errorf("keep mine said %q", w.StatusText())
	}
	tap("theirs.txt", func(r conflicts.Row) func() { return func() { test.Tap(r.Theirs) } })
	if got := read(filepath.Join(db, "theirs.txt")); got != "A's theirs.txt" {
		t.Errorf("keep theirs: theirs.txt holds %q", got)
	}
	if !strings.Contains(w.StatusText(), "open History and type "+copyOf["theirs.txt"]) {
		t.Errorf("keep theirs said %q", w.StatusText())
	}
	tap("both.txt", func(r conflicts.Row) func() { return func() { test.Tap(r.Both) } })
	if got := read(filepath.Join(db, "both.txt")); got != "A's both.txt" {
		t.Errorf("keep both: both.txt holds %q", got)
	}
	var kept string
	ents, _ := os.ReadDir(db)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "both (kept from deviceB ") {
			kept = e.Name()
		}
	}
	if kept == "" || read(filepath.Join(db, kept)) != "B's edit of both.txt" || !strings.Contains(w.StatusText(), kept) {
		t.Errorf("keep both: kept %q (%q), said %q", kept, read(filepath.Join(db, kept)), w.StatusText())
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(db, copyOf[f])); !os.IsNotExist(err) {
			t.Errorf("%s is still there", copyOf[f])
		}
	}
	if len(w.Rows()) != 0 {
		t.Errorf("rows left: %+v", w.Rows())
	}

	// Neither version of any file is lost: what was not kept in the
	// folder is in the grid's history, and A gets what B chose.
	gridHolds(t, mb, "Docs", "mine.txt", "A's mine.txt")
	gridHolds(t, mb, "Docs", copyOf["theirs.txt"], "B's edit of theirs.txt")
	gridHolds(t, mb, "Docs", copyOf["byhand.txt"], "B's edit of byhand.txt")
	testkit.WaitFor(t, "A has B's choices", 60*time.Second, func() bool {
		return read(filepath.Join(da, "mine.txt")) == "B's edit of mine.txt" && read(filepath.Join(da, kept)) == "B's edit of both.txt" &&
			read(filepath.Join(da, "theirs.txt")) == "A's theirs.txt"
	})
}

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// TestConflictsWindowCopyFromAnotherDevice: on a device that did not
// make the copy, the copy is "theirs" and the file at the name "mine";
// a choice that would remove a version the grid does not have is
// refused with a message and changes nothing; the engine's conflict event
// makes the window look again.
func TestConflictsWindowCopyFromAnotherDevice(t *testing.T) {
	root := t.TempDir()
	f := apitest.New("Docs")
	st, _ := f.Status("Docs")
	st.Path = root
	f.Set("Docs", st)
	a := test.NewApp()
	defer a.Quit()
	w := conflicts.New(a, f, conflicts.Options{Device: "devA"}) // no KeepDir
	defer w.Close()
	testkit.WaitFor(t, "the first look", 10*time.Second, func() bool { return w.Looks() >= 1 })
	if len(w.Rows()) != 0 {
		t.Fatalf("rows in an empty folder: %+v", w.Rows())
	}
	const cp = "plan.sync-conflict-20261202-130405-devB.txt"
	write(t, filepath.Join(root, "plan.txt"), "mine here")
	write(t, filepath.Join(root, cp), "devB's")
	f.Emit(api.Event{Type: "conflict", Folder: "Docs", Conflict: &api.Conflict{Path: "plan.txt", Copy: cp, Time: time.Now()}})
	testkit.WaitFor(t, "the conflict listed", 10*time.Second, func() bool { return len(w.Rows()) == 1 })
	r := w.Rows()[0]
	if !strings.HasPrefix(r.Lines[2], "Mine: plan.txt (9 B, modified ") || !strings.HasPrefix(r.Lines[3], "Theirs: "+cp+" (6 B,") ||
		!strings.HasSuffix(r.Lines[3], ", from devB") || strings.Contains(r.Lines[1], "this computer") {
		t.Errorf("lines %q", r.Lines)
	}
	// Keep theirs would replace plan.txt, which the (fake) grid does not have.
	test.Tap(r.Theirs)
	testkit.WaitFor(t, "the refusal", 10*time.Second, func() bool { return strings.Contains(w.StatusText(), "not done") })
	if !strings.Contains(w.StatusText(), "would lose that version") || read(filepath.Join(root, "plan.txt")) != "mine here" || read(filepath.Join(root, cp)) != "devB's" {
		t.Errorf("refused: %q; plan.txt %q, copy %q", w.StatusText(), read(filepath.Join(root, "plan.txt")), read(filepath.Join(root, cp)))
	}
	if r.Theirs.Disabled() {
		t.Error("the buttons stay disabled after a refusal")
	}
	// Keep both needs no grid.
	test.Tap(r.Both)
	testkit.WaitFor(t, "kept both", 10*time.Second, func() bool { return len(w.Rows()) == 0 && strings.HasPrefix(w.StatusText(), "Kept both") })
	if read(filepath.Join(root, "plan.txt")) != "mine here" {
		t.Errorf("plan.txt changed: %q", read(filepath.Join(root, "plan.txt")))
	}
}
