package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/syncer/db"
)

// The 100,000-file fixture is built once per test binary run (it takes a
// while) and removed by TestMain; with LAFSSYNC_SCAN_BENCH_DIR set it is
// built there, kept, and reused by later runs.
var fixture struct {
	once sync.Once
	dir  string
	keep bool
	root string
	db   *db.DB
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.db != nil {
		fixture.db.Close()
	}
	if fixture.dir != "" && !fixture.keep {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

const (
	benchDirs        = 100
	benchFilesPerDir = 1000
)

// rescanFixture is a folder of benchDirs × benchFilesPerDir tiny files
// whose records, from a first full scan, are in the database.
func rescanFixture(b *testing.B) (string, *db.Folder) {
	fixture.once.Do(func() {
		if fixture.dir = os.Getenv("LAFSSYNC_SCAN_BENCH_DIR"); fixture.dir != "" {
			fixture.keep = true
			fixture.root = filepath.Join(fixture.dir, "folder")
			if _, err := os.Stat(filepath.Join(fixture.dir, "complete")); err == nil {
				fixture.db, fixture.err = db.Open(filepath.Join(fixture.dir, "sync.db"))
				return
			}
			os.RemoveAll(fixture.dir)
		} else if fixture.dir, fixture.err = os.MkdirTemp("", "lafssync-scan-bench-"); fixture.err != nil {
			return
		}
		fixture.root = filepath.Join(fixture.dir, "folder")
		for d := range benchDirs {
			dir := filepath.Join(fixture.root, fmt.Sprintf("dir%03d", d))
			if fixture.err = os.MkdirAll(dir, 0o755); fixture.err != nil {
				return
			}
			for i := range benchFilesPerDir {
				name := filepath.Join(dir, fmt.Sprintf("file%04d.txt", i))
				if fixture.err = os.WriteFile(name, fmt.Appendf(nil, "%d/%d\n", d, i), 0o644); fixture.err != nil {
					return
				}
			}
		}
		if fixture.db, fixture.err = db.Open(filepath.Join(fixture.dir, "sync.db")); fixture.err != nil {
			return
		}
		f := fixture.db.Folder("bench")
		res, err := Scan(context.Background(), f, Options{Root: fixture.root})
		if err != nil {
			fixture.err = err
			return
		}
		fixture.err = f.Update(func(tx *db.Tx) error {
			for _, c := range res.Changes {
				if err := tx.Put(c.Path, c.Rec); err != nil {
					return err
				}
			}
			return nil
		})
		if fixture.err == nil && fixture.keep {
			fixture.err = os.WriteFile(filepath.Join(fixture.dir, "complete"), nil, 0o644)
		}
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.root, fixture.db.Folder("bench")
}

// BenchmarkRescanUnchanged100k is issue 9's "rescan of 100,000 unchanged
// files" (goal < 2 s warm, no re-hashing): a full scan of a folder whose
// every file matches its record.
func BenchmarkRescanUnchanged100k(b *testing.B) {
	root, f := rescanFixture(b)
	ctx := context.Background()
	if _, err := Scan(ctx, f, Options{Root: root}); err != nil { // warm the caches
		b.Fatal(err)
	}
	var res *Result
	cpu0 := cpuTime()
	for b.Loop() {
		var err error
		if res, err = Scan(ctx, f, Options{Root: root}); err != nil {
			b.Fatal(err)
		}
	}
	if want := benchDirs * benchFilesPerDir; res.Files != want || res.Hashed != 0 || len(res.Changes) != 0 {
		b.Fatalf("files %d (want %d), hashed %d, changes %d: want every file unchanged and none read", res.Files, want, res.Hashed, len(res.Changes))
	}
	// CPU time beside wall time: the figure that holds on a busy machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(res.Files)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(float64(res.Hashed), "hashed")
}
