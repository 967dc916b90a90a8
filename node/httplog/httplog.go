// Package httplog gives net/http servers an ErrorLog that writes to the
// node's slog logger instead of stderr or nowhere: TLS handshake failures,
// accept errors ("too many open files"), handler panics and malformed
// requests become warnings naming the server they came from.
//
// The lines are rate-limited: a flood (an accept loop hitting EMFILE, a
// scanner's broken handshakes) costs a few lines and one "suppressed N"
// summary per interval, never a full disk or terminal.
package httplog

import (
	"context"
	"log"
	"log/slog"
	"sync"
	"time"
)

// Burst is how many lines a server logs before the rate limit applies;
// after that one line per Interval gets through and the rest are counted.
const (
	Burst    = 10
	Interval = 10 * time.Second
)

// New returns a logger for http.Server.ErrorLog that writes to l at warn
// level, with a "server" attribute naming the server.
func New(l *slog.Logger, server string) *log.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return slog.NewLogLogger(newLimiter(l.With("server", server).Handler(), time.Now), slog.LevelWarn)
}

// limiter is a slog.Handler that lets Burst records through, then one per
// Interval (a token bucket), and reports how many it dropped.
type limiter struct {
	next slog.Handler
	st   *limitState
}

type limitState struct {
	now        func() time.Time
	mu         sync.Mutex // guards the fields below
	tokens     float64
	last       time.Time
	suppressed int
}

func newLimiter(h slog.Handler, now func() time.Time) *limiter {
	return &limiter{next: h, st: &limitState{now: now, tokens: Burst, last: now()}}
}

func (l *limiter) Enabled(ctx context.Context, lv slog.Level) bool { return l.next.Enabled(ctx, lv) }

func (l *limiter) Handle(ctx context.Context, r slog.Record) error {
	s := l.st
	s.mu.Lock()
	t := s.now()
	s.tokens = min(Burst, s.tokens+t.Sub(s.last).Seconds()/Interval.Seconds())
	s.last = t
	if s.tokens < 1 {
		s.suppressed++
		s.mu.Unlock()
		return nil
	}
	s.tokens--
	dropped := s.suppressed
	s.suppressed = 0
	s.mu.Unlock()
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed_before", dropped))
	}
	return l.next.Handle(ctx, r)
}

func (l *limiter) WithAttrs(as []slog.Attr) slog.Handler {
	return &limiter{next: l.next.WithAttrs(as), st: l.st}
}

func (l *limiter) WithGroup(name string) slog.Handler {
	return &limiter{next: l.next.WithGroup(name), st: l.st}
}
