package portmap

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"time"

	"github.com/huin/goupnp"
	"github.com/huin/goupnp/dcps/internetgateway2"
	"github.com/huin/goupnp/soap"
)

// igd is what the three WAN connection services have in common.
type igd interface {
	GetExternalIPAddressCtx(ctx context.Context) (string, error)
	AddPortMappingCtx(ctx context.Context, remoteHost string, externalPort uint16, protocol string, internalPort uint16, internalClient string, enabled bool, description string, leaseDuration uint32) error
	DeletePortMappingCtx(ctx context.Context, remoteHost string, externalPort uint16, protocol string) error
	GetServiceClient() *goupnp.ServiceClient
}

// UPnP error codes (UPnP-gw-WANIPConnection-v2, section 2.4.16).
const (
	upnpConflict       = 718 // ConflictInMappingEntry
	upnpOnlyPermanent  = 725 // OnlyPermanentLeasesSupported
	upnpConflictWithV2 = 729 // ConflictWithOtherMechanisms
)

type upnpClient struct {
	svc   igd
	gw    netip.Addr // the router's address (from its description URL)
	local netip.Addr // ours, as the router sees us
	name  string     // the service type, for errors
}

// discoverUPnP searches for the three WAN connection services at once
// and returns the first found, preferring WANIPConnection:2.
func discoverUPnP(ctx context.Context, timeout time.Duration) (client, error) {
	type found struct {
		svcs []igd
		err  error
	}
	var results [3]found
	done := make(chan struct{}, 3)
	search := func(i int, f func() ([]igd, error)) {
		go func() {
			results[i].svcs, results[i].err = f()
			done <- struct{}{}
		}()
	}
	search(0, func() ([]igd, error) {
		cs, _, err := internetgateway2.NewWANIPConnection2ClientsCtx(ctx)
		return asIGD(cs), err
	})
	search(1, func() ([]igd, error) {
		cs, _, err := internetgateway2.NewWANIPConnection1ClientsCtx(ctx)
		return asIGD(cs), err
	})
	search(2, func() ([]igd, error) {
		cs, _, err := internetgateway2.NewWANPPPConnection1ClientsCtx(ctx)
		return asIGD(cs), err
	})
	for range results {
		<-done
	}
	var lastErr error
	for _, r := range results {
		if r.err != nil {
			lastErr = r.err
		}
		for _, s := range r.svcs {
			sc := s.GetServiceClient()
			gw, err := hostAddr(sc.Location)
			if err != nil {
				lastErr = err
				continue
			}
			local, _ := netip.AddrFromSlice(sc.LocalAddr().To4())
			if !local.IsValid() {
				if local, err = localAddrTo(gw); err != nil {
					lastErr = err
					continue
				}
			}
			return &upnpClient{svc: s, gw: gw, local: local, name: sc.Service.ServiceType}, nil
		}
	}
	if lastErr != nil && !errors.Is(lastErr, context.DeadlineExceeded) {
		return nil, fmt.Errorf("no UPnP router answered in %v (%v)", timeout, lastErr)
	}
	return nil, fmt.Errorf("no UPnP router answered in %v", timeout)
}

func asIGD[T igd](cs []T) []igd {
	out := make([]igd, len(cs))
	for i, c := range cs {
		out[i] = c
	}
	return out
}

func hostAddr(u *url.URL) (netip.Addr, error) {
	if u == nil {
		return netip.Addr{}, errors.New("UPnP router without a description URL")
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("UPnP router at %q: not an IPv4 address", u.Host)
	}
	return a, nil
}

func (u *upnpClient) protocol() string    { return UPnP }
func (u *upnpClient) gateway() netip.Addr { return u.gw }

func (u *upnpClient) add(ctx context.Context, port, external uint16, lifetime time.Duration, desc string) (Mapping, error) {
	ext, err := u.svc.GetExternalIPAddressCtx(ctx)
	if err != nil {
		return Mapping{}, fmt.Errorf("ask %v for its external address: %w", u.gw, err)
	}
	extAddr, err := netip.ParseAddr(ext)
	if err != nil || !extAddr.Is4() || extAddr.IsUnspecified() {
		return Mapping{}, &externalError{err: fmt.Errorf("the router %v reports no usable external address (%q): it may not be connected, or its own is private", u.gw, ext)}
	}
	if external == 0 {
		external = port
	}
	lease := uint32(lifetime / time.Second)
	err = u.svc.AddPortMappingCtx(ctx, "", external, "TCP", port, u.local.String(), true, desc, lease)
	if upnpCode(err) == upnpOnlyPermanent {
		lease = 0
		err = u.svc.AddPortMappingCtx(ctx, "", external, "TCP", port, u.local.String(), true, desc, lease)
	}
	switch code := upnpCode(err); {
	case err == nil:
	case code == upnpConflict || code == upnpConflictWithV2:
		return Mapping{}, &externalError{ext: extAddr, err: fmt.Errorf("%w (UPnP error %d)", errConflict, code)}
	default:
		return Mapping{}, &externalError{ext: extAddr, err: fmt.Errorf("AddPortMapping %d → %v:%d: %w", external, u.local, port, upnpErr(err))}
	}
	m := Mapping{
		Protocol: UPnP,
		Gateway:  u.gw,
		Internal: netip.AddrPortFrom(u.local, port),
		External: netip.AddrPortFrom(extAddr, external),
		Lifetime: time.Duration(lease) * time.Second,
	}
	if lease > 0 {
		m.Expires = time.Now().Add(m.Lifetime)
	}
	return m, nil
}

func (u *upnpClient) remove(ctx context.Context, m Mapping) error {
	return upnpErr(u.svc.DeletePortMappingCtx(ctx, "", m.External.Port(), "TCP"))
}

func upnpCode(err error) int {
	var f *soap.SOAPFaultError
	if errors.As(err, &f) {
		return f.Detail.UPnPError.Errorcode
	}
	return 0
}

// upnpErr shortens a SOAP fault to its UPnP code and description.
func upnpErr(err error) error {
	var f *soap.SOAPFaultError
	if errors.As(err, &f) && f.Detail.UPnPError.Errorcode != 0 {
		return fmt.Errorf("UPnP error %d: %s", f.Detail.UPnPError.Errorcode, f.Detail.UPnPError.ErrorDescription)
	}
	return err
}
