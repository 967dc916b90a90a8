package gbs

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// Limits bound what one client, or all of them together, can make a
// Server hold. The zero value of each field means its default (doc.go,
// "Limits", lists them with the reasons for the numbers).
type Limits struct {
	// MaxRequests bounds requests served at once (default 128); further
	// ones wait up to QueueWait for a slot, then get 503.
	MaxRequests int
	// QueueWait is how long a request waits for a slot or for memory
	// before it is answered 503 (default 10 s).
	QueueWait time.Duration
	// MaxRTWBody bounds a mutable read-test-write request body (default
	// 32 MiB); larger ones get 413.
	MaxRTWBody int64
	// Memory is the budget request and response bytes held in memory are
	// charged to (default: one budget of DefaultMemory bytes shared by
	// every Server in the process, since RAM is the process's).
	Memory *MemoryBudget
	// BodyIdle cuts a request body (or a share read's response) that
	// makes no progress for this long (default 30 s).
	BodyIdle time.Duration
	// MinRate is the slowest average rate, in bytes per second, a body
	// may arrive or a response may be taken at once BodyGrace has passed
	// (default 4 KiB/s): a body trickling at 1 byte/s is cut.
	MinRate int64
	// BodyGrace is the time a body or response gets on top of its size
	// at MinRate (default 30 s).
	BodyGrace time.Duration
}

// Defaults (see doc.go, "Limits").
const (
	DefaultMaxRequests = 128
	DefaultQueueWait   = 10 * time.Second
	DefaultMaxRTWBody  = 32 << 20
	DefaultMemory      = 128 << 20
	DefaultBodyIdle    = 30 * time.Second
	DefaultMinRate     = 4 << 10
	DefaultBodyGrace   = 30 * time.Second
	// chunkSize is the buffer a share upload is streamed through and the
	// piece a whole-share read is sent in.
	chunkSize = 1 << 20
	// maxRTWReadBytes bounds the sum of a read-test-write's read vector
	// sizes: the answer holds them for every share of the slot (up to 256).
	// Clients read the 41-byte checkstring.
	maxRTWReadBytes = 64 << 10
)

// processMemory is the budget Servers share unless given their own: ten
// storage servers in one daemon share one machine's RAM.
var processMemory = NewMemoryBudget(DefaultMemory)

func (l Limits) withDefaults() Limits {
	if l.MaxRequests <= 0 {
		l.MaxRequests = DefaultMaxRequests
	}
	if l.QueueWait <= 0 {
		l.QueueWait = DefaultQueueWait
	}
	if l.MaxRTWBody <= 0 {
		l.MaxRTWBody = DefaultMaxRTWBody
	}
	if l.Memory == nil {
		l.Memory = processMemory
	}
	if l.BodyIdle <= 0 {
		l.BodyIdle = DefaultBodyIdle
	}
	if l.MinRate <= 0 {
		l.MinRate = DefaultMinRate
	}
	if l.BodyGrace <= 0 {
		l.BodyGrace = DefaultBodyGrace
	}
	return l
}

// MemoryBudget is a weighted semaphore over bytes: a request charges the
// bytes it is about to hold and waits (first come, first served) while
// the budget is spent. It is safe for concurrent use.
type MemoryBudget struct {
	size int64
	mu   sync.Mutex // guards used, waiters
	used int64
	// waiters are served in order, so a large charge is not starved by a
	// stream of small ones.
	waiters []*waiter
}

type waiter struct {
	n     int64
	ready chan struct{} // closed when the bytes are granted
}

// NewMemoryBudget returns a budget of size bytes.
func NewMemoryBudget(size int64) *MemoryBudget { return &MemoryBudget{size: size} }

// errBusy is answered 503: the server is at a limit and the client should
// retry later.
var errBusy = &httpError{code: http.StatusServiceUnavailable, msg: "storage server busy (too many requests or bytes in flight); retry later"}

