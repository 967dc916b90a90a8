package syncbench

import (
	"fmt"
	"slices"
	"time"
)

// Latencies is a set of measured durations.
type Latencies []time.Duration

// Percentile is the nearest-rank p-th percentile (0 < p <= 100), 0 for
// an empty set.
func (l Latencies) Percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	rank := int(p/100*float64(len(s)) + 0.999999999)
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Max is the largest duration, 0 for an empty set.
func (l Latencies) Max() time.Duration {
	if len(l) == 0 {
		return 0
	}
	return slices.Max(l)
}

// String is "p50 X s, p95 Y s, max Z s (n = N)".
func (l Latencies) String() string {
	return fmt.Sprintf("p50 %s, p95 %s, max %s (n = %d)", Seconds(l.Percentile(50)), Seconds(l.Percentile(95)), Seconds(l.Max()), len(l))
}

// Seconds is d in seconds with three decimals: "0.412 s".
func Seconds(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }
