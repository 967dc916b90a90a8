package webapi

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/lafssync/lafssync/node/status"
)

// serveStatus answers GET /status with the status document
// (node/status.Document, described in docs/webapi.md).
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	out := status.Document{Servers: []status.Server{}}
	if s.nodeStatus != nil {
		out.Node = s.nodeStatus(r.Context())
	}
	if c := clientOf(r); c != nil { // an introducer has no grid client
		out.Params = &status.Params{K: c.Imm.Params.K, Happy: c.Imm.Params.Happy, N: c.Imm.Params.N}
		// Ask every server at once, each answer bounded: one slow server
		// must not hold up the page.
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		out.Servers = make([]status.Server, len(c.Imm.Servers))
		var wg sync.WaitGroup
		for i, srv := range c.Imm.Servers {
			wg.Go(func() {
				st := status.Server{ID: srv.Info().ID, Nickname: srv.Info().Nickname}
				if v, err := srv.Version(ctx); err != nil {
					st.Error = err.Error()
				} else {
					st.Connected, st.Available = true, v.AvailableSpace
				}
				out.Servers[i] = st
			})
		}
		wg.Wait()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
