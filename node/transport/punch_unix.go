//go:build linux || darwin || freebsd || netbsd || openbsd

package transport

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reusePort lets a hole-punching listener and its dials share one port.
func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// dialFrom dials to from local port port until it connects or ctx ends
// (punch.go). One dial lasts as long as ctx allows, so the kernel
// retransmits its SYN with the same sequence number, which the NATs'
// connection tracking accepts on the other side's mapping; only a dial
// that fails (a reset) is made again, after punchPause, doubling up to a
// second (so an address that resets gets about a dozen dials in an
// attempt's 10 s, not a hundred).
func dialFrom(ctx context.Context, port int, to netip.AddrPort) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{Port: port}, Control: reusePort}
	pause := punchPause
	for {
		c, err := d.DialContext(ctx, "tcp4", to.String())
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}
