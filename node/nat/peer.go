package nat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
)

// Peer is a connected node that can tell us how it sees us and dial us
// back.
type Peer interface {
	ID() string
	// Observed is our address as the peer sees it.
	Observed(ctx context.Context) (netip.AddrPort, error)
	// DialBack asks the peer to open a new connection to addr and check
	// that we answer there. A *SkippedError means it did not try.
	DialBack(ctx context.Context, addr netip.AddrPort) error
}

// SkippedError means the peer did not try: it was busy, or does not know
// the request (an older version, Tahoe).
type SkippedError struct{ Reason string }

func (e *SkippedError) Error() string { return "not checked: " + e.Reason }

// HTTPPeer is a Peer reached over its transport connection.
type HTTPPeer struct {
	NodeID string
	Client *http.Client
}

// ID is the peer's node ID.
func (p HTTPPeer) ID() string { return p.NodeID }

func (p HTTPPeer) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://peer"+path, rd)
	if err != nil {
		return err
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return &SkippedError{"the peer does not answer reachability checks (an older version)"}
	case resp.StatusCode == http.StatusTooManyRequests:
		return &SkippedError{"the peer is busy with other checks"}
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("peer refused: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("peer's answer: %w", err)
	}
	return nil
}

// Observed asks GET /reach/observed.
func (p HTTPPeer) Observed(ctx context.Context) (netip.AddrPort, error) {
	var a ObservedAnswer
	if err := p.call(ctx, http.MethodGet, ObservedPath, nil, &a); err != nil {
		return netip.AddrPort{}, err
	}
	ap, err := netip.ParseAddrPort(a.Address)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("peer's answer %q: %w", a.Address, err)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// DialBack asks POST /reach/dialback.
func (p HTTPPeer) DialBack(ctx context.Context, addr netip.AddrPort) error {
	var a DialBackAnswer
	if err := p.call(ctx, http.MethodPost, DialBackPath, DialBackRequest{Address: addr.String()}, &a); err != nil {
		return err
	}
	if !a.OK {
		if a.Error == "" {
			a.Error = "failed"
		}
		return errors.New(a.Error)
	}
	return nil
}
