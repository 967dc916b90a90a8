// Package webapi is the node's loopback web API for automation and the tray
// app: a subset of Tahoe's WAPI (GET/PUT/POST /uri…, t=json, t=mkdir,
// t=check) plus a status document. Every request must carry the token
// kept in the node directory (Authorization: Bearer <token>); requests
// without it get 401 and touch nothing. It serves only what a node's
// client can reach; it never prints or logs caps.
package webapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/status"
)

// TokenPath is where the API token lives in a node directory when it is
// in a file (client.TokenStore says where it is).
func TokenPath(dir string) string { return client.TokenPath(dir) }

// LoadToken returns the node's API token from the installed
// client.TokenStore (by default private/api_auth_token), making one the
// first time.
func LoadToken(dir string) (string, error) {
	tok, err := client.ReadToken(dir)
	if err != nil || tok != "" {
		return tok, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok = base32.Encode(b)
	return tok, client.WriteToken(dir, tok)
}

// Server is the web API over a client.
// The storage proxy (client.ProxyPath, client.ProxyHeader) forwards
// /storage-proxy/SERVER-ID/… to that storage server over the node's own
// connection to it: the CLI reaches servers it could not dial itself
// (behind NAT) through the running node.
const (
	ProxyPath   = client.ProxyPath
	ProxyHeader = client.ProxyHeader
)

type Server struct {
	client     func() *client.Client
	nodeStatus func(context.Context) *status.Node
	peer       func(id string) http.RoundTripper
	token      string
	mux        *http.ServeMux

	mountMu sync.RWMutex // guards mounts
	mounts  map[string]http.Handler
}

// SyncPrefix is where the folder sync's API is mounted. Until it is,
// requests under it get 503 with {"error": "the folder sync is starting"}.
const SyncPrefix = "/sync/"

// Mount serves h, behind the token check, for every request whose path
// starts with prefix (which ends in "/"); h sees the whole path. It may be
// called while the server is serving.
func (s *Server) Mount(prefix string, h http.Handler) {
	s.mountMu.Lock()
	defer s.mountMu.Unlock()
	if s.mounts == nil {
		s.mounts = map[string]http.Handler{}
	}
	s.mounts[prefix] = h
}

// mounted is the handler mounted for path, if any; waiting says the path
// is under SyncPrefix with nothing mounted there yet.
func (s *Server) mounted(path string) (h http.Handler, waiting bool) {
	s.mountMu.RLock()
	defer s.mountMu.RUnlock()
	best := ""
	for p, mh := range s.mounts {
		if strings.HasPrefix(path, p) && len(p) > len(best) {
			best, h = p, mh
		}
	}
	return h, h == nil && strings.HasPrefix(path, SyncPrefix)
}

// New serves c's grid to holders of token.
func New(c *client.Client, token string) *Server {
	return NewDynamic(func() *client.Client { return c }, nil, token)
}

// NewDynamic serves the grid of whatever client get returns at each
// request (a running node's servers come and go); nodeStatus, if not nil,
// adds the node's own status (connections, introducers) to /status.
func NewDynamic(get func() *client.Client, nodeStatus func(context.Context) *status.Node, token string) *Server {
	s := &Server{client: get, nodeStatus: nodeStatus, token: token, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /status", s.serveStatus)
	s.mux.HandleFunc("PUT /uri", s.put)
	s.mux.HandleFunc("POST /uri", s.postRoot)
	s.mux.HandleFunc("GET /uri/{rest...}", s.get)
	s.mux.HandleFunc("PUT /uri/{rest...}", s.put)
	s.mux.HandleFunc("POST /uri/{rest...}", s.post)
	s.mux.HandleFunc(ProxyPath+"{id}/{rest...}", s.proxy)
	return s
}

// SetPeerProxy enables the storage proxy: peer returns how to reach a
// connected storage server, or nil.
func (s *Server) SetPeerProxy(peer func(id string) http.RoundTripper) { s.peer = peer }

func (s *Server) proxy(w http.ResponseWriter, r *http.Request) {
	var rt http.RoundTripper
	if s.peer != nil {
		rt = s.peer(r.PathValue("id"))
	}
	if rt == nil {
		http.Error(w, fmt.Sprintf("this node has no connection to storage server %.16s…", r.PathValue("id")), http.StatusBadGateway)
		return
	}
	out := r.Clone(r.Context())
	out.URL = &url.URL{Scheme: "http", Host: "peer", Path: "/" + r.PathValue("rest"), RawQuery: r.URL.RawQuery}
	out.RequestURI, out.Host = "", ""
	out.Header.Del(ProxyHeader)
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := rt.RoundTrip(out)
	if err != nil {
		http.Error(w, "storage server: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// ServeHTTP checks the token, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if strings.HasPrefix(r.URL.Path, ProxyPath) {
		got = r.Header.Get(ProxyHeader)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 || s.token == "" {
		http.Error(w, "missing or wrong API token (the node keeps it in private/api_auth_token or, with lafs, in the OS keyring)", http.StatusUnauthorized)
		return
	}
	if h, waiting := s.mounted(r.URL.Path); h != nil {
		h.ServeHTTP(w, r)
		return
	} else if waiting {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":"the folder sync is starting","code":"starting"}`+"\n")
		return
	}
	// One view of the grid per request: a running node's servers come
	// and go, and building the view is not free.
	c := s.client()
	if strings.HasPrefix(r.URL.Path, "/uri") && c == nil {
		http.Error(w, "this node is an introducer only: it has no grid client (use a client node's web API)", http.StatusServiceUnavailable)
		return
	}
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, c)))
}

type clientKey struct{}

// clientOf is the grid view ServeHTTP took for r.
func clientOf(r *http.Request) *client.Client {
	c, _ := r.Context().Value(clientKey{}).(*client.Client)
	return c
}

func fail(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), statusOf(err))
}

