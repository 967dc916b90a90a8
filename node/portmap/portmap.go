package portmap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// The protocols, as Mapping.Protocol and Options.Protocols name them.
const (
	UPnP   = "upnp"
	NATPMP = "nat-pmp"
)

// ErrDisabled is Start's answer when the user turned port mapping off.
var ErrDisabled = errors.New("port mapping is off ([node] upnp = false)")

// errConflict: the router has the external port mapped to someone else.
var errConflict = errors.New("the external port is taken")

// Options say what to map and how patiently.
type Options struct {
	// Disabled is "[node] upnp = false": Start sends nothing.
	Disabled bool
	// Port is the node's TCP port, mapped to the same port outside when
	// the router allows it.
	Port uint16
	// Protocols to try, in order of preference (default UPnP, NATPMP).
	Protocols []string
	// Lifetime requested for the mapping (default 1 h); renewed at half.
	Lifetime time.Duration
	// Timeout bounds each protocol's discovery and each request
	// (default 3 s).
	Timeout time.Duration
	// Gateway is the router NAT-PMP talks to (default: the default
	// route's gateway on Linux).
	Gateway netip.Addr
	// Description labels the mapping in the router's list
	// (default "LAFS Sync").
	Description string
	// Logger gets one line per mapping change (default: discarded).
	Logger *slog.Logger
	// OnChange, when set, is called from the renewal goroutine after each
	// renewal: with the mapping and nil when it succeeded, with the last
	// mapping and the error when it failed. It must not block.
	OnChange func(Mapping, error)
}

func (o Options) withDefaults() Options {
	if len(o.Protocols) == 0 {
		o.Protocols = []string{UPnP, NATPMP}
	}
	if o.Lifetime <= 0 {
		o.Lifetime = time.Hour
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.Description == "" {
		o.Description = "LAFS Sync"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Mapping is a port forward a router granted.
type Mapping struct {
	Protocol string         // UPnP or NATPMP
	Gateway  netip.Addr     // the router that granted it
	Internal netip.AddrPort // this host's address and the node's port
	External netip.AddrPort // the address and port the router forwards (as the router reports it)
	Lifetime time.Duration  // as granted; 0 for a permanent UPnP mapping (routers that allow no leases)
	Expires  time.Time      // zero when permanent
}

func (m Mapping) String() string {
	life := "permanent"
	if m.Lifetime > 0 {
		life = m.Lifetime.String()
	}
	return fmt.Sprintf("%s %v → %v (gateway %v, %s)", m.Protocol, m.External, m.Internal, m.Gateway, life)
}

// Attempt is what one protocol found.
type Attempt struct {
	Protocol string
	Gateway  netip.Addr // the router that answered; invalid when none did
	// External is the router's own outside address as it reported it
	// before refusing the mapping; invalid when it reported none (see
	// NoExternal) or did not get that far.
	External netip.Addr
	// NoExternal: the router answered but reported no usable outside
	// address of its own. miniupnpd answers so when its outside address
	// is private or 100.64/10 (it then refuses every mapping).
	NoExternal bool
	Err        error
}

// Error is Start's error when no protocol mapped the port.
type Error struct {
	Attempts []Attempt
}

func (e *Error) Error() string {
	var parts []string
	for _, a := range e.Attempts {
		parts = append(parts, a.Err.Error())
	}
	return "port mapping: " + strings.Join(parts, "; ")
}

// NoRouter reports whether no router answered any protocol (there is
// nothing to map with), as opposed to a router that refused.
func (e *Error) NoRouter() bool {
	for _, a := range e.Attempts {
		if a.Gateway.IsValid() {
			return false
		}
	}
	return true
}

// Router is the first router that answered, and what it said of its own
// outside address (see Attempt); false when none answered.
func (e *Error) Router() (Attempt, bool) {
	for _, a := range e.Attempts {
		if a.Gateway.IsValid() {
			return a, true
		}
	}
	return Attempt{}, false
}

// externalError is a router's refusal that says what it reported as its
// own outside address: ext, or none (invalid ext).
type externalError struct {
	ext netip.Addr
	err error
}

func (e *externalError) Error() string { return e.err.Error() }
func (e *externalError) Unwrap() error { return e.err }

// client is one protocol's conversation with one router.
type client interface {
	protocol() string
	gateway() netip.Addr
	// add maps the node's port to external (0: any) for lifetime.
	add(ctx context.Context, port, external uint16, lifetime time.Duration, desc string) (Mapping, error)
	remove(ctx context.Context, m Mapping) error
}

// Mapper holds one mapping and keeps it alive until Close.
type Mapper struct {
	opts Options
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu  sync.Mutex // guards c, cur and ok
	c   client
	cur Mapping
	ok  bool // cur is in force (not lost after failed renewals)
}

// Start discovers a router, maps opts.Port and keeps the mapping alive
// until Close. ctx bounds the discovery and the first mapping only.
func Start(ctx context.Context, opts Options) (*Mapper, error) {
	if opts.Disabled {
		return nil, ErrDisabled
	}
	if opts.Port == 0 {
		return nil, errors.New("port mapping: no port to map")
	}
	opts = opts.withDefaults()
	c, m, err := establish(ctx, opts, opts.Port)
	if err != nil {
		return nil, err
	}
	opts.Logger.Info("port mapped", "mapping", m.String())
	pm := &Mapper{opts: opts, stop: make(chan struct{}), done: make(chan struct{}), c: c, cur: m, ok: true}
	go pm.loop()
	return pm, nil
}

// Mapping is the mapping in force; false when it was lost (the router
// stopped answering past its expiry) and not yet re-made.
func (pm *Mapper) Mapping() (Mapping, bool) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	return pm.cur, pm.ok
}

// Close stops renewing and removes the mapping from the router (bounded
// by Options.Timeout).
func (pm *Mapper) Close() error {
	var err error
	pm.once.Do(func() {
		close(pm.stop)
		<-pm.done
		pm.mu.Lock()
		c, m, ok := pm.c, pm.cur, pm.ok
		pm.mu.Unlock()
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), pm.opts.Timeout)
		defer cancel()
		if err = c.remove(ctx, m); err != nil {
			err = fmt.Errorf("remove the %s mapping of port %d at %v: %w", m.Protocol, m.External.Port(), m.Gateway, err)
		} else {
			pm.opts.Logger.Info("port mapping removed", "mapping", m.String())
		}
	})
	return err
}

