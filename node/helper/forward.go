package helper

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Forwarding: a client that cannot reach a storage server sends the GBS
// call to the helper, which makes it to the server over its own
// transport connection and streams the answer back. Every byte in a GBS
// call is already ciphertext, signed, or a per-server secret the server
// sees anyway, so the helper learns nothing a storage server would not
// (docs/helper.md, "Security").

// forwardTimeout bounds one forwarded call.
const forwardTimeout = 2 * time.Minute

// hopHeaders are not forwarded (RFC 9110 §7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// forward: ANY /helper/v1/storage/{server}/storage/v1/….
func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Storage == nil {
		writeErr(w, http.StatusNotFound, CodeNoServer, "this helper does not forward storage calls")
		return
	}
	server, rest := r.PathValue("server"), r.PathValue("rest")
	if !strings.HasPrefix(rest, "storage/v1/") || strings.Contains(rest, "..") {
		writeErr(w, http.StatusBadRequest, CodeBadRequest, "only storage calls (/storage/v1/…) are forwarded")
		return
	}
	rt := s.cfg.Storage(server)
	if rt == nil {
		writeErr(w, http.StatusBadGateway, CodeNoServer, fmt.Sprintf("the helper has no connection to an announced storage server %.16s…", server))
		return
	}
	release, ok := s.acquireForward(peer(r))
	if !ok {
		s.count(func(st *Stats) { st.RefusedByLimit++ })
		writeErr(w, http.StatusTooManyRequests, CodeLimit, fmt.Sprintf("this client has %d forwarded calls in flight, the most this helper allows", s.lim.ForwardPerClient))
		return
	}
	defer release()
	if r.ContentLength > s.lim.MaxForwardBody {
		s.count(func(st *Stats) { st.RefusedByLimit++ })
		writeErr(w, http.StatusRequestEntityTooLarge, CodeLimit, fmt.Sprintf("request body of %d bytes: the helper forwards at most %d", r.ContentLength, s.lim.MaxForwardBody))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
	defer cancel()
	out := r.Clone(ctx)
	out.URL = &url.URL{Scheme: "http", Host: "peer", Path: "/" + rest, RawQuery: r.URL.RawQuery}
	out.RequestURI, out.Host = "", ""
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	if r.ContentLength == 0 {
		out.Body = nil
	} else {
		out.Body = &countReader{r: http.MaxBytesReader(w, io.NopCloser(&idleReader{r: r.Body, rc: http.NewResponseController(w), idle: s.lim.BodyIdle}), s.lim.MaxForwardBody)}
	}
	defer func() {
		var sent int64
		if c, ok := out.Body.(*countReader); ok {
			sent = c.n.Load()
		}
		s.count(func(st *Stats) { st.Forwarded++; st.BytesIn += sent; st.BytesOut += sent })
	}()
	resp, err := rt.RoundTrip(out)
	if err != nil {
		writeErr(w, http.StatusBadGateway, CodeNoServer, "storage server: "+err.Error())
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	for _, h := range hopHeaders {
		w.Header().Del(h)
	}
	w.WriteHeader(resp.StatusCode)
	n, _ := io.Copy(w, resp.Body)
	s.count(func(st *Stats) { st.BytesIn += n; st.BytesOut += n })
}

// countReader counts the bytes read through it (a forwarded body; the
// transport may still be reading it when the handler counts).
type countReader struct {
	r io.ReadCloser
	n atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n.Add(int64(k))
	return k, err
}

func (c *countReader) Close() error { return c.r.Close() }

// acquireForward takes one of peer's forwarding slots, if one is free.
func (s *Server) acquireForward(peer string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forwards[peer] >= s.lim.ForwardPerClient {
		return nil, false
	}
	s.forwards[peer]++
	return func() {
		s.mu.Lock()
		if s.forwards[peer]--; s.forwards[peer] <= 0 {
			delete(s.forwards, peer) // no entry per client that ever called
		}
		s.mu.Unlock()
	}, true
}
