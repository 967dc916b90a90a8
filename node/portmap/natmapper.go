package portmap

import (
	"context"
	"errors"
	"sync"

	"github.com/lafssync/lafssync/node/nat"
)

// NATMapper is the nat.Mapper the reachability detector uses: Map starts
// (or re-starts) a Mapper for the node's port, External reports the
// mapping in force, Close removes it.
type NATMapper struct {
	opts Options

	mu sync.Mutex // guards m
	m  *Mapper
}

var _ nat.Mapper = (*NATMapper)(nil)

// NewNATMapper returns a nat.Mapper that maps with opts (opts.Port is
// set by each Map call).
func NewNATMapper(opts Options) *NATMapper { return &NATMapper{opts: opts} }

// Map maps internalPort, keeping the mapping already held for it.
func (a *NATMapper) Map(ctx context.Context, internalPort uint16) (nat.Mapping, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m != nil {
		if m, ok := a.m.Mapping(); ok && m.Internal.Port() == internalPort {
			return toNAT(m), nil
		}
		a.m.Close()
		a.m = nil
	}
	opts := a.opts
	opts.Port = internalPort
	m, err := Start(ctx, opts)
	var pe *Error
	if errors.As(err, &pe) {
		if a, ok := pe.Router(); ok {
			return nat.Mapping{}, &nat.RouterError{Router: nat.RouterInfo{Protocol: a.Protocol, Gateway: a.Gateway, External: a.External}, Err: err}
		}
	}
	if err != nil {
		return nat.Mapping{}, err
	}
	a.m = m
	cur, _ := m.Mapping()
	return toNAT(cur), nil
}

// External is the mapping in force.
func (a *NATMapper) External() (nat.Mapping, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		return nat.Mapping{}, false
	}
	m, ok := a.m.Mapping()
	if !ok {
		return nat.Mapping{}, false
	}
	return toNAT(m), true
}

// Close removes the mapping from the router.
func (a *NATMapper) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		return nil
	}
	err := a.m.Close()
	a.m = nil
	return err
}

func toNAT(m Mapping) nat.Mapping {
	return nat.Mapping{External: m.External, Internal: m.Internal.Port(), Protocol: m.Protocol, Expires: m.Expires}
}
