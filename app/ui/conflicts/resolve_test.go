package conflicts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/syncer/api"
)

func TestParseName(t *testing.T) {
	at := time.Date(2026, 12, 2, 13, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name, orig, device string
		ok                 bool
	}{
		{"report.sync-conflict-20261202-130405-deviceB.txt", "report.txt", "deviceB", true},
		{"archive.tar.sync-conflict-20261202-130405-abcdefghij.gz", "archive.tar.gz", "abcdefghij", true},
		{".bashrc.sync-conflict-20261202-130405-dev", ".bashrc", "dev", true}, // the engine's download
		{".sync-conflict-20261202-130405-dev.bashrc", ".bashrc", "dev", true}, // syncer.Restore's spelling
		{"Makefile.sync-conflict-20261202-130405-dev", "Makefile", "dev", true},
		{"report.txt", "", "", false},
		{"report.sync-conflict-2026120-130405-dev.txt", "", "", false},
		{"report.sync-conflict-20261302-130405-dev.txt", "", "", false}, // month 13
		{"report.sync-conflict-20261202-130405-.txt", "", "", false},
		{"report.sync-conflict-20261202-130405", "", "", false},
		{".sync-conflict-20261202-130405-dev", "", "", false},
	} {
		orig, tm, dev, ok := ParseName(c.name)
		if ok != c.ok || orig != c.orig || dev != c.device || (ok && !tm.Equal(at)) {
			t.Errorf("ParseName(%q) = %q %v %q %v, want %q %q %v", c.name, orig, tm, dev, ok, c.orig, c.device, c.ok)
		}
	}
}

// grid is a fake History: the grid's current version of each path.
type grid map[string]api.Version

func (g grid) History(_ context.Context, _, p string) ([]api.Version, error) {
	v, ok := g[p]
	if !ok {
		return nil, fmt.Errorf("%w: %s has no versions", api.ErrNoFolder, p)
	}
	return []api.Version{v}, nil
}

