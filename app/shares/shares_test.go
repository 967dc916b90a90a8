package shares_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/app/shares"
)

func TestAddListReopen(t *testing.T) {
	node := t.TempDir()
	s := shares.Open(node)
	if got, err := s.List(""); err != nil || len(got) != 0 {
		t.Fatalf("new store: %v, %v", got, err)
	}
	t0 := time.Date(2026, 12, 2, 14, 3, 0, 0, time.UTC)
	for i, e := range []shares.Entry{
		{Folder: "Docs", Name: "  Alice ", Kind: shares.KindRead, Time: t0},
		{Folder: "Photos", Name: "Bob", Kind: shares.KindInvite, Time: t0.Add(time.Minute)},
		{Folder: "Docs", Name: "Chloé", Kind: shares.KindSnapshot, Time: t0.Add(2 * time.Minute)},
	} {
		if err := s.Add(e); err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
	}
	path := filepath.Join(node, "private", "shared-with.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	// A new Store on the same directory reads what the first wrote.
	got, err := shares.Open(node).List("Docs")
	if err != nil {
		t.Fatal(err)
	}
	want := []shares.Entry{
		{Folder: "Docs", Name: "Chloé", Kind: "snapshot", Time: t0.Add(2 * time.Minute)},
		{Folder: "Docs", Name: "Alice", Kind: "read", Time: t0},
	}
	if len(got) != len(want) {
		t.Fatalf("Docs: %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if all, _ := shares.Open(node).List(""); len(all) != 3 || all[0].Name != "Chloé" || all[1].Name != "Bob" {
		t.Errorf("all: %+v", all)
	}
	// No temporary file is left beside it.
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("private/ holds %d files, want only the list", len(ents))
	}
}

func TestAddRefuses(t *testing.T) {
	s := shares.Open(t.TempDir())
	for _, e := range []shares.Entry{
		{Folder: "Docs", Name: "", Kind: shares.KindRead},
		{Folder: "Docs", Name: "   ", Kind: shares.KindRead},
		{Folder: "Docs", Name: "Al\nice", Kind: shares.KindRead},
		{Folder: "Docs", Name: strings.Repeat("a", shares.MaxName+1), Kind: shares.KindRead},
	} {
		if err := s.Add(e); !errors.Is(err, shares.ErrBadName) {
			t.Errorf("Add(%q) = %v, want ErrBadName", e.Name, err)
		}
	}
	if err := s.Add(shares.Entry{Folder: "Docs", Name: "Alice", Kind: "write"}); err == nil {
		t.Error("a write share was recorded")
	}
	if err := s.Add(shares.Entry{Name: "Alice", Kind: shares.KindRead}); err == nil {
		t.Error("an entry without a folder was recorded")
	}
	if got, _ := s.List(""); len(got) != 0 {
		t.Errorf("refused entries were kept: %+v", got)
	}
	if err := s.Add(shares.Entry{Folder: "Docs", Name: strings.Repeat("é", shares.MaxName), Kind: shares.KindRead}); err != nil {
		t.Errorf("a name of %d characters: %v", shares.MaxName, err)
	}
}

func TestOldestEntriesGo(t *testing.T) {
	s := shares.At(filepath.Join(t.TempDir(), "list.json"))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < shares.MaxEntries+5; i++ {
		if err := s.Add(shares.Entry{Folder: "Docs", Name: "n", Kind: shares.KindRead, Time: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List("Docs")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != shares.MaxEntries || !got[len(got)-1].Time.Equal(t0.Add(5*time.Second)) {
		t.Errorf("%d entries, oldest %v", len(got), got[len(got)-1].Time)
	}
}

func TestDamagedFileIsAClearError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "list.json")
	if err := os.WriteFile(p, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := shares.At(p)
	if _, err := s.List(""); err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("List: %v", err)
	}
	if err := s.Add(shares.Entry{Folder: "Docs", Name: "Alice", Kind: shares.KindRead}); err == nil {
		t.Error("Add over a damaged file replaced it")
	}
	if b, _ := os.ReadFile(p); string(b) != "{not json" {
		t.Errorf("the damaged file was changed: %q", b)
	}
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := shares.At(big).List(""); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a 2 MiB file: %v", err)
	}
}
