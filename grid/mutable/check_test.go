package mutable

import (
	"context"
	"errors"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
)

func TestCheckVerifyRepair(t *testing.T) {
	ctx := context.Background()
	for _, format := range []cap.Format{cap.SDMF, cap.MDMF} {
		t.Run(format.String(), func(t *testing.T) {
			ms, servers := grid(10)
			f, err := Create(ctx, servers, random(3*MaxSegmentSize+10), opts(format, testKey(t, 0)))
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.Check(ctx, true)
			if err != nil || !res.Healthy || len(res.Shares) != 10 || res.Versions != 1 || !res.Verified {
				t.Fatalf("fresh file: %+v, %v", res, err)
			}
			// A flipped byte in the last block is found only by verifying.
			var holder int
			for i, m := range ms {
				if shs, _ := m.ListMutableShares(ctx, f.si); len(shs) > 0 {
					holder = i
					sh := shs[0]
					b, _ := m.ReadMutableShare(ctx, f.si, sh, 0, 1<<30)
					m.CorruptMutable(f.si, sh, len(b)-2000)
					break
				}
			}
			if res, _ := f.Check(ctx, false); !res.Healthy {
				t.Errorf("a plain check read blocks: %s", res.Summary())
			}
			if res, _ := f.Check(ctx, true); res.Healthy || len(res.Bad) != 1 || !res.Recoverable {
				t.Errorf("verify missed the corruption: %s", res.Summary())
			}
			ms[holder].Wipe()
			ro, _ := Open(f.ReadCap(), servers, Options{Logger: quiet})
			if _, err := ro.Repair(ctx, false); !errors.Is(err, ErrRepairNeedsWriteCap) {
				t.Errorf("read-only repair: %v", err)
			}
			rr, err := f.Repair(ctx, false)
			if err != nil || rr.Before.Healthy || !rr.After.Healthy || rr.Republished.Seqnum != 2 {
				t.Fatalf("repair: %+v, %v", rr, err)
			}
			if res, _ := f.Check(ctx, true); !res.Healthy {
				t.Errorf("after repair: %s", res.Summary())
			}
		})
	}
}
