package relay

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// spliced runs a circuit between two pipes and returns the outer ends:
// what is written to a arrives at b and the other way round.
func spliced(t *testing.T, lim Limits) (a, b net.Conn, done <-chan struct{}) {
	t.Helper()
	a1, a2 := net.Pipe()
	b1, b2 := net.Pipe()
	c := newCircuit(a2, b2, "from", "to")
	ch := make(chan struct{})
	go func() { c.run(lim.withDefaults()); close(ch) }()
	t.Cleanup(func() { a1.Close(); b1.Close(); <-ch })
	return a1, b1, ch
}

func TestCircuitCarriesBothWays(t *testing.T) {
	a, b, _ := spliced(t, Limits{Rate: -1})
	go io.WriteString(a, "hello b")
	buf := make([]byte, 7)
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "hello b" {
		t.Fatalf("a→b: %q, %v", buf, err)
	}
	go io.WriteString(b, "hello a")
	if _, err := io.ReadFull(a, buf); err != nil || string(buf) != "hello a" {
		t.Fatalf("b→a: %q, %v", buf, err)
	}
	a.Close() // one end closing ends the circuit
	if _, err := b.Read(buf); err == nil {
		t.Error("b still open after a closed")
	}
}

func TestCircuitRateLimit(t *testing.T) {
	const rate = 1 << 20
	a, b, _ := spliced(t, Limits{Rate: rate, Burst: 64 << 10})
	payload := make([]byte, rate/2+64<<10) // half a second beyond the burst
	start := time.Now()
	go a.Write(payload)
	if _, err := io.ReadFull(b, make([]byte, len(payload))); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 400*time.Millisecond || took > 3*time.Second {
		t.Errorf("%d bytes at %d B/s took %s, want about 0.5 s", len(payload), rate, took)
	}
}

func TestCircuitByteLimit(t *testing.T) {
	a, b, done := spliced(t, Limits{Rate: -1, MaxBytes: 100 << 10})
	go func() {
		for {
			if _, err := a.Write(make([]byte, 32<<10)); err != nil {
				return
			}
		}
	}()
	got, _ := io.Copy(io.Discard, b)
	<-done
	if got > 100<<10 || got < 64<<10 {
		t.Errorf("circuit carried %d bytes, limit %d", got, 100<<10)
	}
}

func TestCircuitDurationLimit(t *testing.T) {
	_, b, done := spliced(t, Limits{Rate: -1, MaxDuration: 100 * time.Millisecond})
	start := time.Now()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("circuit outlived its duration limit")
	}
	if _, err := b.Read(make([]byte, 1)); err == nil {
		t.Error("stream open after the circuit ended")
	}
	if took := time.Since(start); took < 90*time.Millisecond {
		t.Errorf("ended after %s, before its 100 ms", took)
	}
}

func TestLimitsDefaults(t *testing.T) {
	d := DefaultLimits()
	if got := (Limits{}).withDefaults(); got != d {
		t.Errorf("zero limits → %+v, want the defaults %+v", got, d)
	}
	got := Limits{Rate: -1, MaxBytes: -1, MaxDuration: -1}.withDefaults()
	if got.Rate != 0 || got.MaxBytes != 0 || got.MaxDuration != 0 || got.MaxCircuits != d.MaxCircuits {
		t.Errorf("negative limits → %+v, want rate, bytes and duration unlimited", got)
	}
}

func TestSignalLines(t *testing.T) {
	id := "v0-" + strings.Repeat("a", 52)
	tok := strings.Repeat("b", tokenLen)
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{"connect " + tok + " " + id + "\n", true},
		{"connect " + tok + " " + id + "\r\n", false},
		{"connect " + tok + " v0-short\n", false},
		{"connect " + tok[1:] + " " + id + "\n", false},
		{"accept " + tok + " " + id + "\n", false},
		{"connect " + strings.ToUpper(tok) + " " + id + "\n", false},
		{strings.Repeat("x", 1000) + "\n", false},
		{"connect " + tok + " " + id, false}, // no newline: stream ended
	} {
		sig, err := readSignal(bufio.NewReaderSize(strings.NewReader(tc.line), 16))
		if (err == nil) != tc.ok {
			t.Errorf("%.40q: %v, want ok=%v", tc.line, err, tc.ok)
		}
		if tc.ok && (sig.Token != tok || sig.From != id || string(sig.encode()) != tc.line) {
			t.Errorf("%.40q: read %+v", tc.line, sig)
		}
	}
}

func FuzzReadSignal(f *testing.F) {
	f.Add("connect " + strings.Repeat("b", tokenLen) + " v0-" + strings.Repeat("a", 52) + "\n")
	f.Add("connect x y\n")
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := readSignal(bufio.NewReaderSize(strings.NewReader(s), 16))
		if err != nil {
			return
		}
		again, err := parseSignal(strings.TrimSuffix(string(sig.encode()), "\n"))
		if err != nil || again != sig {
			t.Fatalf("%q read as %+v, which does not round-trip: %+v %v", s, sig, again, err)
		}
	})
}
