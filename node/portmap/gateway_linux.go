package portmap

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"strings"
	"syscall"
)

var syscallECONNREFUSED = syscall.ECONNREFUSED

// defaultGateway reads the IPv4 default route's gateway from
// /proc/net/route.
func defaultGateway() (netip.Addr, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return netip.Addr{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Iface Destination Gateway Flags … (hex, host byte order)
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[1] != "00000000" {
			continue
		}
		b, err := hex.DecodeString(fields[2])
		if err != nil || len(b) != 4 {
			continue
		}
		var a [4]byte
		binary.NativeEndian.PutUint32(a[:], binary.BigEndian.Uint32(b)) // printed as a host-order uint32
		if gw := netip.AddrFrom4(a); !gw.IsUnspecified() {
			return gw, nil
		}
	}
	return netip.Addr{}, errors.New("no IPv4 default route")
}
