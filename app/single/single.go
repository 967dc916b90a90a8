// Package single keeps one tray app per node directory. The instance that
// holds the directory's lock listens on a Unix socket in it
// (NODEDIR/app.sock, reachable only by its owner: the node directory is
// 0700); a second start sends "show" there, the first brings its window
// to the front, and the second exits. Windows 10 and later have Unix
// sockets too.
package single

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SocketFile is the socket's name in the node directory.
const SocketFile = "app.sock"

// Timeout bounds each side's exchange.
var Timeout = 2 * time.Second

// maxClients bounds the requests served at once.
const maxClients = 4

// request and reply are the whole protocol.
const (
	request = "show\n"
	reply   = "ok\n"
)

// Listen serves dir's socket until ctx ends, calling show (from its own
// goroutine) for each well-formed request. The caller must hold dir's
// lock: a socket file left by a crashed instance is replaced.
func Listen(ctx context.Context, dir string, show func()) error {
	p := filepath.Join(dir, SocketFile)
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the old %s: %w", p, err)
	}
	l, err := net.Listen("unix", p)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", p, err)
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	go func() {
		defer os.Remove(p)
		slots := make(chan struct{}, maxClients)
		for {
			c, err := l.Accept()
			if err != nil {
				return // closed
			}
			// A few at a time, each bounded by Timeout: clients that
			// connect and say nothing hold nothing for long.
			select {
			case slots <- struct{}{}:
				go func() { defer func() { <-slots }(); serve(c, show) }()
			default:
				c.Close()
			}
		}
	}()
	return nil
}

func serve(c net.Conn, show func()) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(Timeout))
	line, err := bufio.NewReader(io.LimitReader(c, int64(len(request)))).ReadString('\n')
	if err != nil || line != request {
		return
	}
	show()
	io.WriteString(c, reply)
}

// Signal asks the instance holding dir to show its window; an error says
// none answered.
func Signal(dir string) error {
	p := filepath.Join(dir, SocketFile)
	c, err := net.DialTimeout("unix", p, Timeout)
	if err != nil {
		return fmt.Errorf("the running instance did not answer on %s: %w", p, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(Timeout))
	if _, err := io.WriteString(c, request); err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(c, int64(len(reply)))).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != strings.TrimSpace(reply) {
		return fmt.Errorf("the running instance did not answer on %s (%v)", p, err)
	}
	return nil
}
