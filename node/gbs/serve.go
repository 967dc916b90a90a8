package gbs

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/lafssync/lafssync/node/tlsbatch"
)

// Serve answers GBS requests on ln with TLS until ctx ends, then shuts
// down gracefully (in-flight requests get 10 s).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, cert tls.Certificate) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// TLS handshakes refused by clients that pin another key are
		// expected; they are not worth a log line each.
		ErrorLog:  log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(batchedTLSListener{ln, srv.TLSConfig}) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
		return err
	}
}

// batchedTLSListener serves TLS whose large writes (share reads) leave in
// few socket writes (see tlsbatch). The handshake happens on first use.
type batchedTLSListener struct {
	net.Listener
	config *tls.Config
}

func (l batchedTLSListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tlsbatch.Server(c, l.config), nil
}
