//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package transport

import (
	"context"
	"net"
	"net/netip"
	"syscall"
)

func reusePort(_, _ string, _ syscall.RawConn) error { return ErrPunchUnsupported }

func dialFrom(context.Context, int, netip.AddrPort) (net.Conn, error) {
	return nil, ErrPunchUnsupported
}
