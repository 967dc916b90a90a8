package single

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestSecondStartShowsTheFirst(t *testing.T) {
	dir := t.TempDir()
	if err := Signal(dir); err == nil {
		t.Fatal("Signal succeeded with no instance running")
	}
	// A socket file left by a crashed instance does not stop Listen.
	if err := os.WriteFile(filepath.Join(dir, SocketFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var shown atomic.Int32
	if err := Listen(ctx, dir, func() { shown.Add(1) }); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := Signal(dir); err != nil {
			t.Fatalf("signal %d: %v", i, err)
		}
	}
	if n := shown.Load(); n != 3 {
		t.Errorf("shown %d times, want 3", n)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, SocketFile)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the socket file stayed after the listener stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := Signal(dir); err == nil {
		t.Error("Signal succeeded after the instance stopped")
	}
}

// TestSilentAndGarbageClientsAreBounded: a client that says nothing is
// dropped after Timeout, garbage is not obeyed, and a real request after
// them is still served.
func TestSilentAndGarbageClientsAreBounded(t *testing.T) {
	old := Timeout
	Timeout = 200 * time.Millisecond
	defer func() { Timeout = old }()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var shown atomic.Int32
	if err := Listen(ctx, dir, func() { shown.Add(1) }); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, SocketFile)
	silent, err := net.Dial("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	junk, err := net.Dial("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	junk.Write([]byte("shutdown everything please\n"))
	junk.Close()
	start := time.Now()
	if err := Signal(dir); err != nil {
		t.Fatalf("a real request after a silent and a garbage client: %v", err)
	}
	if waited := time.Since(start); waited > 5*Timeout {
		t.Errorf("the real request waited %v", waited)
	}
	if n := shown.Load(); n != 1 {
		t.Errorf("shown %d times, want 1 (garbage must not count)", n)
	}
}
