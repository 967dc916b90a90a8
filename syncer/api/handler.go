package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"time"
)

// Prefix is where the handler is mounted in the node's web API; its
// routes are the full paths under it.
const Prefix = "/sync/"

// MaxBody bounds every request body.
const MaxBody = 64 << 10

// Every is the {f} that pauses or resumes every folder; the answer is
// then the list of folders ([]FolderStatus).
const Every = "*"

// Share kinds.
const (
	ShareRead     = "read"
	ShareWrite    = "write"
	ShareSnapshot = "snapshot"
)

// Error codes in an error document's "code", one per sentinel error, so a
// client can tell a 409 "exists" from a 409 "read-only".
const (
	CodeNoFolder = "no_folder"
	CodeExists   = "exists"
	CodeReadOnly = "read_only"
	CodeBadInput = "bad_input"
	CodeNoGrid   = "no_grid"
	CodeInternal = "internal"
	CodeStarting = "starting"    // the web API's answer before the folder sync is mounted
	CodeOff      = "unavailable" // the folder sync cannot run on this node (Unavailable)
	CodeNoRoute  = "no_route"
)

// ErrorDoc is the body of every error answer.
type ErrorDoc struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

// heartbeat is how often an idle event stream gets a comment line, so
// proxies and clients can tell a quiet stream from a dead one.
var heartbeat = 15 * time.Second

// eventBuffer bounds the events one event-stream client may have queued
// besides the latest status of each folder.
const eventBuffer = 256

// writeTimeout bounds one write to an event-stream client: a client that
// stops reading is dropped rather than held forever.
const writeTimeout = 30 * time.Second

// Handler serves m at the routes in the package comment (full paths,
// starting with Prefix). It checks no token: the web API in front of it
// does.
func Handler(m Manager) http.Handler {
	h := &handler{m: m}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sync/folders", h.list)
	mux.HandleFunc("POST /sync/folders", h.add)
	mux.HandleFunc("GET /sync/folders/{f}", h.status)
	mux.HandleFunc("DELETE /sync/folders/{f}", h.remove)
	mux.HandleFunc("POST /sync/folders/{f}/pause", h.pause)
	mux.HandleFunc("POST /sync/folders/{f}/resume", h.resume)
	mux.HandleFunc("GET /sync/folders/{f}/share", h.share)
	mux.HandleFunc("GET /sync/folders/{f}/history", h.history)
	mux.HandleFunc("GET /sync/folders/{f}/deleted", h.deleted)
	mux.HandleFunc("POST /sync/folders/{f}/restore", h.restore)
	mux.HandleFunc("GET /sync/events", h.events)
	mux.HandleFunc("/sync/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, CodeNoRoute, fmt.Sprintf("no such folder sync route: %s %s (see docs/webapi.md, Folder sync)", r.Method, r.URL.Path))
	})
	return mux
}

type handler struct{ m Manager }

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, nonNil(h.m.List()))
}

