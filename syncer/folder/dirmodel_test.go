package folder_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
)

// fullTree is the folder's files with their content and its directories
// (as "<dir>").
func (d *device) fullTree() map[string]string {
	out := d.tree()
	_ = filepath.WalkDir(d.root, func(p string, e os.DirEntry, err error) error {
		if err != nil || !e.IsDir() || p == d.root {
			return nil
		}
		rel, _ := filepath.Rel(d.root, p)
		out[filepath.ToSlash(rel)] = "<dir>"
		return nil
	})
	return out
}

// TestModelRandomDirectoryChangesConverge makes random mkdir, rmdir,
// rm -r, writes and deletes on two devices (one sometimes offline) and
// checks after each round that both have the same files and directories
// and that no content written and not deleted by its writer was lost.
func TestModelRandomDirectoryChangesConverge(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	if n, err := strconv.Atoi(os.Getenv("LAFSSYNC_DIR_MODEL_SEEDS")); err == nil && n > 0 {
		seeds = nil
		for i := range n {
			seeds = append(seeds, uint64(i+1))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runDirModel(t, seed, 6) })
	}
}

func runDirModel(t *testing.T, seed uint64, rounds int) {
	rng := rand.New(rand.NewPCG(seed, 0xd1))
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	b := newDevice(t, g, "deviceB", a.cap)
	devs := []*device{a, b}
	dirs := []string{"p", "p/q", "r", "r/s/t"}
	files := []string{"p/f.txt", "p/q/h.txt", "r/g.txt", "top.txt"}
	serial := 0
	for round := range rounds {
		mustHave := map[string]bool{}
		offline := rng.IntN(3) == 0
		if offline {
			b.halt()
		}
		for _, d := range devs {
			last := map[string]string{} // path → content this device wrote and still has
			for range 1 + rng.IntN(4) {
				switch op := rng.IntN(10); {
				case op < 3:
					d.mkdir(dirs[rng.IntN(len(dirs))])
				case op < 5: // rmdir, if empty
					_ = os.Remove(filepath.Join(d.root, filepath.FromSlash(dirs[rng.IntN(len(dirs))])))
				case op < 6: // rm -r
					p := dirs[rng.IntN(len(dirs))]
					if err := os.RemoveAll(filepath.Join(d.root, filepath.FromSlash(p))); err != nil {
						t.Fatal(err)
					}
					for q := range last {
						if strings.HasPrefix(q, p+"/") {
							delete(last, q)
						}
					}
				case op < 9:
					serial++
					p := files[rng.IntN(len(files))]
					c := fmt.Sprintf("%s round %d edit %d", d.name, round, serial)
					d.write(p, c)
					last[p] = c
				default:
					p := files[rng.IntN(len(files))]
					if os.Remove(filepath.Join(d.root, filepath.FromSlash(p))) == nil {
						delete(last, p)
					}
				}
			}
			for _, c := range last {
				mustHave[c] = true
			}
		}
		if offline {
			b.start()
		}
		for _, d := range devs {
			d.eng.Kick()
		}
		convergeDirs(t, round, a, b)
		final := a.fullTree()
		have := map[string]bool{}
		for _, c := range final {
			have[c] = true
		}
		for c := range mustHave {
			if !have[c] {
				t.Fatalf("round %d: content lost: %q; final tree %v", round, c, sorted(final))
			}
		}
		for p := range final {
			if strings.Contains(p, ".sync-conflict-") {
				if err := os.Remove(filepath.Join(a.root, filepath.FromSlash(p))); err != nil {
					t.Fatal(err)
				}
			}
		}
		convergeDirs(t, round, a, b)
	}
}

func convergeDirs(t *testing.T, round int, a, b *device) {
	t.Helper()
	ok := testkit.Poll(2*wait, func() bool {
		if a.eng.Status().State != api.UpToDate || b.eng.Status().State != api.UpToDate {
			return false
		}
		return fmt.Sprint(a.fullTree()) == fmt.Sprint(b.fullTree())
	})
	if !ok {
		sa, sb := a.eng.Status(), b.eng.Status()
		t.Fatalf("round %d: no convergence:\nA %v (%s: %s %v)\nB %v (%s: %s %v)\nA log:\n%s", round, sorted(a.fullTree()), sa.State, sa.Detail, sa.Errors, sorted(b.fullTree()), sb.State, sb.Detail, sb.Errors, a.logs.String())
	}
}
