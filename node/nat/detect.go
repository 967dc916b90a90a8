package nat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Detector gathers the facts for a verdict from the network.
type Detector struct {
	// Peers are the peers connected now.
	Peers func() []Peer
	// Mapper, if set, holds a port mapping on the router.
	Mapper Mapper
	// LocalAddrs lists the interface addresses (InterfaceAddrs unless set).
	LocalAddrs func() ([]netip.Addr, error)
	// Resolve turns a host name of tub.location into IPs (the system
	// resolver unless set).
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// ListenWildcard: the node listens on every interface, so an observed
	// IP with the listening port is worth checking too.
	ListenWildcard bool
	// MaxPeers bounds the peers asked per round (default 8); ChecksPerAddr
	// the peers asked to dial each target (default 2; the first success
	// ends it).
	MaxPeers, ChecksPerAddr int
	// Timeout bounds each request to a peer (default 10 s).
	Timeout time.Duration
	Log     *slog.Logger
}

// Gather fills in's Local, Observed, Mapping and Candidates (from
// in.Configured) by asking the network. It takes at most a few timeouts.
func (d *Detector) Gather(ctx context.Context, in Inputs) Inputs {
	maxPeers, perAddr, timeout := d.MaxPeers, d.ChecksPerAddr, d.Timeout
	if maxPeers <= 0 {
		maxPeers = 8
	}
	if perAddr <= 0 {
		perAddr = 2
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	local := d.LocalAddrs
	if local == nil {
		local = InterfaceAddrs
	}
	if ls, err := local(); err == nil {
		in.Local = ls
	} else {
		log.Warn("listing this computer's addresses failed", "err", err)
	}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}

	// Port mapping first: its address is a candidate.
	if d.Mapper != nil && in.ListenPort != 0 && !in.UPnPDisabled {
		m, ok := d.Mapper.External()
		if !ok {
			mctx, cancel := context.WithTimeout(ctx, timeout)
			var err error
			m, err = d.Mapper.Map(mctx, in.ListenPort)
			cancel()
			var re *RouterError
			switch {
			case errors.As(err, &re):
				ri := re.Router
				in.Router = &ri
				in.MappingErr = fmt.Sprintf("your router %v answered (%s) but mapped no port (%v)", ri.Gateway, ri.Protocol, err)
			case err != nil:
				in.MappingErr = "no router answered a port-mapping request (" + err.Error() + ")"
			default:
				ok = true
			}
		}
		if ok {
			in.Mapping = &m
		}
	}

	// What each peer sees.
	peers := d.Peers()
	if len(peers) > maxPeers {
		peers = peers[:maxPeers]
	}
	in.Observed = make([]Observation, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() {
			octx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			o := Observation{Peer: p.ID()}
			if a, err := p.Observed(octx); err != nil {
				o.Error = err.Error()
			} else {
				o.Address = a
			}
			in.Observed[i] = o
		})
	}
	wg.Wait()

	// The candidates: tub.location, the mapping, observed IPs.
	var cands []Candidate
	for _, a := range in.Configured {
		c := Candidate{Address: a, Source: SourceConfig}
		host, port, err := net.SplitHostPort(a)
		p, perr := strconv.Atoi(port)
		if err != nil || perr != nil || p < 1 || p > 65535 {
			c.Note = "not HOST:PORT"
			cands = append(cands, c)
			continue
		}
		ips, err := d.resolve(ctx, host, timeout)
		if err != nil {
			c.Note = "cannot resolve " + host + ": " + err.Error()
		}
		for _, ip := range ips {
			c.Targets = append(c.Targets, netip.AddrPortFrom(ip.Unmap(), uint16(p)))
		}
		cands = append(cands, c)
	}
	if in.Mapping != nil && in.Mapping.External.IsValid() {
		cands = addCandidate(cands, in.Mapping.External, SourceMapping)
	}
	if d.ListenWildcard && in.ListenPort != 0 {
		for _, o := range in.Observed {
			if o.Error == "" && o.Address.IsValid() {
				cands = addCandidate(cands, netip.AddrPortFrom(o.Address.Addr(), in.ListenPort), SourceObserved)
			}
		}
	}

	// Dial-back: each target by peers that see our IP there.
	byID := map[string]Peer{}
	for _, p := range peers {
		byID[p.ID()] = p
	}
	for i := range cands {
		c := &cands[i]
		if len(c.Targets) > 0 {
			c.Class = Classify(c.Targets[0].Addr())
		}
		for _, t := range c.Targets {
			asked := 0
			for _, o := range in.Observed {
				if c.Confirmed || asked >= perAddr {
					break
				}
				if o.Error != "" || o.Address.Addr() != t.Addr() {
					continue
				}
				asked++
				dctx, cancel := context.WithTimeout(ctx, timeout)
				err := byID[o.Peer].DialBack(dctx, t)
				cancel()
				k := Check{Peer: o.Peer, Target: t, OK: err == nil}
				var skip *SkippedError
				if errors.As(err, &skip) {
					k.Skipped, k.Error = true, skip.Reason
				} else if err != nil {
					k.Error = err.Error()
				}
				c.Checks = append(c.Checks, k)
				c.Confirmed = c.Confirmed || k.OK
			}
		}
		if len(c.Checks) == 0 && c.Note == "" && len(c.Targets) > 0 {
			c.Note = "no connected peer sees this node at " + targetsIPs(c.Targets) + ", so none can dial it there"
		}
		if c.Checks == nil {
			c.Checks = []Check{}
		}
	}
	in.Candidates = cands
	return in
}

func (d *Detector) resolve(ctx context.Context, host string, timeout time.Duration) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if d.Resolve != nil {
		return d.Resolve(rctx, host)
	}
	return net.DefaultResolver.LookupNetIP(rctx, "ip", host)
}

func addCandidate(cs []Candidate, a netip.AddrPort, source string) []Candidate {
	for _, c := range cs {
		if slices.Contains(c.Targets, a) {
			return cs
		}
	}
	return append(cs, Candidate{Address: a.String(), Source: source, Targets: []netip.AddrPort{a}})
}

func targetsIPs(ts []netip.AddrPort) string {
	var s string
	for i, t := range ts {
		if i > 0 {
			s += ", "
		}
		s += t.Addr().String()
	}
	return s
}
