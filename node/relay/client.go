package relay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/node/transport"
)

// RefusedError is a relay's refusal: its HTTP status and reason.
type RefusedError struct {
	Relay  string
	Status int
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("relay %.16s refused: %d %s: %s", e.Relay, e.Status, http.StatusText(e.Status), e.Reason)
}

// open makes an upgraded request to relay over t and returns the stream.
// The stream outlives ctx: ctx bounds only the request.
func open(ctx context.Context, t *transport.Node, relay, path string, q url.Values) (net.Conn, error) {
	// The upgraded stream must not end with the caller's context (a dial
	// timeout), so the request has its own, cancelled only if ctx ends
	// before the answer or when the stream closes.
	rctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	u := "http://relay" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", Protocol)
	resp, err := t.HTTPClient(relay).Do(req)
	if !stop() || err != nil {
		cancel()
		if resp != nil {
			resp.Body.Close()
		}
		if err == nil {
			err = ctx.Err()
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		cancel()
		return nil, &RefusedError{Relay: relay, Status: resp.StatusCode, Reason: strings.TrimSpace(string(b))}
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		cancel()
		return nil, errors.New("relay answered 101 without a stream")
	}
	return &streamConn{ReadWriteCloser: rwc, local: addr("local"), remote: addr(transport.RelayPrefix + relay), done: cancel}, nil
}

// Dial asks relay, over t's connection to it, to connect this node to
// peer and returns the spliced stream (in-band: a stream of that
// connection), over which the caller runs its handshake with peer
// (transport.DialOver).
func Dial(ctx context.Context, t *transport.Node, relay, peer string) (net.Conn, error) {
	return open(ctx, t, relay, ConnectPath, url.Values{"peer": {peer}})
}

// Dialer connects through relays, preferring a connection of its own to
// the relay's port (tcp mode: the relay splices sockets, and the bytes
// are encrypted once, by the two nodes' TLS) and falling back to a
// stream of the transport connection (Dial) when the relay does not offer
// it or its port cannot be reached.
type Dialer struct {
	T *transport.Node
	// Addrs are where a relay listens (its announced addresses); none
	// means in-band only.
	Addrs func(relay string) []string
	Log   *slog.Logger
}

// Dial is a transport.RelayDialer.
func (d *Dialer) Dial(ctx context.Context, relay, peer string) (net.Conn, error) {
	var addrs []string
	if d.Addrs != nil {
		addrs = d.Addrs(relay)
	}
	if len(addrs) > 0 {
		c, err := d.dialTCP(ctx, relay, peer, addrs)
		var re *RefusedError
		if err == nil || errors.As(err, &re) && re.Status != http.StatusNotImplemented || ctx.Err() != nil {
			return c, err
		}
		if d.Log != nil {
			d.Log.Debug("relay port unreachable; relaying over the transport connection", "relay", relay, "err", err)
		}
	}
	return Dial(ctx, d.T, relay, peer)
}

func (d *Dialer) dialTCP(ctx context.Context, relay, peer string, addrs []string) (net.Conn, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://relay"+ConnectPath+"?"+url.Values{"peer": {peer}, "mode": {"tcp"}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.T.HTTPClient(relay).Do(req)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &RefusedError{Relay: relay, Status: resp.StatusCode, Reason: strings.TrimSpace(string(b))}
	}
	token := strings.TrimSuffix(string(b), "\n")
	if !validToken(token) {
		return nil, fmt.Errorf("relay %.16s answered %.40q, not a token", relay, b)
	}
	return rendezvous(ctx, addrs, token)
}

// rendezvous connects to the relay's port and presents token.
func rendezvous(ctx context.Context, addrs []string, token string) (net.Conn, error) {
	var err error
	for _, a := range addrs {
		var c net.Conn
		c, err = (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", a)
		if err != nil {
			continue
		}
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err = io.WriteString(c, transport.RelayMagic+token+"\n"); err != nil {
			c.Close()
			continue
		}
		c.SetWriteDeadline(time.Time{})
		return c, nil
	}
	return nil, fmt.Errorf("relay port: %w", err)
}

// Reserver holds this node's reservation on one relay and accepts the
// connections that come through it.
type Reserver struct {
	T     *transport.Node
	Relay string
	// Addrs are where the relay listens, for tcp-mode circuits (none:
	// their ends are taken in-band).
	Addrs func() []string
	// MaxAccepting bounds handshakes in progress through the relay
	// (default 8); requests beyond it are left to time out.
	MaxAccepting int
	// OnReserved is called once the relay holds the reservation.
	OnReserved func()
	Log        *slog.Logger
}

// Run holds the reservation until ctx ends or the relay drops it (an
// error either way; nil only when ctx ended). It returns once every
// handshake it started has finished.
func (r *Reserver) Run(ctx context.Context) error {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	c, err := open(rctx, r.T, r.Relay, ReservePath, nil)
	cancel()
	if err != nil {
		return fmt.Errorf("reserve on relay %.16s: %w", r.Relay, err)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	if r.OnReserved != nil {
		r.OnReserved()
	}
	accepting := r.MaxAccepting
	if accepting <= 0 {
		accepting = 8
	}
	sem := make(chan struct{}, accepting)
	var wg sync.WaitGroup
	defer wg.Wait()
	br := bufio.NewReaderSize(c, maxLine)
	for {
		sig, err := readSignal(br)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reservation on relay %.16s ended: %w", r.Relay, err)
		}
		select {
		case sem <- struct{}{}:
		default:
			log.Warn("too many relayed connections being accepted; leaving one to time out", "relay", r.Relay, "from", sig.From)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := r.acceptOne(ctx, sig); err != nil {
				log.Debug("relayed connection not accepted", "relay", r.Relay, "from", sig.From, "err", err)
			}
		})
	}
}

// acceptOne takes one incoming request: an accept stream, then the
// server side of the handshake, which must prove sig.From's key.
func (r *Reserver) acceptOne(ctx context.Context, sig signal) error {
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var raw net.Conn
	var err error
	if sig.TCP && r.Addrs != nil {
		if addrs := r.Addrs(); len(addrs) > 0 {
			raw, err = rendezvous(actx, addrs, sig.Token)
		}
	}
	if raw == nil {
		if err != nil && r.Log != nil {
			r.Log.Debug("relay port unreachable; accepting over the transport connection", "relay", r.Relay, "err", err)
		}
		raw, err = open(actx, r.T, r.Relay, AcceptPath, url.Values{"token": {sig.Token}})
	}
	if err != nil {
		return err
	}
	return r.T.ServeOver(actx, raw, sig.From, r.Relay)
}
