package lease_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/lease"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/walk"
	"github.com/lafssync/lafssync/grid/walk/walktest"
	"github.com/lafssync/lafssync/internal/testkit"
)

const leaseLife = storage.LeaseDurationSeconds * time.Second

func TestRenewExtendsEveryReachableShareOnly(t *testing.T) {
	tr := walktest.New(t)
	later := time.Now().Add(10 * 24 * time.Hour).Truncate(time.Second)
	for _, m := range tr.Mem {
		m.SetClock(func() time.Time { return later })
	}
	rep, err := lease.Renew(context.Background(), tr.Servers, walk.Grid{Dirs: tr.Dirs, Imm: tr.Imm},
		[]string{tr.Root.Cap().String()}, walktest.LeaseSecret, lease.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Objects != 11 || rep.StorageIndexes != 10 || rep.Failed != 0 || rep.Missing != 0 {
		t.Fatalf("report %+v", rep)
	}
	renewed := 0
	for path, o := range tr.Objects {
		if o.SI == (storage.SI{}) {
			continue // LIT
		}
		holders := tr.Holders(o)
		renewed += len(holders)
		for m, shs := range holders {
			for _, sh := range shs {
				// One lease: the renewal carried the upload's own secrets
				// (as Tahoe derives them), so it extended that lease.
				got := m.Leases(o.SI, sh)
				if len(got) != 1 || !got[0].Equal(later.Add(leaseLife)) {
					t.Errorf("%q share %d on %s: leases %v, want one until %v", path, sh, m.Info().Nickname, got, later.Add(leaseLife))
				}
			}
		}
	}
	if rep.Renewed != renewed || rep.NotHeld != 10*len(tr.Servers)-renewed {
		t.Errorf("renewed %d (not held %d), holders %d", rep.Renewed, rep.NotHeld, renewed)
	}
	for _, o := range []walktest.Object{tr.Unreachable, tr.UnreachableMut} {
		for m, shs := range tr.Holders(o) {
			for _, sh := range shs {
				if got := m.Leases(o.SI, sh); len(got) != 1 || !got[0].Before(later.Add(leaseLife)) {
					t.Errorf("unreachable %s share %d: leases %v were touched", o.Cap.Kind(), sh, got)
				}
			}
		}
	}
	if s := rep.String(); strings.Contains(s, "URI:") || !strings.Contains(s, "11 objects (10 with shares) from 1 roots") {
		t.Errorf("summary %q", s)
	}
}

func TestRenewReportsProblems(t *testing.T) {
	tr := walktest.New(t)
	tr.Mem[0].SetOffline(true)
	tr.DeleteShares(tr.Objects["docs/a.txt"], 10)
	rep, err := lease.Renew(context.Background(), tr.Servers, walk.Grid{Dirs: tr.Dirs, Imm: tr.Imm},
		[]string{tr.Root.Cap().String(), "URI:CHK:garbage"}, walktest.LeaseSecret, lease.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.BadRoots != 1 || rep.Missing != 1 || rep.Failed != 10 || rep.Objects != 11 {
		t.Errorf("%+v", rep)
	}
	for _, e := range rep.Errors {
		if strings.Contains(e, "URI:") {
			t.Errorf("a problem shows a cap: %q", e)
		}
	}
}

func TestRenewerRunsPeriodicallyAndStops(t *testing.T) {
	tr := walktest.New(t)
	reports := make(chan lease.Report, 10)
	r := &lease.Renewer{
		Servers: tr.Servers, Lister: walk.Grid{Dirs: tr.Dirs, Imm: tr.Imm},
		Roots:       func() ([]string, error) { return []string{tr.Root.Cap().String()}, nil },
		LeaseSecret: walktest.LeaseSecret, Interval: 30 * time.Millisecond, FirstDelay: time.Millisecond,
		OnReport: func(rep lease.Report) { reports <- rep },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for i := range 2 {
		select {
		case rep := <-reports:
			if !rep.OK() || rep.StorageIndexes != 10 {
				t.Errorf("run %d: %+v", i, rep)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d did not happen", i)
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

// A renewer whose last run is overdue runs soon and records the run,
// also when one server is offline (common on a real grid; it is retried
// at the weekly run, not at every start).
func TestRenewerRecordsItsRuns(t *testing.T) {
	tr := walktest.New(t)
	tr.Mem[0].SetOffline(true)
	state := filepath.Join(t.TempDir(), "lease-renewal")
	os.WriteFile(state, []byte(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+"\n"), 0o600)
	reports := make(chan lease.Report, 10)
	r := &lease.Renewer{
		Servers: tr.Servers, Lister: walk.Grid{Dirs: tr.Dirs, Imm: tr.Imm},
		Roots:       func() ([]string, error) { return []string{tr.Root.Cap().String()}, nil },
		LeaseSecret: walktest.LeaseSecret, Interval: time.Minute, FirstDelay: time.Millisecond, StateFile: state,
		OnReport: func(rep lease.Report) { reports <- rep },
	}
	start := time.Now().Truncate(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	select {
	case rep := <-reports:
		if rep.OK() || rep.Failed == 0 {
			t.Fatalf("run with a server offline: %+v, want it to report the failures", rep)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an overdue renewal did not run")
	}
	testkit.WaitFor(t, "the run to be recorded", 5*time.Second, func() bool {
		b, _ := os.ReadFile(state)
		last, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
		return err == nil && !last.Before(start)
	})
}
