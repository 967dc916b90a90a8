package nat

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// feed samples u once a second from t for len(rates) seconds, rates[i]
// bytes in second i; it returns the time and total after the last.
func feed(u *Uplink, t time.Time, total uint64, rates ...uint64) (time.Time, uint64) {
	for _, r := range rates {
		t, total = t.Add(time.Second), total+r
		u.Observe(t, total)
	}
	return t, total
}

func repeat(n int, r uint64) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func near(got, want float64) bool { return math.Abs(got-want) <= want*0.001 }

func TestUplinkMeasuresBusyStretches(t *testing.T) {
	const mbit20 = 20e6 / 8 // bytes a second
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

	var u Uplink
	now, total := feed(&u, t0, 0, 0)
	now, total = feed(&u, now, total, repeat(60, 10<<10)...) // keep-alives only
	if bps, ok := u.Estimate(now); ok || bps != 0 {
		t.Errorf("idle link: estimate %v, %v; want none", bps, ok)
	}
	now, total = feed(&u, now, total, repeat(4, mbit20)...) // too short
	now, total = feed(&u, now, total, 0)
	if _, ok := u.Estimate(now); ok {
		t.Error("a 4 s burst was taken for a measurement")
	}

	// A burst into the send buffers, then the link's rate: the burst's
	// interval is left out.
	now, total = feed(&u, now, total, 8<<20)
	now, total = feed(&u, now, total, repeat(6, mbit20)...)
	if bps, ok := u.Estimate(now); !ok || !near(bps, 20e6) {
		t.Errorf("during a 20 Mbit/s upload: estimate %v, %v; want 2e7 (the first interval's burst left out)", bps, ok)
	}
	now, total = feed(&u, now, total, repeat(10, mbit20)...)
	now, total = feed(&u, now, total, 0, 0)
	if bps, ok := u.Estimate(now); !ok || !near(bps, 20e6) {
		t.Errorf("after it: estimate %v, %v; want 2e7", bps, ok)
	}

	// A slower upload later (a slow server, a busy disk) does not lower it.
	now, total = feed(&u, now, total, repeat(20, mbit20/4)...)
	now, total = feed(&u, now, total, 0)
	if bps, _ := u.Estimate(now); !near(bps, 20e6) {
		t.Errorf("after a 5 Mbit/s upload: estimate %v, want the fastest (2e7)", bps)
	}

	// A gap in the samples (the machine slept) and a restarted counter end
	// a stretch without taking their difference for traffic.
	now, total = now.Add(30*time.Second), total+1<<30
	u.Observe(now, total)
	now, _ = feed(&u, now, total, repeat(3, mbit20*4)...)
	now, _ = feed(&u, now, 0, repeat(3, mbit20*4)...)
	if bps, _ := u.Estimate(now); !near(bps, 20e6) {
		t.Errorf("after a gap and a counter restart: estimate %v, want 2e7 still", bps)
	}

	// Measurements expire after UplinkWindow; Reset forgets them at once.
	if _, ok := u.Estimate(now.Add(UplinkWindow + time.Hour)); ok {
		t.Error("a measurement older than UplinkWindow still counts")
	}
	var v Uplink
	end, _ := feed(&v, t0, 0, repeat(12, mbit20)...)
	if _, ok := v.Estimate(end); !ok {
		t.Fatal("no estimate from 12 s at 20 Mbit/s")
	}
	v.Reset()
	if _, ok := v.Estimate(end); ok {
		t.Error("an estimate survived Reset")
	}
}

// A measured uplink is in the report (evidence and the uplink field) and
// in the helper advice's numbers, rounded as a measurement deserves.
func TestReportShowsMeasuredUplink(t *testing.T) {
	in := Inputs{Mode: ModeAuto, Local: ips("192.168.1.5"), Connected: 1, Client: true, K: 3, N: 10,
		Observed: []Observation{{Peer: "p", Address: ap("198.51.100.9:1")}}, Helpers: []string{helperID}}
	if r := Decide(in); r.Uplink != nil {
		t.Errorf("no measurement, yet the report has an uplink: %+v", r.Uplink)
	}
	in.UplinkBps, in.UplinkMeasured = 19.6e6, true
	r := Decide(in)
	if r.Uplink == nil || r.Uplink.BitsPerSecond != 19.6e6 || !r.Uplink.Measured {
		t.Errorf("report's uplink %+v, want 19.6e6 measured", r.Uplink)
	}
	if !slices.ContainsFunc(r.Evidence, func(e string) bool { return strings.Contains(e, "uploads reached 20 Mbit/s") }) {
		t.Errorf("evidence lacks the measured uplink: %q", r.Evidence)
	}
	a, err := r.Find(AdviceUseHelper)
	if err != nil || !strings.Contains(a.Text, "measured uplink of 20 Mbit/s") {
		t.Errorf("helper advice (%v): %q", err, a.Text)
	}
	for bps, want := range map[float64]string{10e6: "10 Mbit/s", 2.44e6: "2.4 Mbit/s", 0.354e6: "0.35 Mbit/s", 123.4e6: "123 Mbit/s"} {
		if got := mbit(bps); got != want {
			t.Errorf("mbit(%v) = %q, want %q", bps, got, want)
		}
	}
}

// More measurements than uplinkKeep drop the slowest, not the oldest: the
// day's fastest stays the estimate.
func TestUplinkKeepsTheFastest(t *testing.T) {
	var u Uplink
	now, total := feed(&u, time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), 0, 0)
	now, total = feed(&u, now, total, repeat(8, 4<<20)...) // the fastest, first
	now, total = feed(&u, now, total, 0)
	for range uplinkKeep + 10 {
		now, total = feed(&u, now, total, repeat(8, 1<<20)...)
		now, total = feed(&u, now, total, 0)
	}
	if bps, ok := u.Estimate(now); !ok || !near(bps, 4<<20*8) {
		t.Errorf("estimate %v, %v after %d slower measurements; want the first, fastest (%v)", bps, ok, uplinkKeep+10, 4<<20*8)
	}
}
