package dirnode

import (
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/clock/clocktest"
)

// The "tahoe" link timestamps come from the client's clock: created at
// the first link, kept across a re-link and a rename, modified each time;
// sub-directories opened through the client use the same clock.
func TestLinkTimestampsFromInjectedClock(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	fake := clocktest.New(start)
	c := newClient(t)
	c.Clock = fake
	root, err := c.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.MkdirAll(ctx, root, "x")
	if err != nil {
		t.Fatal(err)
	}
	times := func(d *Directory, name string) (cr, mo float64) {
		t.Helper()
		e, err := d.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		tahoe := e.Metadata["tahoe"].(map[string]any)
		return tahoe["linkcrtime"].(float64), tahoe["linkmotime"].(float64)
	}
	if cr, mo := times(root, "x"); cr != 1.7e9 || mo != 1.7e9 {
		t.Errorf("x linked at (%v, %v), want the fake time 1.7e9", cr, mo)
	}
	const fileCap = "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56"
	fake.Advance(10 * time.Second)
	if err := sub.Set(ctx, "a", fileCap, "", nil, false); err != nil {
		t.Fatal(err)
	}
	fake.Advance(5 * time.Second)
	if err := sub.Set(ctx, "a", fileCap, "", nil, true); err != nil {
		t.Fatal(err)
	}
	if cr, mo := times(sub, "a"); cr != 1.7e9+10 || mo != 1.7e9+15 {
		t.Errorf("after re-link: (%v, %v), want (1.7e9+10, 1.7e9+15)", cr, mo)
	}
	fake.Advance(time.Second)
	if err := sub.Rename(ctx, "a", "b", false); err != nil {
		t.Fatal(err)
	}
	if cr, mo := times(sub, "b"); cr != 1.7e9+10 || mo != 1.7e9+16 {
		t.Errorf("after rename: (%v, %v), want (1.7e9+10, 1.7e9+16)", cr, mo)
	}
}
