package nat

import (
	"slices"
	"sync"
	"time"
)

// Uplink estimates the node's upload bandwidth from its own traffic, with
// no speed test: it is fed the node's running count of bytes sent to peers
// over the network (transport.Node.BytesSent, loopback excluded) about once
// a second. A busy stretch is a run of samples each sending at least
// uplinkBusy bytes a second; one that lasts uplinkMinStretch and carries
// uplinkMinBytes is a measurement, its bytes over its duration. The
// estimate is the fastest measurement of the last UplinkWindow: an upload
// is held back by the link only when nothing else (the disk, the CPU, a
// slow server) is slower, so the fastest stretch comes closest to the
// link. The first interval of a stretch is left out, because the sockets'
// send buffers take a burst there faster than the wire.
//
// An Uplink is safe for concurrent use; the zero value is ready.
type Uplink struct {
	mu        sync.Mutex
	last      time.Time // the last sample
	lastTotal uint64
	start     time.Time // the busy stretch under way counts from here (zero: none)
	bytes     uint64    // sent in the stretch since start
	end       time.Time // its last busy sample
	best      []uplinkMeasure
}

type uplinkMeasure struct {
	at  time.Time
	bps float64
}

const (
	// uplinkBusy (bytes a second) is the least a sample must send to count
	// as busy: well above keep-alives and announcements.
	uplinkBusy = 32 << 10
	// uplinkMinStretch and uplinkMinBytes make a busy stretch a
	// measurement: long enough that the send buffers' burst and TCP's slow
	// start weigh little.
	uplinkMinStretch = 5 * time.Second
	uplinkMinBytes   = 1 << 20
	// uplinkMaxGap ends a stretch: samples further apart (the machine
	// slept) say nothing about the link in between.
	uplinkMaxGap = 5 * time.Second
	// UplinkWindow is how long a measurement is kept.
	UplinkWindow = 24 * time.Hour
	// uplinkKeep bounds the measurements kept (the slowest go first).
	uplinkKeep = 64
)

// Observe takes a sample: total is the node's bytes sent so far, now when
// it was read.
func (u *Uplink) Observe(now time.Time, total uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	first := u.last.IsZero()
	dt, sent := now.Sub(u.last), total-u.lastTotal
	restarted := total < u.lastTotal // a new counter: nothing to compare with
	u.last, u.lastTotal = now, total
	if first || restarted || dt <= 0 || dt > uplinkMaxGap {
		u.endLocked()
		return
	}
	if float64(sent)/dt.Seconds() < uplinkBusy {
		u.endLocked()
		return
	}
	if u.start.IsZero() {
		u.start, u.bytes = now, 0 // the stretch's first interval is left out
		return
	}
	u.bytes += sent
	u.end = now
}

// endLocked closes the busy stretch under way, keeping it if it is a
// measurement.
func (u *Uplink) endLocked() {
	if m, ok := u.currentLocked(); ok {
		u.best = append(u.best, m)
		if len(u.best) > uplinkKeep { // drop the slowest: the fastest is the estimate
			slowest := 0
			for i, b := range u.best {
				if b.bps < u.best[slowest].bps {
					slowest = i
				}
			}
			u.best = slices.Delete(u.best, slowest, slowest+1)
		}
	}
	u.start, u.bytes, u.end = time.Time{}, 0, time.Time{}
}

// currentLocked is the stretch under way as a measurement, if it is one.
func (u *Uplink) currentLocked() (uplinkMeasure, bool) {
	if u.start.IsZero() || u.end.IsZero() {
		return uplinkMeasure{}, false
	}
	d := u.end.Sub(u.start)
	if d < uplinkMinStretch || u.bytes < uplinkMinBytes {
		return uplinkMeasure{}, false
	}
	return uplinkMeasure{at: u.end, bps: float64(u.bytes) * 8 / d.Seconds()}, true
}

// Estimate is the uplink in bits a second and whether it was measured:
// the fastest measurement of the last UplinkWindow, counting a stretch
// still under way. Without one it is (0, false).
func (u *Uplink) Estimate(now time.Time) (bps float64, measured bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	keep := u.best[:0]
	for _, m := range u.best {
		if now.Sub(m.at) <= UplinkWindow {
			keep = append(keep, m)
		}
	}
	u.best = keep
	if m, ok := u.currentLocked(); ok {
		bps, measured = m.bps, true
	}
	for _, m := range u.best {
		if m.bps > bps {
			bps, measured = m.bps, true
		}
	}
	return bps, measured
}

// Reset forgets every measurement: the node is on another network.
func (u *Uplink) Reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.start, u.bytes, u.end, u.best = time.Time{}, 0, time.Time{}, nil
	u.last, u.lastTotal = time.Time{}, 0
}