func (h *handler) add(w http.ResponseWriter, r *http.Request) {
	var req AddRequest
	if !decode(w, r, &req, false) {
		return
	}
	switch {
	case req.Path == "":
		writeError(w, http.StatusBadRequest, CodeBadInput, "add a folder: path is missing (the local directory to sync)")
		return
	case !filepath.IsAbs(req.Path):
		writeError(w, http.StatusBadRequest, CodeBadInput, fmt.Sprintf("add a folder: path %q is not absolute", req.Path))
		return
	case req.To != "" && req.Follow != "":
		writeError(w, http.StatusBadRequest, CodeBadInput, "add a folder: give either to (join with a write cap) or follow (mirror a read cap), not both")
		return
	}
	st, err := h.m.Add(r.Context(), req)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, st)
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	st, err := h.m.Status(r.PathValue("f"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) remove(w http.ResponseWriter, r *http.Request) {
	keep := false
	switch v := r.URL.Query().Get("keep_remote"); v {
	case "", "false", "0":
	case "true", "1":
		keep = true
	default:
		writeError(w, http.StatusBadRequest, CodeBadInput, fmt.Sprintf("keep_remote=%q: want true or false", v))
		return
	}
	if err := h.m.Remove(r.Context(), r.PathValue("f"), keep); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) pause(w http.ResponseWriter, r *http.Request) {
	var req PauseRequest
	if !decode(w, r, &req, true) {
		return
	}
	if req.ForSeconds < 0 || req.ForSeconds > 366*24*3600 {
		writeError(w, http.StatusBadRequest, CodeBadInput, fmt.Sprintf("pause for %v seconds: want 0 (until resumed) up to a year", req.ForSeconds))
		return
	}
	d := time.Duration(req.ForSeconds * float64(time.Second))
	h.each(w, r.PathValue("f"), func(f string) error { return h.m.Pause(f, d) })
}

func (h *handler) resume(w http.ResponseWriter, r *http.Request) {
	if !decode(w, r, &struct{}{}, true) {
		return
	}
	h.each(w, r.PathValue("f"), h.m.Resume)
}

// each applies op to folder f (the Manager takes Every for every folder)
// and answers with the folder's status, or the list for Every.
func (h *handler) each(w http.ResponseWriter, f string, op func(string) error) {
	if err := op(f); err != nil {
		fail(w, err)
		return
	}
	if f == Every {
		writeJSON(w, http.StatusOK, nonNil(h.m.List()))
		return
	}
	st, err := h.m.Status(f)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) share(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	if kind == "" {
		kind = ShareRead
	}
	if kind != ShareRead && kind != ShareWrite && kind != ShareSnapshot {
		writeError(w, http.StatusBadRequest, CodeBadInput, fmt.Sprintf("share kind %q: want read, write or snapshot", kind))
		return
	}
	c, err := h.m.Share(r.Context(), r.PathValue("f"), kind)
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, ShareResponse{Kind: kind, Cap: c})
}

func (h *handler) history(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("path")
	if p == "" {
		writeError(w, http.StatusBadRequest, CodeBadInput, "history: path is missing (a file's path in the folder)")
		return
	}
	vs, err := h.m.History(r.Context(), r.PathValue("f"), p)
	if err != nil {
		fail(w, err)
		return
	}
	if vs == nil {
		vs = []Version{}
	}
	writeJSON(w, http.StatusOK, vs)
}

func (h *handler) deleted(w http.ResponseWriter, r *http.Request) {
	l, err := h.m.Deleted(r.Context(), r.PathValue("f"), r.URL.Query().Get("dir"))
	if err != nil {
		fail(w, err)
		return
	}
	if l.Files == nil {
		l.Files = []DeletedFile{}
	}
	writeJSON(w, http.StatusOK, l)
}

func (h *handler) restore(w http.ResponseWriter, r *http.Request) {
	var req RestoreRequest
	if !decode(w, r, &req, false) {
		return
	}
	switch {
	case req.Path == "":
		writeError(w, http.StatusBadRequest, CodeBadInput, "restore: path is missing (a file's path in the folder)")
		return
	case req.Version < 0:
		writeError(w, http.StatusBadRequest, CodeBadInput, fmt.Sprintf("restore: version %d: want 1 or more (0: the most recent previous one)", req.Version))
		return
	case req.To != "" && !filepath.IsAbs(req.To):
		writeError(w, http.StatusBadRequest, CodeBadInput, fmt.Sprintf("restore: to %q is not absolute", req.To))
		return
	}
	p, err := h.m.Restore(r.Context(), r.PathValue("f"), req)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, RestoreResponse{Path: p})
}

// events streams the manager's events as Server-Sent Events: first each
// folder's current status, then every event, until the client goes, the
// request's context ends, or the manager closes the subscription.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// flush sets a deadline per write; a connection kept alive after the
	// stream must not inherit the last one.
	defer rc.SetWriteDeadline(time.Time{})
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	src, unsubscribe := h.m.Subscribe()
	defer unsubscribe()

	q := newEventQueue(eventBuffer)
	for _, st := range h.m.List() {
		q.push(Event{Type: "status", Folder: st.Name, Status: &st})
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // before wg.Wait: stops the pump
	wg.Go(func() {
		defer q.close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-src:
				if !ok {
					return
				}
				q.push(ev)
			}
		}
	})

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if !flush(rc, w, []byte(": lafs sync events\n\n")) {
		return
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if !flush(rc, w, []byte(": heartbeat\n\n")) {
				return
			}
		case <-q.ready:
			evs, closed := q.take()
			for _, ev := range evs {
				b, err := json.Marshal(ev)
				if err != nil {
					continue
				}
				if !flush(rc, w, fmt.Appendf(nil, "event: %s\ndata: %s\n\n", eventType(ev), b)) {
					return
				}
			}
			if closed {
				return
			}
		}
	}
}

