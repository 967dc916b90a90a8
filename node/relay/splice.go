package relay

import (
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lafssync/lafssync/node/transport"
)

// bucket is a token bucket: rate bytes a second, at most burst saved up.
// One goroutine uses it (one direction of one circuit).
type bucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

func newBucket(rate, burst int64) *bucket {
	if rate <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = max(rate/8, 64<<10)
	}
	return &bucket{rate: float64(rate), burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// take spends n bytes' worth, first waiting for them if the bucket is
// short; it returns false if done closes meanwhile.
func (b *bucket) take(n int, done <-chan struct{}) bool {
	if b == nil {
		return true
	}
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return true
	}
	t := time.NewTimer(time.Duration(-b.tokens / b.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// chunk bounds one read: with a rate limit, no more than the burst.
func (b *bucket) chunk(buf []byte) []byte {
	if b != nil && float64(len(buf)) > b.burst {
		return buf[:int(b.burst)]
	}
	return buf
}

// circuit is two spliced streams.
type circuit struct {
	a, b      net.Conn
	from, to  string
	since     time.Time
	bytes     atomic.Int64 // both directions
	close     func()
	done      chan struct{}
	closeOnce sync.Once
	// tap, if set (tests), sees every chunk relayed: toB says which way.
	tap func(toB bool, p []byte)
}

func newCircuit(a, b net.Conn, from, to string) *circuit {
	c := &circuit{a: a, b: b, from: from, to: to, since: time.Now(), done: make(chan struct{})}
	c.close = func() {
		c.closeOnce.Do(func() {
			close(c.done)
			a.Close()
			b.Close()
		})
	}
	return c
}

// copyBufSize is each direction's buffer: large enough that a relay's
// copy is not the bottleneck of a fast link, small enough that the
// circuit limit bounds memory (MaxCircuits × 2 × 128 KiB).
const copyBufSize = 128 << 10

// run copies both ways until either side ends or a limit is reached, then
// closes both streams.
func (c *circuit) run(lim Limits) {
	defer c.close()
	if lim.MaxDuration > 0 {
		t := time.AfterFunc(lim.MaxDuration, c.close)
		defer t.Stop()
	}
	var wg sync.WaitGroup
	wg.Go(func() { c.pipe(c.b, c.a, lim, true) })
	c.pipe(c.a, c.b, lim, false)
	c.close()
	wg.Wait()
}

func (c *circuit) pipe(dst, src net.Conn, lim Limits, toB bool) {
	defer c.close()
	tb := newBucket(lim.Rate, lim.Burst)
	left := lim.MaxBytes
	if left <= 0 {
		left = math.MaxInt64
	}
	if d, s := transport.TCPSocket(dst), transport.TCPSocket(src); d != nil && s != nil && c.tap == nil {
		c.splice(d, s, tb, left)
		return
	}
	buf := make([]byte, copyBufSize)
	for left > 0 {
		k, err := src.Read(tb.chunk(buf[:min(int64(len(buf)), left)]))
		if k > 0 {
			left -= int64(k)
			c.bytes.Add(int64(k))
			if !tb.take(k, c.done) {
				return
			}
			if c.tap != nil {
				c.tap(toB, buf[:k])
			}
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed stream: the circuit ends
		}
	}
}

// splice copies between two sockets in the kernel (splice(2) on Linux,
// which io.Copy uses for TCP to TCP through an io.LimitedReader): the
// relay's own cost per byte is then next to nothing. With a rate limit it
// moves a burst at a time.
func (c *circuit) splice(dst, src *net.TCPConn, tb *bucket, left int64) {
	for left > 0 {
		chunk := left
		if tb != nil {
			chunk = min(chunk, int64(tb.burst))
			if !tb.take(int(chunk), c.done) {
				return
			}
		}
		k, err := io.Copy(dst, &io.LimitedReader{R: src, N: chunk})
		left -= k
		c.bytes.Add(k)
		if err != nil || k < chunk {
			return // EOF, or a closed socket
		}
	}
}
