package httplog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLinesReachTheLoggerAtWarn(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, nil)), "gbs")
	l.Printf("http: TLS handshake error from 127.0.0.1:5: EOF")
	out := buf.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "TLS handshake error") || !strings.Contains(out, "server=gbs") {
		t.Fatalf("log line: %q", out)
	}
}

func TestFloodIsRateLimited(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	h := newLimiter(slog.NewTextHandler(&buf, nil), func() time.Time { return now })
	l := slog.NewLogLogger(h, slog.LevelWarn)
	for i := 0; i < 10000; i++ {
		l.Printf("http: Accept error: accept tcp: accept4: too many open files; retrying in 1s")
	}
	if n := strings.Count(buf.String(), "\n"); n != Burst {
		t.Fatalf("%d lines for a flood of 10000, want %d", n, Burst)
	}
	now = now.Add(Interval)
	l.Printf("http: Accept error: again")
	last := buf.String()[strings.LastIndex(strings.TrimSuffix(buf.String(), "\n"), "\n")+1:]
	if !strings.Contains(last, "suppressed_before=9990") {
		t.Fatalf("after the interval: %q", last)
	}
}
