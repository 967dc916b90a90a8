package introducer

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/lafssync/lafssync/node/transport"
)

// Paths of the introducer's HTTP API, served to peers over the transport.
const (
	PublishPath       = "/introducer/v1/publish"
	AnnouncementsPath = "/introducer/v1/announcements"
)

// MaxNodes bounds how many nodes an introducer keeps announcements for
// (keys cost nothing to make; memory does).
const MaxNodes = 10000

// MaxWait bounds how long a subscriber's poll is held open.
const MaxWait = 60 * time.Second

// Server is an introducer: it keeps the newest announcement of each node
// and hands them all to subscribers. It checks signatures and accepts a
// node's announcement only over that node's own connection, so nobody can
// publish, replay or withdraw for another node.
type Server struct {
	// MaxNodes bounds the nodes it keeps (default the package's MaxNodes).
	MaxNodes int
	log      *slog.Logger
	epoch    string     // this run of the introducer: generations restart with it
	mu       sync.Mutex // guards anns, gen, changed
	anns     map[string]entry
	gen      int64
	changed  chan struct{}
}

type entry struct {
	signed Signed
	seqnum int64
}

// NewServer makes an empty introducer.
func NewServer(log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := make([]byte, 8)
	rand.Read(e)
	return &Server{MaxNodes: MaxNodes, log: log, epoch: hex.EncodeToString(e), anns: map[string]entry{}, changed: make(chan struct{})}
}

// Handler serves the introducer API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PublishPath, s.publish)
	mux.HandleFunc("GET "+AnnouncementsPath, s.announcements)
	return mux
}

// NodeSummary is what an introducer shows about one announced node.
type NodeSummary struct {
	ID           string `json:"id"`
	Nickname     string `json:"nickname"`
	Service      string `json:"service"`
	Reachability string `json:"reachability,omitempty"`
	Seqnum       int64  `json:"seqnum"`
}

// Nodes summarizes the announcements held, by node ID.
func (s *Server) Nodes() []NodeSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]NodeSummary, 0, len(s.anns))
	for id, e := range s.anns {
		a, _, err := Verify(e.signed)
		if err != nil {
			continue // verified when published; cannot happen
		}
		out = append(out, NodeSummary{ID: id, Nickname: a.Nickname, Service: a.ServiceName, Reachability: a.Reachability, Seqnum: a.Seqnum})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Count is how many nodes have announced.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.anns)
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code int, reason string) {
	s.log.Warn("refused an announcement", "peer", transport.PeerID(r.Context()), "reason", reason)
	http.Error(w, reason, code)
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	peer := transport.PeerID(r.Context())
	if peer == "" {
		s.refuse(w, r, http.StatusForbidden, "announcements are accepted only over the node transport")
		return
	}
	var signed Signed
	if err := json.NewDecoder(io.LimitReader(r.Body, 2*MaxSize)).Decode(&signed); err != nil {
		s.refuse(w, r, http.StatusBadRequest, "malformed announcement: "+err.Error())
		return
	}
	ann, key, err := Verify(signed)
	if err != nil {
		s.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if key != peer {
		s.refuse(w, r, http.StatusForbidden, fmt.Sprintf("announcement signed by %.12s… arrived over %.12s…'s connection", key, peer))
		return
	}
	s.mu.Lock()
	old, ok := s.anns[key]
	dup := ok && old.signed == signed // a republish after a reconnect
	stale := ok && !dup && ann.Seqnum <= old.seqnum
	full := !ok && len(s.anns) >= s.MaxNodes
	if !dup && !stale && !full {
		s.anns[key] = entry{signed: signed, seqnum: ann.Seqnum}
		s.gen++
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
	if stale {
		s.refuse(w, r, http.StatusConflict, fmt.Sprintf("seqnum %d is not newer than %d", ann.Seqnum, old.seqnum))
		return
	}
	if full {
		s.refuse(w, r, http.StatusInsufficientStorage, fmt.Sprintf("this introducer already knows %d nodes", s.MaxNodes))
		return
	}
	if !dup {
		s.log.Info("announcement", "node", key, "service", ann.ServiceName, "nickname", ann.Nickname, "seqnum", ann.Seqnum)
	}
	w.WriteHeader(http.StatusNoContent)
}

// List is what a subscriber receives.
type List struct {
	// Epoch names this run of the introducer; after a restart it differs
	// and generations count from zero again.
	Epoch string `json:"epoch"`
	// Generation grows with every change; poll with since=Generation to
	// wait for the next one.
	Generation    int64    `json:"generation"`
	Announcements []Signed `json:"announcements"`
}

func (s *Server) announcements(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
	wait = min(max(wait, 0), MaxWait)
	s.mu.Lock()
	if s.gen <= since && wait > 0 {
		ch := s.changed
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ch:
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
		s.mu.Lock()
	}
	out := List{Epoch: s.epoch, Generation: s.gen, Announcements: make([]Signed, 0, len(s.anns))}
	for _, e := range s.anns {
		out.Announcements = append(out.Announcements, e.signed)
	}
	s.mu.Unlock()
	sort.Slice(out.Announcements, func(i, j int) bool { return out.Announcements[i].Key < out.Announcements[j].Key })
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