// Acquire charges n bytes, waiting until they are free, ctx ends or wait
// passes (then errBusy). A charge larger than the whole budget fails at
// once.
func (b *MemoryBudget) Acquire(ctx context.Context, n int64, wait time.Duration) error {
	if n <= 0 {
		return nil
	}
	if n > b.size {
		return errBusy
	}
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.size {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	case <-t.C:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // granted meanwhile: keep it
		return nil
	default:
	}
	for i, x := range b.waiters {
		if x == w {
			b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
			break
		}
	}
	b.grantLocked() // the head may have been what blocked the others
	return errBusy
}

// Release returns n bytes to the budget.
func (b *MemoryBudget) Release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	if b.used < 0 {
		panic("gbs: memory budget released more than acquired")
	}
	b.grantLocked()
	b.mu.Unlock()
}

func (b *MemoryBudget) grantLocked() {
	for len(b.waiters) > 0 && b.used+b.waiters[0].n <= b.size {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.used += w.n
		close(w.ready)
	}
}

// InUse reports the bytes charged now.
func (b *MemoryBudget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// charge is what one request holds of the budget; release returns it all.
type charge struct {
	b    *MemoryBudget
	wait time.Duration
	n    int64
}

func (c *charge) add(ctx context.Context, n int64) error {
	if err := c.b.Acquire(ctx, n, c.wait); err != nil {
		return err
	}
	c.n += n
	return nil
}

// keep returns what the request charged beyond n bytes (a read shorter
// than the range it asked for).
func (c *charge) keep(n int64) {
	if extra := c.n - max(n, 0); extra > 0 {
		c.b.Release(extra)
		c.n -= extra
	}
}

func (c *charge) release() { c.b.Release(c.n); c.n = 0 }

// pacer bounds how long a transfer may take: no single read or write may
// stall for longer than idle, and after grace the transfer must have
// averaged at least rate bytes per second. It works through the
// connection's deadlines (http.ResponseController), which both plain TLS
// connections and the transport's yamux streams honour; where there are
// none (an in-process recorder) the rate is still checked between reads.
type pacer struct {
	rc    *http.ResponseController
	idle  time.Duration
	grace time.Duration
	rate  float64
	start time.Time
	n     uint64 // bytes moved so far
}

func (s *Server) newPacer(w http.ResponseWriter) *pacer {
	l := s.limits
	return &pacer{rc: http.NewResponseController(w), idle: l.BodyIdle, grace: l.BodyGrace, rate: float64(l.MinRate), start: time.Now()}
}

// due is when the transfer must have moved n+more bytes.
func (p *pacer) due(more uint64) time.Time {
	sec := min(float64(p.n+more)/p.rate, 365*24*3600)
	return p.start.Add(p.grace + time.Duration(sec*float64(time.Second)))
}

func (p *pacer) deadline(more uint64) (time.Time, bool) {
	now := time.Now()
	due := p.due(more)
	if idle := now.Add(p.idle); idle.Before(due) {
		return idle, true
	}
	return due, now.Before(due)
}

// reader returns body with a read deadline renewed before each read.
func (p *pacer) reader(body io.Reader) io.Reader { return &pacedReader{p: p, r: body} }

// done clears the read deadline, so that it cannot fire while the request
// is being served (net/http would cancel the request's context).
func (p *pacer) done() { p.rc.SetReadDeadline(time.Time{}) }

type pacedReader struct {
	p *pacer
	r io.Reader
}

func (r *pacedReader) Read(b []byte) (int, error) {
	d, ok := r.p.deadline(0)
	if !ok {
		return 0, errTooSlow
	}
	r.p.rc.SetReadDeadline(d)
	n, err := r.r.Read(b)
	r.p.n += uint64(n)
	if isTimeout(err) {
		err = errTooSlow
	}
	return n, err
}

// write sends b in pieces, each under a write deadline.
func (p *pacer) write(w http.ResponseWriter, b []byte) error {
	for len(b) > 0 {
		n := min(len(b), 64<<10)
		d, ok := p.deadline(uint64(n))
		if !ok {
			return errTooSlow
		}
		p.rc.SetWriteDeadline(d)
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		p.n += uint64(n)
		b = b[n:]
	}
	return nil
}

var errTooSlow = errors.New("transfer slower than the server's minimum rate")

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return err != nil && errors.As(err, &t) && t.Timeout()
}