// establish discovers routers with every protocol at once and maps the
// port with the first that answered, in the order of opts.Protocols.
func establish(ctx context.Context, opts Options, external uint16) (client, Mapping, error) {
	clients := make([]client, len(opts.Protocols))
	attempts := make([]Attempt, len(opts.Protocols))
	var wg sync.WaitGroup
	for i, p := range opts.Protocols {
		attempts[i].Protocol = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, opts.Timeout)
			defer cancel()
			switch p {
			case UPnP:
				clients[i], attempts[i].Err = discoverUPnP(dctx, opts.Timeout)
			case NATPMP:
				clients[i], attempts[i].Err = discoverNATPMP(dctx, opts)
			default:
				attempts[i].Err = fmt.Errorf("unknown port mapping protocol %q", p)
			}
			if clients[i] != nil {
				attempts[i].Gateway = clients[i].gateway()
			}
		}()
	}
	wg.Wait()
	for i, c := range clients {
		if c == nil {
			continue
		}
		m, err := addRetrying(ctx, opts, c, external)
		if err == nil {
			return c, m, nil
		}
		var ee *externalError
		if errors.As(err, &ee) {
			attempts[i].External, attempts[i].NoExternal = ee.ext, !ee.ext.IsValid()
		}
		attempts[i].Err = fmt.Errorf("%s router %v refused to map TCP port %d: %w", attempts[i].Protocol, c.gateway(), opts.Port, err)
	}
	return nil, Mapping{}, &Error{Attempts: attempts}
}

// addRetrying maps the port to external, or to another port (three
// tries) when the router has external taken.
func addRetrying(ctx context.Context, opts Options, c client, external uint16) (Mapping, error) {
	var err error
	for try := 0; try < 4; try++ {
		rctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		var m Mapping
		m, err = c.add(rctx, opts.Port, external, opts.Lifetime, opts.Description)
		cancel()
		if !errors.Is(err, errConflict) {
			return m, err
		}
		external = uint16(1024 + rand.IntN(65535-1024))
	}
	return Mapping{}, err
}

// renewAfter is when to renew m: at half its lifetime; a permanent
// mapping is re-made at half the requested lifetime (the router may have
// restarted and forgotten it).
func (pm *Mapper) renewAfter(m Mapping) time.Duration {
	life := m.Lifetime
	if life <= 0 {
		life = pm.opts.Lifetime
	}
	return max(life/2, time.Second)
}

// loop renews the mapping until Close. A failed renewal is retried after
// 1 s, doubling up to a minute; once the mapping has expired it counts as
// lost, and the next attempts discover the router anew.
func (pm *Mapper) loop() {
	defer close(pm.done)
	pm.mu.Lock()
	wait := pm.renewAfter(pm.cur)
	pm.mu.Unlock()
	backoff := time.Second
	for {
		t := time.NewTimer(wait)
		select {
		case <-pm.stop:
			t.Stop()
			return
		case <-t.C:
		}
		pm.mu.Lock()
		c, cur, ok := pm.c, pm.cur, pm.ok
		pm.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*pm.opts.Timeout)
		go func() { // Close cuts a renewal short
			select {
			case <-pm.stop:
			case <-ctx.Done():
			}
			cancel()
		}()
		var m Mapping
		var err error
		if ok {
			m, err = addRetrying(ctx, pm.opts, c, cur.External.Port())
		} else {
			c, m, err = establish(ctx, pm.opts, cur.External.Port())
		}
		cancel()
		if err == nil {
			if m.External != cur.External || !ok {
				pm.opts.Logger.Info("port mapping changed", "mapping", m.String())
			}
			pm.mu.Lock()
			pm.c, pm.cur, pm.ok = c, m, true
			pm.mu.Unlock()
			wait, backoff = pm.renewAfter(m), time.Second
			if pm.opts.OnChange != nil {
				pm.opts.OnChange(m, nil)
			}
			continue
		}
		if ok && !cur.Expires.IsZero() && time.Now().After(cur.Expires) {
			pm.mu.Lock()
			pm.ok = false
			pm.mu.Unlock()
			pm.opts.Logger.Warn("port mapping lost", "mapping", cur.String(), "err", err)
		} else {
			pm.opts.Logger.Warn("port mapping renewal failed", "mapping", cur.String(), "err", err)
		}
		if pm.opts.OnChange != nil {
			pm.opts.OnChange(cur, err)
		}
		wait, backoff = backoff, min(2*backoff, time.Minute)
	}
}

// localAddrTo is the address this host uses to reach gw.
func localAddrTo(gw netip.Addr) (netip.Addr, error) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(gw, 9)))
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}
