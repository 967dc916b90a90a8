package nat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Paths of the peer requests, on the peer mux (transport connections).
const (
	ObservedPath = "/reach/observed"
	DialBackPath = "/reach/dialback"
)

// Limits of Server unless set.
const (
	DefaultPerMinute  = 10 // checks per peer per minute
	DefaultConcurrent = 8  // checks at once, all peers together
	maxBody           = 512
	maxTracked        = 4096 // peers with checks in the last minute
)

// ObservedAnswer is GET /reach/observed's body.
type ObservedAnswer struct {
	// Address is the caller's address as the callee sees it.
	Address string `json:"address"`
}

// DialBackRequest is POST /reach/dialback's body.
type DialBackRequest struct {
	// Address is "IP:PORT"; the IP must be the caller's own as the callee
	// sees it.
	Address string `json:"address"`
}

// DialBackAnswer is POST /reach/dialback's answer.
type DialBackAnswer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Server answers peers' reachability requests. Its fields are set before
// the first request.
type Server struct {
	// PeerOf is the calling node's ID, "" when the request did not come
	// over an authenticated peer connection.
	PeerOf func(*http.Request) string
	// RemoteOf is the caller's address as this node sees it; an error
	// when it has none of its own (a relayed connection).
	RemoteOf func(*http.Request) (netip.AddrPort, error)
	// Probe opens a new connection to addr and checks that the node there
	// proves peerID's key (transport.Node.Probe).
	Probe func(ctx context.Context, addr, peerID string) error
	// PerMinute and Concurrent bound the checks (defaults above).
	PerMinute, Concurrent int
	// Now is the clock (time.Now unless set).
	Now func() time.Time

	once sync.Once
	sem  chan struct{}
	mu   sync.Mutex // guards recent, busy
	// recent are each peer's check times within the last minute; busy the
	// peers with a check running.
	recent map[string][]time.Time
	busy   map[string]bool
}

func (s *Server) init() {
	s.once.Do(func() {
		if s.PerMinute <= 0 {
			s.PerMinute = DefaultPerMinute
		}
		if s.Concurrent <= 0 {
			s.Concurrent = DefaultConcurrent
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		s.sem = make(chan struct{}, s.Concurrent)
		s.recent, s.busy = map[string][]time.Time{}, map[string]bool{}
	})
}

// Handler serves ObservedPath and DialBackPath.
func (s *Server) Handler() http.Handler {
	s.init()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ObservedPath, s.observed)
	mux.HandleFunc("POST "+DialBackPath, s.dialBack)
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) observed(w http.ResponseWriter, r *http.Request) {
	if s.PeerOf(r) == "" {
		http.Error(w, "only over a peer connection", http.StatusForbidden)
		return
	}
	a, err := s.RemoteOf(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, ObservedAnswer{Address: a.String()})
}

// errBusy means the peer asked too often or while a check ran.
var errBusy = errors.New("too many dial-back checks; try again later")

// admit takes a check slot for peer, or says why not.
func (s *Server) admit(peer string) (release func(), err error) {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent) >= maxTracked {
		for id, ts := range s.recent {
			if !s.busy[id] && (len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= time.Minute) {
				delete(s.recent, id)
			}
		}
		if len(s.recent) >= maxTracked {
			return nil, errBusy
		}
	}
	ts := s.recent[peer]
	for len(ts) > 0 && now.Sub(ts[0]) >= time.Minute {
		ts = ts[1:]
	}
	if s.busy[peer] || len(ts) >= s.PerMinute {
		s.recent[peer] = ts
		return nil, errBusy
	}
	select {
	case s.sem <- struct{}{}:
	default:
		return nil, errBusy
	}
	s.recent[peer] = append(ts, now)
	s.busy[peer] = true
	return func() {
		<-s.sem
		s.mu.Lock()
		delete(s.busy, peer)
		s.mu.Unlock()
	}, nil
}

func (s *Server) dialBack(w http.ResponseWriter, r *http.Request) {
	peer := s.PeerOf(r)
	if peer == "" {
		http.Error(w, "only over a peer connection", http.StatusForbidden)
		return
	}
	var req DialBackRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		http.Error(w, "want {\"address\": \"IP:PORT\"}", http.StatusBadRequest)
		return
	}
	target, err := netip.ParseAddrPort(req.Address)
	if err != nil || target.Port() == 0 {
		http.Error(w, "address must be IP:PORT (no host names)", http.StatusBadRequest)
		return
	}
	caller, err := s.RemoteOf(r)
	if err != nil {
		http.Error(w, "no address of your own seen here: "+err.Error(), http.StatusForbidden)
		return
	}
	if target.Addr().Unmap() != caller.Addr().Unmap() {
		http.Error(w, "dial-back only to your own IP "+caller.Addr().String(), http.StatusForbidden)
		return
	}
	release, err := s.admit(peer)
	if err != nil {
		w.Header().Set("Retry-After", strconv.Itoa(60))
		http.Error(w, err.Error(), http.StatusTooManyRequests)
		return
	}
	defer release()
	target = netip.AddrPortFrom(target.Addr().Unmap(), target.Port())
	if err := s.Probe(r.Context(), target.String(), peer); err != nil {
		writeJSON(w, http.StatusOK, DialBackAnswer{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, DialBackAnswer{OK: true})
}
