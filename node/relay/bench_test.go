package relay

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/lafssync/lafssync/node/transport"
)

// benchPair is B and A connected directly and B and A' (another node)
// connected through the relay R on loopback with no rate limit: the same
// transport, TLS and yamux end to end, plus the relay's hop.
func benchPair(b *testing.B, tcp bool) (direct, relayed *http.Client) {
	a, bb := newNode(b, "A", true), newNode(b, "B", false)
	dial(b, bb, a)
	r, a2 := newNode(b, "R", true), newNode(b, "A2", false)
	g := &grid{}
	g.add(r, a2, bb)
	startRelay(b, r, g, Limits{Rate: -1}, tcp)
	dial(b, a2, r)
	dial(b, bb, r)
	reserve(b, a2, r)
	if err := bb.Dial(context.Background(), transport.RelayPrefix+r.ID(), a2.ID()); err != nil {
		b.Fatal(err)
	}
	return bb.HTTPClient(a.ID()), bb.HTTPClient(a2.ID())
}

const benchSize = 8 << 20

func upload(b *testing.B, hc *http.Client, payload []byte) time.Duration {
	start := time.Now()
	resp, err := hc.Post("http://peer/sink", "application/octet-stream", bytes.NewReader(payload))
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(start)
}

// BenchmarkRelayedVsDirect uploads 8 MiB calls from B, alternating one
// direct and one relayed so that both see the same machine load, and
// reports each one's throughput and their ratio (the goal:
// relayed ≥ 70 % of direct). tcp: the relay splices the nodes' own
// sockets (the default); in-band: streams of the transport connections,
// encrypted again on each hop (the fallback).
func BenchmarkRelayedVsDirect(b *testing.B) {
	b.Run("tcp", func(b *testing.B) { benchRelayed(b, true) })
	b.Run("in-band", func(b *testing.B) { benchRelayed(b, false) })
}

func benchRelayed(b *testing.B, tcp bool) {
	direct, relayed := benchPair(b, tcp)
	payload := bytes.Repeat([]byte("0123456789abcdef"), benchSize/16)
	upload(b, direct, payload) // warm both: windows grown, streams pooled
	upload(b, relayed, payload)
	var td, tr time.Duration
	b.SetBytes(2 * benchSize)
	b.ResetTimer()
	for b.Loop() {
		td += upload(b, direct, payload)
		tr += upload(b, relayed, payload)
	}
	mb := func(d time.Duration) float64 { return float64(b.N) * benchSize / d.Seconds() / 1e6 }
	b.ReportMetric(mb(td), "direct-MB/s")
	b.ReportMetric(mb(tr), "relayed-MB/s")
	b.ReportMetric(100*td.Seconds()/tr.Seconds(), "relayed-%-of-direct")
}