// statusOf is the HTTP status for an operation's error.
func statusOf(err error) int {
	var (
		ce  *cap.Error
		te  *client.TargetError
		nn  *client.NoNameError
		nd  *client.NotDirError
		ide *client.IsDirError
		se  *spoolError
		be  *bodyError
	)
	switch {
	case errors.Is(err, dirnode.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, dirnode.ErrReadOnly):
		return http.StatusForbidden
	case errors.Is(err, dirnode.ErrExists), errors.Is(err, dirnode.ErrIsDirectory), errors.As(err, &ide):
		return http.StatusConflict
	case errors.As(err, &se):
		return http.StatusInsufficientStorage
	case errors.Is(err, dirnode.ErrBadName), errors.As(err, &ce), errors.As(err, &te), errors.As(err, &nn),
		errors.As(err, &nd), errors.As(err, &be):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// target is the cap (and path) in /uri/CAP/path, unescaped by the mux.
func target(r *http.Request) string { return r.PathValue("rest") }

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	c, err := clientOf(r).ResolveCap(r.Context(), target(r))
	if err != nil {
		fail(w, err)
		return
	}
	if c.IsDir() {
		d, err := clientOf(r).Dirs.Open(c.String())
		if err != nil {
			fail(w, err)
			return
		}
		names, es, err := d.List(r.Context())
		if err != nil {
			fail(w, err)
			return
		}
		// Tahoe's t=json shape for a directory: ["dirnode", {children: …}].
		children := map[string]any{}
		for _, n := range names {
			kind := "filenode"
			if cap.ParseChild(es[n].ReadCap).IsDir() {
				kind = "dirnode"
			}
			children[n] = []any{kind, map[string]any{"ro_uri": es[n].ReadCap, "metadata": es[n].Metadata}}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode([]any{"dirnode", map[string]any{"mutable": c.IsMutable(), "children": children}})
		return
	}
	if r.URL.Query().Get("t") == "json" {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode([]any{"filenode", cap.Describe(c)})
		return
	}
	// Stream: the file is never held whole. An error before the first
	// byte is an error status; after it, the connection is cut, so the
	// client sees a short body (Content-Length says how long it should
	// be), never a silently truncated file.
	w.Header().Set("Content-Type", "application/octet-stream")
	if size := cap.Describe(c).Size; size != nil {
		w.Header().Set("Content-Length", strconv.FormatInt(*size, 10))
	}
	out := &startedWriter{w: w}
	if err := clientOf(r).Download(r.Context(), c, out); err != nil {
		if !out.started {
			w.Header().Del("Content-Length")
			w.Header().Del("Content-Type")
			fail(w, err)
			return
		}
		panic(http.ErrAbortHandler)
	}
	if !out.started {
		w.WriteHeader(http.StatusOK) // an empty file
	}
}

// startedWriter notes whether the response has begun.
type startedWriter struct {
	w       http.ResponseWriter
	started bool
}

func (s *startedWriter) Write(p []byte) (int, error) {
	s.started = true
	return s.w.Write(p)
}

func (s *Server) postRoot(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("t") != "mkdir" {
		http.Error(w, "POST /uri supports t=mkdir", http.StatusBadRequest)
		return
	}
	d, err := clientOf(r).Dirs.Create(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	io.WriteString(w, d.Cap().String())
}

func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("t") {
	case "mkdir":
		c, path, err := clientOf(r).SplitTarget(target(r))
		if err != nil {
			fail(w, err)
			return
		}
		root, err := clientOf(r).Dirs.Open(c)
		if err != nil {
			fail(w, err)
			return
		}
		d, err := clientOf(r).Dirs.MkdirAll(r.Context(), root, strings.Join(path, "/"))
		if err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, d.Cap().String())
	case "check":
		c, err := clientOf(r).ResolveCap(r.Context(), target(r))
		if err != nil {
			fail(w, err)
			return
		}
		verify := q.Get("verify") == "true"
		res, err := clientOf(r).Imm.Check(r.Context(), c, verify)
		if err != nil {
			fail(w, err)
			return
		}
		if q.Get("repair") == "true" && !res.Healthy {
			rep, err := clientOf(r).Imm.Repair(r.Context(), c, verify)
			if err != nil {
				fail(w, err)
				return
			}
			res = rep.After
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"summary": res.Summary(), "healthy": res.Healthy, "recoverable": res.Recoverable, "results": res})
	default:
		http.Error(w, "POST /uri/… supports t=mkdir and t=check", http.StatusBadRequest)
	}
}
