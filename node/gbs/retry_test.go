package gbs

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

// flaky drops the connection of the first n requests without answering.
type flaky struct {
	next http.Handler
	left atomic.Int32
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.left.Add(-1) >= 0 {
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
	}
	f.next.ServeHTTP(w, r)
}

// Idempotent calls are retried when a connection drops; a read-test-write,
// whose lost answer could hide a write that happened, is not.
func TestRetriesIdempotentCalls(t *testing.T) {
	pemBytes, _ := NewCertificate()
	cert, leaf, _ := LoadCertificate(pemBytes)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	backend := mem.New("flaky")
	f := &flaky{next: NewServer(backend, []byte("s"), nil)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, ln, f, cert); close(done) }()
	defer func() { cancel(); <-done }()
	nurl := NURL{SPKIHash: SPKIHash(leaf), Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Swissnum: "s"}
	c := dial(t, nurl.String())

	f.left.Store(2)
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatalf("version after two dropped connections: %v", err)
	}
	var si storage.SI
	f.left.Store(1)
	if got, err := c.ListShares(context.Background(), si); err != nil || len(got) != 0 {
		t.Fatalf("list after a dropped connection: %v %v", got, err)
	}
	f.left.Store(1)
	tw := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: []byte("x")}}}}
	if _, err := c.ReadTestWrite(context.Background(), si, storage.Secret{1}, storage.LeaseSecrets{}, tw, nil); err == nil {
		t.Fatal("read-test-write was retried after a dropped connection")
	}
	if shares, _ := backend.ListMutableShares(context.Background(), si); len(shares) != 0 {
		t.Fatal("the dropped read-test-write reached the store")
	}
}