// eventType is the SSE event name: one word, never a line break.
func eventType(ev Event) string {
	for _, c := range ev.Type {
		if c == '\n' || c == '\r' || c == ':' {
			return "message"
		}
	}
	if ev.Type == "" {
		return "message"
	}
	return ev.Type
}

// flush writes b within writeTimeout and flushes it.
func flush(rc *http.ResponseController, w io.Writer, b []byte) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := w.Write(b); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// eventQueue is one client's bounded buffer. A folder's status is kept
// once, the latest replacing the older (it is a state, not a change);
// other events queue, the oldest dropped beyond max.
type eventQueue struct {
	ready chan struct{} // has a value when there is something to take

	mu     sync.Mutex // guards the fields below
	order  []Event    // events in arrival order; a status is a placeholder whose latest is in status
	status map[string]*FolderStatus
	max    int
	closed bool
}

func newEventQueue(max int) *eventQueue {
	return &eventQueue{ready: make(chan struct{}, 1), status: map[string]*FolderStatus{}, max: max}
}

func (q *eventQueue) push(ev Event) {
	q.mu.Lock()
	if ev.Type == "status" && ev.Status != nil {
		if cur, ok := q.status[ev.Folder]; ok {
			*cur = *ev.Status
			q.mu.Unlock()
			q.signal()
			return
		}
		st := *ev.Status
		q.status[ev.Folder] = &st
		ev.Status = &st
	}
	q.order = append(q.order, ev)
	for len(q.order) > q.max {
		old := q.order[0]
		q.order = q.order[1:]
		if old.Type == "status" && old.Status != nil && q.status[old.Folder] == old.Status {
			delete(q.status, old.Folder)
		}
	}
	q.mu.Unlock()
	q.signal()
}

func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *eventQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns the queued events and whether the source has ended.
func (q *eventQueue) take() ([]Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs := q.order
	q.order = nil
	clear(q.status)
	return evs, q.closed
}

// decode reads r's JSON body into v: at most MaxBody, no unknown fields,
// nothing after it. An empty body is allowed when optional.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == io.EOF && optional {
		return true
	}
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	} else if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, CodeBadInput, fmt.Sprintf("request body larger than %d bytes", MaxBody))
		return false
	}
	if err == io.EOF {
		err = errors.New("the body is empty")
	}
	writeError(w, http.StatusBadRequest, CodeBadInput, "bad JSON request: "+err.Error())
	return false
}

// fail answers with the status and code of err's sentinel.
func fail(w http.ResponseWriter, err error) {
	status, code := StatusOf(err)
	writeError(w, status, code, err.Error())
}

// StatusOf is the HTTP status and error code for a Manager's error.
func StatusOf(err error) (int, string) {
	switch {
	case errors.Is(err, ErrNoFolder):
		return http.StatusNotFound, CodeNoFolder
	case errors.Is(err, ErrExists):
		return http.StatusConflict, CodeExists
	case errors.Is(err, ErrReadOnly):
		return http.StatusConflict, CodeReadOnly
	case errors.Is(err, ErrBadInput):
		return http.StatusBadRequest, CodeBadInput
	case errors.Is(err, ErrNoGrid):
		return http.StatusServiceUnavailable, CodeNoGrid
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, CodeNoGrid
	}
	return http.StatusInternalServerError, CodeInternal
}

// Unavailable answers every request with 503 and msg: what the web API
// mounts when the folder sync cannot run on this node.
func Unavailable(msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusServiceUnavailable, CodeOff, msg)
	})
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, ErrorDoc{Error: msg, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(ErrorDoc{Error: "encode the answer: " + err.Error(), Code: CodeInternal})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func nonNil(s []FolderStatus) []FolderStatus {
	if s == nil {
		return []FolderStatus{}
	}
	return s
}
