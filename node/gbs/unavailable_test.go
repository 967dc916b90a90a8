package gbs

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/storagetest"
)

// A client whose server is gone (connection refused) fails every call with
// storage.ErrUnavailable naming the server.
func TestUnavailableWhenRefused(t *testing.T) {
	storagetest.RunUnavailable(t, func(t *testing.T) storage.Server {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		n := NURL{SPKIHash: someKey(t), Host: "127.0.0.1", Port: port, Swissnum: "s"}
		c, err := Dial(n.String(), ClientOptions{Retries: 1, Info: storage.ServerInfo{ID: "v0-gone", Nickname: "gone"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	})
}

// serveStatus runs a GBS-speaking TLS server that answers every request
// with one status, and returns a client for it.
func serveStatus(t *testing.T, code int) *Client {
	pemBytes, _ := NewCertificate()
	cert, leaf, _ := LoadCertificate(pemBytes)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "busy", code) })
	go func() { Serve(ctx, ln, h, cert); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	n := NURL{SPKIHash: SPKIHash(leaf), Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Swissnum: "s"}
	c, err := Dial(n.String(), ClientOptions{Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// 5xx answers are unavailability, except 507, which says the server is
// full or read-only; 4xx answers are not.
func TestUnavailableStatuses(t *testing.T) {
	var si storage.SI
	for _, tc := range []struct {
		code        int
		unavailable bool
		is          error
	}{
		{http.StatusServiceUnavailable, true, nil},
		{http.StatusInternalServerError, true, nil},
		{http.StatusBadGateway, true, nil},
		{http.StatusInsufficientStorage, false, storage.ErrReadOnly},
		{http.StatusNotFound, false, storage.ErrNotFound},
	} {
		c := serveStatus(t, tc.code)
		for name, call := range map[string]func() error{
			"list (idempotent)": func() error { _, err := c.ListShares(context.Background(), si); return err },
			"read-test-write": func() error {
				_, err := c.ReadTestWrite(context.Background(), si, storage.Secret{}, storage.LeaseSecrets{},
					map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: []byte("x")}}}}, nil)
				return err
			},
		} {
			err := call()
			if got := errors.Is(err, storage.ErrUnavailable); got != tc.unavailable {
				t.Errorf("%d, %s: %v: unavailable %v, want %v", tc.code, name, err, got, tc.unavailable)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%d, %s: %v does not match %v", tc.code, name, err, tc.is)
			}
		}
	}
}

// A server that accepts the connection but never answers is unavailable
// once the caller's deadline passes; the deadline stays visible.
func TestUnavailableOnTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 8)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			held <- conn // never answered; closed at the end
		}
	}()
	defer func() {
		ln.Close()
		for {
			select {
			case c := <-held:
				c.Close()
			default:
				return
			}
		}
	}()
	n := NURL{SPKIHash: someKey(t), Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Swissnum: "s"}
	c, err := Dial(n.String(), ClientOptions{Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = c.Version(ctx)
	if !errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("version from a silent server: %v, want unavailable and deadline exceeded", err)
	}
}

// someKey is the SPKI hash of a fresh certificate, for NURLs no server answers.
func someKey(t *testing.T) string {
	pemBytes, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	_, leaf, err := LoadCertificate(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return SPKIHash(leaf)
}
