package portmap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	natpmp "github.com/jackpal/go-nat-pmp"
)

type natpmpClient struct {
	c     *natpmp.Client
	gw    netip.Addr
	local netip.Addr
	// timeout bounds each request: go-nat-pmp takes no context, so a
	// request runs in its own goroutine and ends at the timeout at the
	// latest.
	timeout time.Duration
}

// discoverNATPMP asks the gateway (opts.Gateway, or the default route's)
// for its external address.
func discoverNATPMP(ctx context.Context, opts Options) (client, error) {
	gw := opts.Gateway
	if !gw.IsValid() {
		var err error
		if gw, err = defaultGateway(); err != nil {
			return nil, fmt.Errorf("no NAT-PMP gateway: %w", err)
		}
	}
	local, err := localAddrTo(gw)
	if err != nil {
		return nil, fmt.Errorf("no NAT-PMP answer from %v: %w", gw, err)
	}
	n := &natpmpClient{c: natpmp.NewClientWithTimeout(net.IP(gw.AsSlice()), opts.Timeout), gw: gw, local: local, timeout: opts.Timeout}
	if _, err := n.externalAddr(ctx); errors.Is(err, errRefused) {
		return nil, fmt.Errorf("no NAT-PMP service at %v (%w)", gw, err)
	} else if errors.Is(err, errNoExternal) {
		return n, nil // it answered: add says what it answered
	} else if err != nil {
		return nil, fmt.Errorf("no NAT-PMP answer from %v in %v (%w)", gw, opts.Timeout, err)
	}
	return n, nil
}

func (n *natpmpClient) protocol() string    { return NATPMP }
func (n *natpmpClient) gateway() netip.Addr { return n.gw }

// call runs f (a go-nat-pmp request, bounded by n.timeout) unless ctx
// ends first.
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func (n *natpmpClient) externalAddr(ctx context.Context) (netip.Addr, error) {
	r, err := call(ctx, n.c.GetExternalAddress)
	if err != nil {
		return netip.Addr{}, plainPMPErr(err)
	}
	return netip.AddrFrom4(r.ExternalIPAddress), nil
}

func (n *natpmpClient) add(ctx context.Context, port, external uint16, lifetime time.Duration, _ string) (Mapping, error) {
	ext, err := n.externalAddr(ctx)
	if errors.Is(err, errNoExternal) || err == nil && ext.IsUnspecified() {
		return Mapping{}, &externalError{err: fmt.Errorf("the router %v reports no external address: it may not be connected, or its own is private", n.gw)}
	}
	if err != nil {
		return Mapping{}, fmt.Errorf("ask %v for its external address: %w", n.gw, err)
	}
	secs := max(int(lifetime/time.Second), 1)
	r, err := call(ctx, func() (*natpmp.AddPortMappingResult, error) {
		return n.c.AddPortMapping("tcp", int(port), int(external), secs)
	})
	if err != nil {
		return Mapping{}, &externalError{ext: ext, err: fmt.Errorf("map TCP port %d at %v: %w", port, n.gw, plainPMPErr(err))}
	}
	if r.MappedExternalPort == 0 || r.PortMappingLifetimeInSeconds == 0 {
		return Mapping{}, &externalError{ext: ext, err: fmt.Errorf("map TCP port %d at %v: the router granted port %d for %d s", port, n.gw, r.MappedExternalPort, r.PortMappingLifetimeInSeconds)}
	}
	life := time.Duration(r.PortMappingLifetimeInSeconds) * time.Second
	return Mapping{
		Protocol: NATPMP,
		Gateway:  n.gw,
		Internal: netip.AddrPortFrom(n.local, port),
		External: netip.AddrPortFrom(ext, r.MappedExternalPort),
		Lifetime: life,
		Expires:  time.Now().Add(life),
	}, nil
}

// remove deletes the mapping: a request with lifetime 0 (RFC 6886 3.4).
func (n *natpmpClient) remove(ctx context.Context, m Mapping) error {
	_, err := call(ctx, func() (*natpmp.AddPortMappingResult, error) {
		return n.c.AddPortMapping("tcp", int(m.Internal.Port()), 0, 0)
	})
	return plainPMPErr(err)
}

var (
	errNoAnswer = errors.New("no answer")
	errRefused  = errors.New("connection refused")
	// errNoExternal is result code 3 (RFC 6886 3.5): the router has no
	// outside address to give (miniupnpd also says so when its own is
	// private or 100.64/10).
	errNoExternal = errors.New("the router has no external address (NAT-PMP result 3, network failure)")
)

// plainPMPErr words go-nat-pmp's errors for people.
func plainPMPErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded), err.Error() == "Timed out trying to contact gateway":
		return errNoAnswer
	case errors.Is(err, syscallECONNREFUSED):
		return errRefused
	case strings.HasPrefix(err.Error(), "Non-zero result code 3"):
		return errNoExternal
	}
	return err
}
