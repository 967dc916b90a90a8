// Package invitetest runs a real magic-wormhole mailbox server (Debian's
// python3-magic-wormhole-mailbox-server, under twist3) on loopback for
// tests, with a private database; tests skip when it is not installed.
// One server serves all of a test binary's tests (it takes seconds to
// start); the binary's TestMain calls Stop.
package invitetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// twist is Twisted's runner for the mailbox plugin (Debian names it twist3).
const twist = "twist3"

var (
	mu      sync.Mutex
	started *server
	skip    string // why no server can run here
)

type server struct {
	url    string
	cmd    *exec.Cmd
	stdin  io.WriteCloser // closing it stops the server
	dir    string
	exited chan struct{}
}

// Mailbox returns the websocket URL of the test binary's mailbox server,
// starting it on first use; it skips the test when the server is not
// installed.
func Mailbox(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if started == nil && skip == "" {
		s, err := start()
		var ni notInstalled
		switch {
		case errors.As(err, &ni):
			skip = string(ni)
		case err != nil:
			t.Fatal(err)
		default:
			started = s
		}
	}
	if skip != "" {
		t.Skip(skip)
	}
	return started.url
}

// Stop stops the mailbox server, if one was started.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if started != nil {
		started.stop()
		started = nil
	}
}

type notInstalled string

func (n notInstalled) Error() string { return string(n) }

func start() (*server, error) {
	if _, err := exec.LookPath(twist); err != nil {
		return nil, notInstalled("no " + twist + ": install python3-magic-wormhole-mailbox-server (scripts/deps.sh does)")
	}
	if out, err := exec.Command(twist, "wormhole-mailbox", "--help").CombinedOutput(); err != nil {
		return nil, notInstalled(fmt.Sprintf("%s has no wormhole-mailbox plugin (install python3-magic-wormhole-mailbox-server): %v: %s", twist, err, firstLine(out)))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir, err := os.MkdirTemp("", "mailbox")
	if err != nil {
		return nil, err
	}
	var logs bytes.Buffer
	// A shell runs the server and kills it when our end of its standard
	// input closes: at Stop, or when the test binary exits without calling
	// Stop (a package with no TestMain), however it exits.
	cmd := exec.Command("/bin/sh", "-c", `exec 3<&0; "$@" </dev/null & pid=$!; (read _ <&3; kill $pid) >/dev/null 2>&1 & wait $pid`, "sh",
		twist, "wormhole-mailbox",
		"--port=tcp:"+strconv.Itoa(port)+":interface=127.0.0.1",
		"--channel-db="+filepath.Join(dir, "relay.sqlite"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &logs, &logs
	stdin, err := cmd.StdinPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start the mailbox server: %w", err)
	}
	s := &server{cmd: cmd, stdin: stdin, dir: dir, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			s.url = "ws://" + addr + "/v1"
			return s, nil
		}
		select {
		case <-s.exited:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("the mailbox server exited: %s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the mailbox server did not listen on %s within 30 s: %s", addr, logs.String())
		}
	}
}

// stop closes the server's standard input, which makes its shell kill
// it, and waits (bounded) for the end.
func (s *server) stop() {
	s.stdin.Close()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	os.RemoveAll(s.dir)
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