// onGrid records the file at p as the grid's current version of rel.
func (g grid) onGrid(t *testing.T, root, rel string) {
	fi, err := os.Stat(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	g[rel] = api.Version{N: 0, Size: fi.Size(), Mtime: fi.ModTime().Truncate(time.Microsecond)}
}

func write(t *testing.T, root, rel, s string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func gone(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there (%v)", p, err)
	}
}

// TestResolveChoices: each choice leaves the chosen bytes at the
// original's name and the other version either in the grid's history
// (the grid has it) or in KeepDir (it does not); with no KeepDir, a
// choice that would lose a version is refused and changes nothing.
func TestResolveChoices(t *testing.T) {
	const (
		orig     = "notes/todo.txt"
		mineCopy = "notes/todo.sync-conflict-20261202-130405-devA.txt" // made here
		theirs   = "notes/todo.sync-conflict-20261202-130405-devB.txt" // from devB
	)
	type want struct {
		orig      string // bytes at the original name after
		kept      string // bytes saved in KeepDir ("" none)
		refused   bool
		copyStays bool
	}
	for _, c := range []struct {
		name       string
		copy       string
		choice     Choice
		gridHas    []string // paths whose local file is the grid's current version
		noKeepDir  bool
		want       want
		wantInGrid bool // the result says the grid's history keeps the other version
	}{
		{"my copy, keep mine, theirs on the grid", mineCopy, KeepMine, []string{orig}, false, want{orig: "copy"}, true},
		{"my copy, keep mine, theirs not on the grid", mineCopy, KeepMine, nil, false, want{orig: "copy", kept: "original"}, false},
		{"my copy, keep theirs, mine uploaded", mineCopy, KeepTheirs, []string{mineCopy}, false, want{orig: "original"}, true},
		{"my copy, keep theirs, mine not uploaded", mineCopy, KeepTheirs, nil, false, want{orig: "original", kept: "copy"}, false},
		{"my copy, keep theirs, no KeepDir", mineCopy, KeepTheirs, nil, true, want{orig: "original", refused: true, copyStays: true}, false},
		{"their copy, keep mine, copy on the grid", theirs, KeepMine, []string{theirs}, false, want{orig: "original"}, true},
		{"their copy, keep theirs, mine not on the grid", theirs, KeepTheirs, nil, false, want{orig: "copy", kept: "original"}, false},
		{"their copy, keep theirs, no KeepDir", theirs, KeepTheirs, nil, true, want{orig: "original", refused: true, copyStays: true}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, keep := t.TempDir(), t.TempDir()
			write(t, root, orig, "original")
			write(t, root, c.copy, "copy")
			g := grid{}
			for _, p := range c.gridHas {
				g.onGrid(t, root, p)
			}
			r := &Resolver{Device: "devA", KeepDir: keep, Grid: g}
			if c.noKeepDir {
				r.KeepDir = ""
			}
			cs, err := Find("Docs", root, nil)
			if err != nil || len(cs) != 1 || cs[0].Path != orig || cs[0].Copy != c.copy {
				t.Fatalf("Find: %+v %v", cs, err)
			}
			res, err := r.Resolve(context.Background(), cs[0], c.choice)
			if c.want.refused {
				if !errors.Is(err, ErrNotOnGrid) {
					t.Fatalf("want refusal, got %+v %v", res, err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := read(t, filepath.Join(root, orig)); got != c.want.orig {
				t.Errorf("%s holds %q, want %q", orig, got, c.want.orig)
			}
			if c.want.copyStays {
				if got := read(t, filepath.Join(root, c.copy)); got != "copy" {
					t.Errorf("copy holds %q", got)
				}
			} else {
				gone(t, filepath.Join(root, c.copy))
			}
			if c.want.kept != "" {
				if !strings.HasPrefix(res.Other, keep) {
					t.Fatalf("the other version is at %q, want inside %s", res.Other, keep)
				}
				if got := read(t, res.Other); got != c.want.kept {
					t.Errorf("KeepDir's copy holds %q, want %q", got, c.want.kept)
				}
				if !strings.Contains(res.Message, res.Other) {
					t.Errorf("message %q does not say where it went", res.Message)
				}
			}
			if c.wantInGrid && (res.Other != "" || !strings.Contains(res.Message, "grid")) {
				t.Errorf("result %+v: want the grid's history named", res)
			}
			if left, _ := Find("Docs", root, nil); !c.want.refused && len(left) != 0 {
				t.Errorf("conflict copies left: %+v", left)
			}
		})
	}
}

// TestKeepBothNeverReplaces: keep both renames the copy to a plain name
// beside the original, past a file that already has that name.
func TestKeepBothNeverReplaces(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt", "grid's")
	write(t, root, "a.sync-conflict-20261202-130405-devB.txt", "devB's")
	cs, err := Find("Docs", root, nil)
	if err != nil || len(cs) != 1 {
		t.Fatalf("Find: %+v %v", cs, err)
	}
	first := fmt.Sprintf("a (kept from devB %s).txt", cs[0].Time.Local().Format("2006-01-02 150405"))
	write(t, root, first, "in the way")
	res, err := (&Resolver{Device: "devA"}).Resolve(context.Background(), cs[0], KeepBoth)
	if err != nil {
		t.Fatal(err)
	}
	if res.Other == first || !strings.HasPrefix(res.Other, "a (kept from devB ") || !strings.HasSuffix(res.Other, ", 2).txt") {
		t.Fatalf("renamed to %q", res.Other)
	}
	for p, want := range map[string]string{"a.txt": "grid's", first: "in the way", res.Other: "devB's"} {
		if got := read(t, filepath.Join(root, p)); got != want {
			t.Errorf("%s holds %q, want %q", p, got, want)
		}
	}
	if left, _ := Find("Docs", root, nil); len(left) != 0 {
		t.Errorf("still a conflict: %+v", left)
	}
}

// TestFindSkipsResolvedAndTemp: a copy the engine reported but that is
// gone is not listed; copies in the engine's temp directories and files
// that only look like copies are not either; the engine's time wins.
func TestFindSkipsResolvedAndTemp(t *testing.T) {
	root := t.TempDir()
	write(t, root, "x/b.sync-conflict-20261201-000000-devB.txt", "1")
	write(t, root, ".lafssync-tmp-dir/c.sync-conflict-20261201-000000-devB.txt", "2")
	write(t, root, "d.sync-conflict-notatime-devB.txt", "3")
	at := time.Date(2026, 12, 1, 0, 0, 0, 123, time.UTC)
	cs, err := Find("Docs", root, []api.Conflict{
		{Path: "x/b.txt", Copy: "x/b.sync-conflict-20261201-000000-devB.txt", Time: at},
		{Path: "gone.txt", Copy: "gone.sync-conflict-20261201-000000-devA.txt", Time: at},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Path != "x/b.txt" || cs[0].Device != "devB" || !cs[0].Time.Equal(at) || cs[0].Folder != "Docs" {
		t.Fatalf("Find: %+v", cs)
	}
}
