package gbs

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/lafssync/lafssync/node/httplog"
	"github.com/lafssync/lafssync/node/tlsbatch"
)

// Connection limits of Serve (doc.go, "Limits").
const (
	// MaxConns bounds the connections Serve holds open at once (and so
	// its file descriptors). At the limit, the longest-idle connection
	// (or one that has sent nothing for evictAfter) is closed to make
	// room; with none of those, accepting waits for one to close.
	MaxConns = 512
	// ReadHeaderTimeout cuts a connection that does not complete its TLS
	// handshake and request headers in time (a slowloris).
	ReadHeaderTimeout = 20 * time.Second
	// IdleTimeout closes a keep-alive connection with no request.
	IdleTimeout = 2 * time.Minute
	// evictAfter is how long a new connection may send nothing before it
	// can be evicted for a newcomer.
	evictAfter = 2 * time.Second
)

// Serve answers GBS requests on ln with TLS until ctx ends, then shuts
// down gracefully (in-flight requests get 10 s). Its errors (accept
// failures, broken handshakes) go to h's logger if h is a *Server.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, cert tls.Certificate) error {
	return serve(ctx, newConnLimiter(batchedTLSListener{ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}, MaxConns), h)
}

func serve(ctx context.Context, lim *connLimiter, h http.Handler) error {
	logger := slog.New(slog.DiscardHandler)
	if s, ok := h.(*Server); ok {
		logger = s.log
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          httplog.New(logger, "gbs"),
		ConnState:         lim.setState,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lim) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
		return err
	}
}

// batchedTLSListener serves TLS whose large writes (share reads) leave in
// few socket writes (see tlsbatch). The handshake happens on first use.
type batchedTLSListener struct {
	net.Listener
	config *tls.Config
}

func (l batchedTLSListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tlsbatch.Server(c, l.config), nil
}

// connLimiter holds at most max connections open, evicting idle ones to
// make room for new ones, so that neither idle keep-alives nor clients
// that connect and send nothing can take all the slots.
type connLimiter struct {
	net.Listener
	max int

	mu      sync.Mutex // guards conns, changed
	conns   map[net.Conn]*connInfo
	changed chan struct{} // closed and replaced when a connection goes
	closed  chan struct{}
	close   func()
}

type connInfo struct {
	c     *limitedConn
	state http.ConnState
	since time.Time // when state was entered
}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	l := &connLimiter{Listener: ln, max: max, conns: map[net.Conn]*connInfo{}, changed: make(chan struct{}), closed: make(chan struct{})}
	l.close = sync.OnceFunc(func() { close(l.closed) })
	return l
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		if len(l.conns) < l.max {
			l.mu.Unlock()
			break
		}
		victim := l.victimLocked()
		wait := l.changed
		l.mu.Unlock()
		if victim != nil {
			victim.Close()
			continue
		}
		// Wait for a connection to go, or for a new one to become
		// evictable.
		t := time.NewTimer(evictAfter / 4)
		select {
		case <-wait:
		case <-t.C:
		case <-l.closed:
			t.Stop()
			return nil, net.ErrClosed
		}
		t.Stop()
	}
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &limitedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[lc] = &connInfo{c: lc, state: http.StateNew, since: time.Now()}
	l.mu.Unlock()
	return lc, nil
}

// victimLocked picks the connection to close for a newcomer: the one idle
// longest, else the oldest that has sent nothing for evictAfter.
func (l *connLimiter) victimLocked() *limitedConn {
	var idle, fresh *connInfo
	now := time.Now()
	for _, ci := range l.conns {
		switch {
		case ci.state == http.StateIdle && (idle == nil || ci.since.Before(idle.since)):
			idle = ci
		case ci.state == http.StateNew && now.Sub(ci.since) >= evictAfter && (fresh == nil || ci.since.Before(fresh.since)):
			fresh = ci
		}
	}
	if idle != nil {
		return idle.c
	}
	if fresh != nil {
		return fresh.c
	}
	return nil
}

// setState is the server's ConnState hook.
func (l *connLimiter) setState(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ci := l.conns[c]; ci != nil && st != http.StateClosed && st != http.StateHijacked {
		ci.state, ci.since = st, time.Now()
	}
}

func (l *connLimiter) forget(c *limitedConn) {
	l.mu.Lock()
	if _, ok := l.conns[c]; ok {
		delete(l.conns, c)
		close(l.changed)
		l.changed = make(chan struct{})
	}
	l.mu.Unlock()
}

// open reports the connections held now.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

func (l *connLimiter) Close() error {
	l.close()
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	l *connLimiter
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.l.forget(c)
	return err
}
