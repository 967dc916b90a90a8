package syncer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/synctest"
)

// The bench's idle run (10 folders of 10,000 files) gave up on a folder
// whose status read "starting", no detail, 0 files, for minutes: the
// first cycle (scan, grid read, uploads in chunks of 256) said nothing
// until it ended, and between chunks the status fell back to Starting.
// While several folders do their first sync, each one's status must say
// what it does, never go back to Starting once it left it, and count the
// folder's files before the whole upload ends.
func TestFirstSyncStatusSaysWhatItDoes(t *testing.T) {
	const folders, files = 3, 700 // three upload chunks each
	g := gridtest.New(10)
	base := t.TempDir()
	m := synctest.StartManager(t, g, filepath.Join(base, "node"), "deviceA")
	for i := range folders {
		for j := range files {
			d := filepath.Join(base, fmt.Sprintf("f%d", i), fmt.Sprintf("d%02d", j%10))
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			body := fmt.Sprintf("folder %d file %d, long enough not to be a literal cap %080d", i, j, j)
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("x%03d", j)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range folders {
		if _, err := m.Add(context.Background(), api.AddRequest{Path: filepath.Join(base, fmt.Sprintf("f%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	left := map[string]bool{}    // left Starting
	counted := map[string]bool{} // seen with its files counted before up to date
	done := map[string]bool{}
	prev := map[string]string{}
	deadline := time.Now().Add(5 * time.Minute)
	for len(done) < folders {
		if time.Now().After(deadline) {
			t.Fatalf("not all folders up to date in 5 minutes: %v", m.List())
		}
		for _, s := range m.List() {
			if done[s.Name] {
				continue
			}
			switch {
			case s.State == api.Starting && s.Detail == "":
				t.Fatalf("%s is starting with no detail (%d files)", s.Name, s.Files)
			case s.State == api.Starting && left[s.Name]:
				t.Fatalf("%s went back to starting (%q, %d files) after it left it (%s)", s.Name, s.Detail, s.Files, prev[s.Name])
			case s.State != api.Starting:
				left[s.Name] = true
			}
			prev[s.Name] = fmt.Sprintf("%s: %.30s %d", s.State, s.Detail, s.Files)
			if s.State != api.UpToDate && s.Files == files {
				counted[s.Name] = true
			}
			if s.State == api.UpToDate && s.Files == files {
				done[s.Name] = true
			}
		}
		time.Sleep(time.Millisecond)
	}
	for i := range folders {
		if n := fmt.Sprintf("f%d", i); !counted[n] {
			t.Errorf("%s counted its %d files only once its first sync ended", n, files)
		}
	}
}
