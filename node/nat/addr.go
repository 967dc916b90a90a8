package nat

import (
	"net"
	"net/netip"
)

// Class is the kind of an IP address, as far as reachability goes.
type Class string

// Address classes.
const (
	ClassPublic    Class = "public"     // routable on the Internet
	ClassPrivate   Class = "private"    // RFC 1918 and IPv6 unique local (fc00::/7): a home or office network
	ClassCGNAT     Class = "cgnat"      // 100.64.0.0/10 (RFC 6598): the ISP's carrier-grade NAT
	ClassLoopback  Class = "loopback"   // this computer only
	ClassLinkLocal Class = "link-local" // one network segment only (169.254/16, fe80::/10)
	ClassOther     Class = "other"      // unspecified, multicast: never a node's address
)

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Classify says what kind of address a is.
func Classify(a netip.Addr) Class {
	a = a.Unmap()
	switch {
	case !a.IsValid() || a.IsUnspecified() || a.IsMulticast():
		return ClassOther
	case a.IsLoopback():
		return ClassLoopback
	case a.IsLinkLocalUnicast():
		return ClassLinkLocal
	case cgnat.Contains(a):
		return ClassCGNAT
	case a.IsPrivate():
		return ClassPrivate
	}
	return ClassPublic
}

// Words describes the class for a user.
func (c Class) Words() string {
	switch c {
	case ClassPublic:
		return "a public Internet address"
	case ClassPrivate:
		return "a private address (home or office network)"
	case ClassCGNAT:
		return "a carrier-grade NAT address (100.64.0.0/10, inside your ISP)"
	case ClassLoopback:
		return "a loopback address (this computer only)"
	case ClassLinkLocal:
		return "a link-local address (this network segment only)"
	}
	return "not a usable address"
}

// InterfaceAddrs lists this computer's interface addresses.
func InterfaceAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		} else if ip, ok := netip.AddrFromSlice(addrIP(a)); ok {
			out = append(out, ip.Unmap())
		}
	}
	return out, nil
}

// InterfacePrefixes are the networks of this computer's interfaces, each
// masked to its network address (192.168.1.0/24 for 192.168.1.20/24).
func InterfacePrefixes() ([]netip.Prefix, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(as))
	for _, a := range as {
		if ipn, ok := a.(*net.IPNet); ok {
			if p, err := netip.ParsePrefix(ipn.String()); err == nil {
				out = append(out, p.Masked())
			}
		}
	}
	return out, nil
}

func addrIP(a net.Addr) net.IP {
	switch v := a.(type) {
	case *net.IPNet:
		return v.IP
	case *net.IPAddr:
		return v.IP
	}
	return nil
}

// usable says whether some address reaches beyond this computer.
func usable(local []netip.Addr) bool {
	for _, a := range local {
		if c := Classify(a); c == ClassPublic || c == ClassPrivate || c == ClassCGNAT {
			return true
		}
	}
	return false
}

func isLocal(local []netip.Addr, a netip.Addr) bool {
	a = a.Unmap()
	for _, l := range local {
		if l.Unmap() == a {
			return true
		}
	}
	// Loopback addresses are all ours, not just 127.0.0.1.
	return a.IsLoopback()
}
