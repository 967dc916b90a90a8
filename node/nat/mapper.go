package nat

import (
	"context"
	"net/netip"
	"time"
)

// Mapping is one port mapping held on the router.
type Mapping struct {
	// External is the router's outside address and the mapped port.
	External netip.AddrPort `json:"external"`
	// Internal is our listening port it forwards to.
	Internal uint16 `json:"internal_port"`
	// Protocol is "upnp", "nat-pmp" or "pcp".
	Protocol string `json:"protocol"`
	// Expires is when the router drops it unless renewed (zero: unknown).
	Expires time.Time `json:"expires,omitzero"`
}

// RouterInfo is what a router that answered a port-mapping request but
// mapped no port said of its own outside address.
type RouterInfo struct {
	// Protocol is "upnp", "nat-pmp" or "pcp"; Gateway the router's
	// address on this computer's network.
	Protocol string     `json:"protocol"`
	Gateway  netip.Addr `json:"gateway"`
	// External is the router's outside address as it reported it;
	// invalid ("" in JSON) when it reported none.
	External netip.Addr `json:"external"`
}

// RouterError is a Mapper's error when a router answered but mapped no
// port: what it said of its own outside address is evidence of a second
// NAT beyond it (docs/reachability.md).
type RouterError struct {
	Router RouterInfo
	Err    error
}

func (e *RouterError) Error() string { return e.Err.Error() }
func (e *RouterError) Unwrap() error { return e.Err }

// Mapper asks the router for a port mapping (node/portmap implements it
// with UPnP-IGD, NAT-PMP and PCP). The implementation renews the mapping
// before it expires, in a goroutine of its own that Close stops.
type Mapper interface {
	// Map maps a TCP port on the router to internalPort and returns the
	// mapping, or an error when no router answers — a *RouterError when
	// one answered but mapped nothing.
	Map(ctx context.Context, internalPort uint16) (Mapping, error)
	// External is the mapping held now; false if there is none.
	External() (Mapping, bool)
	// Close removes the mapping from the router (best effort, bounded in
	// time).
	Close() error
}
