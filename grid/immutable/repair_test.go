package immutable

import (
	"context"
	"reflect"
	"testing"
)

// A verifying repair replaces a corrupt share (its server answers "already
// have", so the replacement goes to another server) and reports a verified
// result that an independent verify agrees with.
func TestRepairReplacesCorruptShares(t *testing.T) {
	ctx := context.Background()
	c, ms := newClient(10)
	cp := roundTrip(t, c, data(30000, 11))
	si, _ := cp.StorageIndex()
	var victim int
	for i, m := range ms {
		if shares, _ := m.ListShares(ctx, si); len(shares) == 1 {
			if !m.Corrupt(si, shares[0], 2000) { // a block, found only by verifying
				t.Fatal("no share to corrupt")
			}
			victim = i
			break
		}
	}
	rr, err := c.Repair(ctx, cp, true)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Before.Healthy || len(rr.Before.Shares) != 9 || len(rr.Before.Bad) != 1 {
		t.Fatalf("before repair: %s", rr.Before.Summary())
	}
	if rr.Placed != 1 {
		t.Errorf("repair placed %d shares, want 1", rr.Placed)
	}
	if !rr.After.Verified || !rr.After.Healthy || len(rr.After.Shares) != 10 {
		t.Fatalf("after repair: %s (verified %v)", rr.After.Summary(), rr.After.Verified)
	}
	// An independent verify, by a client that shares nothing with the
	// repairer but the servers, finds every share good and says what the
	// repair said.
	fresh := &Client{Servers: c.Servers, Params: c.Params}
	got, err := fresh.Check(ctx, cp, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Shares) != 10 || !got.Healthy {
		t.Fatalf("independent verify after repair: %s", got.Summary())
	}
	if !reflect.DeepEqual(comparable(got), comparable(rr.After)) {
		t.Errorf("repair reported %s, an independent verify %s", rr.After.Summary(), got.Summary())
	}
	// The corrupt copy is still on its server (it cannot be rewritten),
	// advised as corrupt, and listed as bad; a second repair has nothing to do.
	if len(got.Bad) != 1 || got.Bad[0].ServerID != ms[victim].Info().ID {
		t.Errorf("bad shares after repair: %+v", got.Bad)
	}
	if len(ms[victim].Corruptions()) == 0 {
		t.Error("the server holding the corrupt share was not told")
	}
	again, err := c.Repair(ctx, cp, true)
	if err != nil || again.Placed != 0 || !again.After.Healthy {
		t.Errorf("second repair: placed %d, %v", again.Placed, err)
	}
}

// comparable is a check result without the free-text reasons and causes.
func comparable(r *CheckResult) any {
	type bad struct {
		id    string
		share int
	}
	var bads []bad
	for _, b := range r.Bad {
		bads = append(bads, bad{b.ServerID, b.Share})
	}
	return struct {
		shares               map[int][]string
		happiness            int
		healthy, recoverable bool
		verified             bool
		bad                  []bad
	}{r.Shares, r.Happiness, r.Healthy, r.Recoverable, r.Verified, bads}
}
