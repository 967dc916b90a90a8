package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// ProbeALPN names a dial-back check: a connection that only runs the TLS
// handshake, so that the dialer learns whether the node that answers at an
// address proves the expected key. The listener closes it right after the
// handshake; it never becomes a peer connection (node/nat's dial-back).
const ProbeALPN = "lafssync-probe/1"

// ProbeTimeout bounds a whole probe unless the context ends sooner.
const ProbeTimeout = 5 * time.Second

// Probe opens a new TCP connection to addr (never one of the node's
// connections), runs the TLS handshake and checks that the node there
// proves peerID's key, then closes it. It returns nil when it does.
func (n *Node) Probe(ctx context.Context, addr, peerID string) error {
	want, err := keyOfID(peerID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	cfg := &tls.Config{
		NextProtos:            []string{ProbeALPN},
		MinVersion:            tls.VersionTLS13,
		InsecureSkipVerify:    true, // the key is pinned below
		VerifyPeerCertificate: pinnedPeer(want),
	}
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer raw.Close()
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("handshake with %s: %w", addr, err)
	}
	if tc.ConnectionState().NegotiatedProtocol != ProbeALPN {
		return fmt.Errorf("%s does not answer dial-back checks (%s)", addr, ProbeALPN)
	}
	tc.Close()
	return nil
}
