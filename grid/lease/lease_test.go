package lease_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/lease"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/walk"
	"github.com/lafssync/lafssync/grid/walk/walktest"
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
