//go:build !linux

package portmap

import (
	"errors"
	"net/netip"
	"syscall"
)

var syscallECONNREFUSED = syscall.ECONNREFUSED

// defaultGateway is known on Linux only; elsewhere NAT-PMP needs
// Options.Gateway.
func defaultGateway() (netip.Addr, error) {
	return netip.Addr{}, errors.New("the default gateway is not known on this system (set it)")
}
