package deepcheck_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/grid/deepcheck"
	"github.com/lafssync/lafssync/grid/walk/walktest"
)

func run(t *testing.T, tr *walktest.Tree, verify, repair bool) *deepcheck.Report {
	t.Helper()
	c := &deepcheck.Checker{Imm: tr.Imm, Dirs: tr.Dirs, Verify: verify, Repair: repair}
	rep, err := c.Run(context.Background(), tr.Root.Cap())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func byPath(rep *deepcheck.Report) map[string]deepcheck.Result {
	out := map[string]deepcheck.Result{}
	for _, r := range rep.Results {
		out[strings.Join(r.Path, "/")] = r
	}
	return out
}

// Every object with shares (LIT excluded, shared links counted once).
const objects = 10

func TestDeepCheckHealthyTree(t *testing.T) {
	tr := walktest.New(t)
	for _, verify := range []bool{false, true} {
		rep := run(t, tr, verify, false)
		if rep.Checked != objects || rep.Healthy != objects || rep.Unhealthy != 0 || !rep.OK() {
			t.Errorf("verify=%v: %+v", verify, rep)
		}
		if want := "done: 10 objects checked, 10 healthy, 0 unhealthy\n"; rep.Summary() != want {
			t.Errorf("summary %q, want %q", rep.Summary(), want)
		}
	}
}

func TestDeepCheckFindsAndRepairsLostShares(t *testing.T) {
	tr := walktest.New(t)
	tr.DeleteShares(tr.Objects["docs/a.txt"], 2)
	tr.DeleteShares(tr.Objects["frozen"], 1)     // immutable directory
	tr.DeleteShares(tr.Objects["docs/notes"], 3) // mutable file, write cap
	tr.DeleteShares(tr.Objects["shared"], 1)     // mutable directory, read-only link

	rep := run(t, tr, false, false)
	if rep.Checked != objects || rep.Healthy != objects-4 || rep.Unhealthy != 4 || rep.OK() {
		t.Fatalf("before repair: %+v", rep)
	}
	res := byPath(rep)
	for _, p := range []string{"docs/a.txt", "frozen", "docs/notes", "shared"} {
		if r := res[p]; r.Healthy || !r.Recoverable || !strings.HasPrefix(r.Summary, "unhealthy") {
			t.Errorf("%s: %+v", p, r)
		}
	}

	rep = run(t, tr, false, true)
	if rep.Unhealthy != 4 || rep.RepairsAttempted != 3 || rep.RepairsSuccessful != 3 || rep.NotRepairable != 1 ||
		rep.HealthyAfter != objects-1 || rep.UnhealthyAfter != 1 || rep.OK() {
		t.Fatalf("repair: %+v\n%s", rep, rep.Summary())
	}
	if r := byPath(rep)["shared"]; r.RepairAttempted || !strings.Contains(r.NotRepairable, "read-only") {
		t.Errorf("read-only mutable directory: %+v", r)
	}
	for _, want := range []string{"3 repairs attempted, 3 successful, 0 failed", "post-repair: 9 healthy, 1 unhealthy", "1 unhealthy objects could not be repaired"} {
		if !strings.Contains(rep.Summary(), want) {
			t.Errorf("summary lacks %q:\n%s", want, rep.Summary())
		}
	}

	// The repairs hold: a fresh check finds only the read-only one.
	rep = run(t, tr, true, false)
	if rep.Unhealthy != 1 || byPath(rep)["shared"].Healthy {
		t.Errorf("after repair: %+v", rep)
	}
	if got := len(tr.Holders(tr.Objects["docs/a.txt"])); got < 7 {
		t.Errorf("a.txt on %d servers after repair", got)
	}
}

func TestDeepCheckVerifyFindsCorruptBlock(t *testing.T) {
	tr := walktest.New(t)
	big := tr.Objects["big.bin"]
	for m, shs := range tr.Holders(big) {
		if !m.Corrupt(big.SI, shs[0], 2000) {
			t.Fatal("no share to corrupt")
		}
		break
	}
	if rep := run(t, tr, false, false); rep.Unhealthy != 0 {
		t.Errorf("a plain check read blocks: %+v", rep)
	}
	rep := run(t, tr, true, false)
	if r := byPath(rep)["big.bin"]; rep.Unhealthy != 1 || r.Healthy || !strings.Contains(r.Summary, "1 bad") {
		t.Errorf("verify: %+v %+v", rep, r)
	}
}

func TestDeepCheckUnrecoverable(t *testing.T) {
	tr := walktest.New(t)
	tr.DeleteShares(tr.Objects["shared/s.txt"], 8)
	rep := run(t, tr, false, true)
	r := byPath(rep)["shared/s.txt"]
	if rep.Unrecoverable != 1 || r.Recoverable || r.RepairAttempted || r.NotRepairable == "" || rep.OK() {
		t.Errorf("%+v\n%+v", rep, r)
	}
}
