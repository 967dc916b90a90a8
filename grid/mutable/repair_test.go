package mutable

import (
	"context"
	"reflect"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
)

// A verifying repair of a mutable file with a corrupt share publishes the
// next version over every share, the corrupt one included, and reports a
// verified result that an independent verify agrees with.
func TestRepairReplacesCorruptMutableShares(t *testing.T) {
	ctx := context.Background()
	for _, format := range []cap.Format{cap.SDMF, cap.MDMF} {
		t.Run(format.String(), func(t *testing.T) {
			data := random(2*MaxSegmentSize + 100)
			ms, servers, f := newFileOn(t, format, data, 0)
			for _, at := range []string{"block", "signature"} {
				for _, m := range ms {
					shs, _ := m.ListMutableShares(ctx, f.si)
					if len(shs) == 0 {
						continue
					}
					b, _ := m.ReadMutableShare(ctx, f.si, shs[0], 0, 1<<30)
					off := len(b) - 2000 // a block (not SDMF's trailing private key): found only by verifying
					if at == "signature" {
						off = 10 // the signed header: found by any check
					}
					m.CorruptMutable(f.si, shs[0], off)
					break
				}
				rr, err := f.Repair(ctx, true)
				if err != nil {
					t.Fatalf("%s: %v", at, err)
				}
				if rr.Before.Healthy || len(rr.Before.Bad) != 1 {
					t.Fatalf("%s: before repair: %s", at, rr.Before.Summary())
				}
				if !rr.After.Verified || !rr.After.Healthy || len(rr.After.Shares) != 10 {
					t.Fatalf("%s: after repair: %s (verified %v)", at, rr.After.Summary(), rr.After.Verified)
				}
				g, err := Open(f.ReadCap(), servers, Options{Logger: quiet})
				if err != nil {
					t.Fatal(err)
				}
				got, err := g.Check(ctx, true)
				if err != nil {
					t.Fatal(err)
				}
				if !got.Healthy || len(got.Shares) != 10 || !reflect.DeepEqual(got.Shares, rr.After.Shares) ||
					got.Version != rr.After.Version || len(got.Bad) != len(rr.After.Bad) {
					t.Fatalf("%s: repair reported %s, an independent verify %s", at, rr.After.Summary(), got.Summary())
				}
				if b, _, err := g.Read(ctx); err != nil || string(b) != string(data) {
					t.Fatalf("%s: read after repair: %v", at, err)
				}
			}
		})
	}
}
