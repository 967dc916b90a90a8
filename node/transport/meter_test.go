package transport

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// sink answers with the number of body bytes it read.
var sink = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	w.Write([]byte{byte(n >> 20)})
})

// meterNode runs a node serving sink on host (an IP address).
func meterNode(t *testing.T, host string) (*Node, string) {
	t.Helper()
	n := New(testIdentity(t), sink, nil, nil)
	return n, serve(t, n, host)
}

// nonLoopback is an IPv4 address of this machine's that is not loopback,
// or "" if it has none.
func nonLoopback() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() && !ip.IP.IsLinkLocalUnicast() {
			return ip.IP.String()
		}
	}
	return ""
}

// send POSTs size bytes from a to b over the transport, dialing addr
// first unless it is "".
func send(t *testing.T, a, b *Node, addr string, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if addr != "" { // "": over the connection b already has to a
		if err := a.Dial(ctx, addr, b.ID()); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://peer/", bytes.NewReader(make([]byte, size)))
	resp, err := a.HTTPClient(b.ID()).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(got) != 1 || int(got[0]) != size>>20 {
		t.Fatalf("the peer read %v MiB, want %d", got, size>>20)
	}
}

// BytesSent counts what a node writes to peers across the network (both
// ends of a connection, whoever dialed), and nothing sent over loopback,
// which a local grid uses and which is no uplink.
func TestBytesSentCountsNetworkNotLoopback(t *testing.T) {
	const size = 4 << 20
	a, _ := meterNode(t, "127.0.0.1")
	b, bAddr := meterNode(t, "127.0.0.1")
	send(t, a, b, bAddr, size)
	if a.BytesSent() != 0 || b.BytesSent() != 0 {
		t.Errorf("over loopback: sent %d and %d bytes, want 0 (loopback is not counted)", a.BytesSent(), b.BytesSent())
	}

	host := nonLoopback()
	if host == "" {
		t.Skip("this machine has no non-loopback IPv4 address")
	}
	c, _ := meterNode(t, host)
	d, dAddr := meterNode(t, host)
	send(t, c, d, dAddr, size)
	if got := c.BytesSent(); got < size || got > size+size/10 {
		t.Errorf("the sender counted %d bytes for a %d-byte body, want the body plus a little framing", got, size)
	}
	if got := d.BytesSent(); got == 0 || got > 64<<10 {
		t.Errorf("the receiver counted %d bytes sent, want its handshake and answer only (a few KiB)", got)
	}
	// The receiver answers back over the same (accepted) connection.
	before := d.BytesSent()
	send(t, d, c, "", size)
	if got := d.BytesSent() - before; got < size {
		t.Errorf("over the connection it accepted, the receiver counted %d bytes for a %d-byte body", got, size)
	}
}
