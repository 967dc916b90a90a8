package tlsbatch

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// counting counts the writes that reach the socket.
type counting struct {
	net.Conn
	writes atomic.Int64
}

func (c *counting) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func pair(t *testing.T) (client *Conn, server *Conn, sock *counting) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	a, b := net.Pipe()
	sock = &counting{Conn: a}
	client = Client(sock, &tls.Config{InsecureSkipVerify: true})
	server = Server(b, &tls.Config{Certificates: []tls.Certificate{cert}})
	t.Cleanup(func() { a.Close(); b.Close() }) // not a TLS close: nobody reads its alert
	return client, server, sock
}

func TestLargeWriteLeavesInFewSocketWrites(t *testing.T) {
	client, server, sock := pair(t)
	go server.Handshake()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 512<<10)
	rand.Read(data)
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(io.LimitReader(server, int64(len(data)))); got <- b }()
	before := sock.writes.Load()
	if n, err := client.Write(data); n != len(data) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	writes := sock.writes.Load() - before
	if !bytes.Equal(<-got, data) {
		t.Fatal("data changed on the way")
	}
	// 512 KiB is 32 TLS records; batched at 256 KiB that is 2 or 3 writes.
	if writes > 3 {
		t.Fatalf("512 KiB took %d socket writes", writes)
	}
}

// Small writes and the handshake are not held back: each arrives without
// another write to push it.
func TestSmallWritesGoAtOnce(t *testing.T) {
	client, server, _ := pair(t)
	go func() { client.Write([]byte("hello")) }()
	buf := make([]byte, 5)
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v", buf, err)
	}
	go func() { server.Write(bytes.Repeat([]byte("y"), 40<<10)) }() // batched, then flushed
	big := make([]byte, 40<<10)
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(client, big); err != nil || big[len(big)-1] != 'y' {
		t.Fatalf("read the 40 KiB answer: %v", err)
	}
}
