package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/api/apitest"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// serve runs the handler over a fake with folders docs and photos.
func serve(t *testing.T) (*apitest.Fake, *httptest.Server) {
	t.Helper()
	m := apitest.New("docs", "photos")
	srv := httptest.NewServer(api.Handler(m))
	t.Cleanup(srv.Close)
	return m, srv
}

func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, r)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent && resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, string(b)
}

func TestRoutes(t *testing.T) {
	m, srv := serve(t)
	photosByPath := "/sync/folders/" + url.PathEscape("/home/u/photos")
	tests := []struct {
		method, path, body string
		code               int
		want               string // in the body
	}{
		{"GET", "/sync/folders", "", 200, `"name":"docs"`},
		{"GET", "/sync/folders/docs", "", 200, `"state":"up-to-date"`},
		{"GET", photosByPath, "", 200, `"name":"photos"`},
		{"POST", "/sync/folders", `{"path":"/home/u/new","name":"new"}`, 201, `"name":"new"`},
		{"POST", "/sync/folders", `{"path":"/home/u/friend","name":"friend","follow":"URI:DIR2-RO:x:y"}`, 201, `"mode":"follow"`},
		{"POST", "/sync/folders/docs/pause", `{"for_seconds":1800}`, 200, `"paused_until":"2026-01-01T00:30:00Z"`},
		{"POST", "/sync/folders/docs/resume", "", 200, `"state":"up-to-date"`},
		{"POST", "/sync/folders/*/pause", "", 200, `"state":"paused"`},
		{"POST", "/sync/folders/%2A/resume", "", 200, `"name":"photos","path":"/home/u/photos","mode":"sync","state":"up-to-date"`},
		{"GET", "/sync/folders/docs/share", "", 200, `{"kind":"read","cap":"URI:DIR2-RO:aaaa:bbbb"}`},
		{"GET", "/sync/folders/docs/share?kind=write", "", 200, `"cap":"URI:DIR2:cccc:dddd"`},
		{"GET", "/sync/folders/docs/share?kind=snapshot", "", 200, `"kind":"snapshot"`},
		{"GET", "/sync/folders/docs/history?path=a.txt", "", 200, `"by":"devB"`},
		{"GET", "/sync/folders/docs/deleted", "", 200, `"files":[{"path":"old/notes.md","deleted":"2026-12-01T10:00:00Z","by":"devB","size":1500`},
		{"GET", "/sync/folders/docs/deleted?dir=old", "", 200, `"dir":"old","files":[{"path":"old/notes.md"`},
		{"GET", "/sync/folders/docs/deleted?dir=empty", "", 200, `"files":[],"truncated":false`},
		{"GET", "/sync/folders/nope/deleted", "", 404, `"code":"no_folder"`},
		{"POST", "/sync/folders/docs/restore", `{"path":"a.txt","version":1}`, 200, `{"path":"/home/u/docs/a.txt"}`},
		{"POST", "/sync/folders/docs/restore", `{"path":"a.txt","version":2,"to":"/tmp/out"}`, 200, `{"path":"/tmp/out"}`},
		{"DELETE", "/sync/folders/docs?keep_remote=true", "", 204, ``},
		{"GET", "/sync/folders/docs", "", 404, `"code":"no_folder"`},
	}
	for _, tt := range tests {
		code, body := call(t, srv, tt.method, tt.path, tt.body)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", tt.method, tt.path, code, body, tt.code, tt.want)
		}
	}
	want := []string{
		"add /home/u/new name=new to=false follow=false",
		"add /home/u/friend name=friend to=false follow=true",
		"pause docs 30m0s", "resume docs",
		"pause docs 0s", "pause photos 0s", "pause new 0s", "pause friend 0s",
		"resume docs", "resume photos", "resume new", "resume friend",
		"restore docs a.txt v1 to=", "restore docs a.txt v2 to=/tmp/out",
		"remove docs keep=true",
	}
	if got := m.Calls(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestErrors(t *testing.T) {
	m, srv := serve(t)
	m.Set("friend", api.FolderStatus{Path: "/home/u/friend", Mode: "follow"})
	big := `{"path":"/x","name":"` + strings.Repeat("a", api.MaxBody) + `"}`
	tests := []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"GET", "/sync/folders/nope", "", 404, `{"error":"folder \"nope\": no such folder","code":"no_folder"}`},
		{"POST", "/sync/folders", `{"path":"/home/u/docs2","name":"docs"}`, 409, `"code":"exists"`},
		{"GET", "/sync/folders/friend/share?kind=write", "", 409, `"code":"read_only"`},
		{"GET", "/sync/folders/docs/share?kind=admin", "", 400, `share kind \"admin\"`},
		{"GET", "/sync/folders/docs/history", "", 400, `path is missing`},
		{"GET", "/sync/folders/docs/history?path=b.txt", "", 404, `b.txt: no such folder`},
		{"POST", "/sync/folders", `{"path":"relative/dir"}`, 400, `is not absolute`},
		{"POST", "/sync/folders", `{"path":""}`, 400, `path is missing`},
		{"POST", "/sync/folders", ``, 400, `the body is empty`},
		{"POST", "/sync/folders", `{"path":"/a","to":"URI:DIR2:a:b","follow":"URI:DIR2-RO:a:b"}`, 400, `not both`},
		{"POST", "/sync/folders", `{"path":"/a","colour":"red"}`, 400, `unknown field \"colour\"`},
		{"POST", "/sync/folders", `{"path":"/a"} {"path":"/b"}`, 400, `more than one JSON value`},
		{"POST", "/sync/folders", `{"path":`, 400, `bad JSON request`},
		{"POST", "/sync/folders", big, 413, `larger than 65536 bytes`},
		{"POST", "/sync/folders/docs/pause", `{"for_seconds":-1}`, 400, `want 0`},
		{"POST", "/sync/folders/nope/pause", ``, 404, `no_folder`},
		{"POST", "/sync/folders/docs/restore", `{"version":1}`, 400, `path is missing`},
		{"POST", "/sync/folders/docs/restore", `{"path":"a","to":"out"}`, 400, `not absolute`},
		{"DELETE", "/sync/folders/docs?keep_remote=maybe", "", 400, `keep_remote`},
		{"GET", "/sync/nothing", "", 404, `no such folder sync route`},
		{"PUT", "/sync/folders", "", 404, `no such folder sync route: PUT /sync/folders`},
	}
	for _, tt := range tests {
		code, body := call(t, srv, tt.method, tt.path, tt.body)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", tt.method, tt.path, code, body, tt.code, tt.want)
		}
	}
	m.NoGrid = true
	if code, body := call(t, srv, "POST", "/sync/folders", `{"path":"/home/u/z"}`); code != 503 || !strings.Contains(body, `"code":"no_grid"`) {
		t.Errorf("no grid: %d %s", code, body)
	}
}

func TestStatusOf(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code int
	}{
		{fmt.Errorf("x: %w", api.ErrNoFolder), 404},
		{fmt.Errorf("x: %w", api.ErrExists), 409},
		{fmt.Errorf("x: %w", api.ErrReadOnly), 409},
		{fmt.Errorf("x: %w", api.ErrBadInput), 400},
		{fmt.Errorf("x: %w", api.ErrNoGrid), 503},
		{errors.New("disk on fire"), 500},
	} {
		if code, _ := api.StatusOf(tt.err); code != tt.code {
			t.Errorf("%v: %d, want %d", tt.err, code, tt.code)
		}
	}
}

// TestEventsStream: the stream starts with each folder's status, delivers
// events as SSE, and ends (unsubscribing, its goroutines gone) when the
// client goes away.
func TestEventsStream(t *testing.T) {
	testkit.CheckGoroutines(t)
	m, srv := serve(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/sync/events", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	testkit.WaitFor(t, "the subscription", 5*time.Second, func() bool { return m.Subscribers() == 1 })
	m.Emit(api.Event{Type: "conflict", Folder: "docs", Conflict: &api.Conflict{Path: "a.txt", Copy: "a.sync-conflict-20261201-100000-devB.txt"}})
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		b := make([]byte, 4096)
		var acc string
		for {
			n, err := resp.Body.Read(b)
			acc += string(b[:n])
			for {
				i := strings.Index(acc, "\n\n")
				if i < 0 {
					break
				}
				lines <- acc[:i]
				acc = acc[i+2:]
			}
			if err != nil {
				return
			}
		}
	}()
	want := []string{
		": lafs sync events",
		`event: status` + "\n" + `data: {"type":"status","folder":"docs","status":{"name":"docs"`,
		`event: status` + "\n" + `data: {"type":"status","folder":"photos"`,
		`event: conflict` + "\n" + `data: {"type":"conflict","folder":"docs","conflict":{"path":"a.txt","copy":"a.sync-conflict-20261201-100000-devB.txt"`,
	}
	for _, w := range want {
		select {
		case got := <-lines:
			if !strings.HasPrefix(got, w) {
				t.Fatalf("got %q, want it to start with %q", got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event; want %q", w)
		}
	}
	cancel()
	testkit.WaitFor(t, "the handler to unsubscribe", 5*time.Second, func() bool { return m.Subscribers() == 0 })
	for range lines {
	}
}

// TestEventsHeartbeatAndEnd: an idle stream gets heartbeat comments, and
// the stream ends when the Manager closes the subscription.
func TestEventsHeartbeatAndEnd(t *testing.T) {
	testkit.CheckGoroutines(t)
	old := api.SetHeartbeat(20 * time.Millisecond)
	defer api.SetHeartbeat(old)
	m, srv := serve(t)
	resp, err := srv.Client().Get(srv.URL + "/sync/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	chunks := make(chan string, 100)
	go func() {
		defer close(chunks)
		b := make([]byte, 1024)
		for {
			n, err := resp.Body.Read(b)
			if n > 0 {
				chunks <- string(b[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	var got string
	deadline := time.After(5 * time.Second)
	for !strings.Contains(got, ": heartbeat\n\n") {
		select {
		case c := <-chunks:
			got += c
		case <-deadline:
			t.Fatalf("no heartbeat in %q", got)
		}
	}
	m.CloseAll()
	for {
		select {
		case _, ok := <-chunks:
			if !ok {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the stream did not end when the Manager closed it")
		}
	}
}

// TestEventsClient: Client.Events decodes the stream and closes its
// channel when the context ends.
func TestEventsClient(t *testing.T) {
	testkit.CheckGoroutines(t)
	m, srv := serve(t)
	c := api.NewClient(srv.URL, "tok", srv.Client())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"docs", "photos"} {
		ev := <-evs
		if ev.Type != "status" || ev.Folder != name || ev.Status == nil || ev.Status.State != api.UpToDate {
			t.Fatalf("first events: %+v", ev)
		}
	}
	testkit.WaitFor(t, "the subscription", 5*time.Second, func() bool { return m.Subscribers() == 1 })
	m.Emit(api.Event{Type: "error", Folder: "docs", Error: &api.FileError{Path: "b.txt", Error: "permission denied", Hint: "chmod u+r b.txt"}})
	select {
	case ev := <-evs:
		if ev.Type != "error" || ev.Error == nil || ev.Error.Hint != "chmod u+r b.txt" {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error event")
	}
	cancel()
	for range evs {
	}
	testkit.WaitFor(t, "the handler to unsubscribe", 5*time.Second, func() bool { return m.Subscribers() == 0 })
}

// TestClientRoutes runs every client method against the handler.
func TestClientRoutes(t *testing.T) {
	m, srv := serve(t)
	c := api.NewClient(srv.URL+"/", "tok", srv.Client())
	ctx := context.Background()
	if l, err := c.List(ctx); err != nil || len(l) != 2 {
		t.Fatalf("List: %v %v", l, err)
	}
	if st, err := c.Add(ctx, api.AddRequest{Path: "/home/u/music", Name: "music", To: "URI:DIR2:a:b"}); err != nil || st.Name != "music" {
		t.Fatalf("Add: %+v %v", st, err)
	}
	if _, err := c.Add(ctx, api.AddRequest{Path: "/home/u/music", Name: "music"}); !errors.Is(err, api.ErrExists) || errors.Is(err, api.ErrReadOnly) {
		t.Errorf("Add twice: %v", err)
	}
	if st, err := c.Status(ctx, "/home/u/music"); err != nil || st.Name != "music" {
		t.Errorf("Status by path: %+v %v", st, err)
	}
	if _, err := c.Status(ctx, "nope"); !errors.Is(err, api.ErrNoFolder) || err.Error() != `folder "nope": no such folder` {
		t.Errorf("Status nope: %v", err)
	}
	if st, err := c.Pause(ctx, "music", time.Hour); err != nil || st.State != api.Paused || st.PausedUntil == nil {
		t.Errorf("Pause: %+v %v", st, err)
	}
	if st, err := c.Resume(ctx, "music"); err != nil || st.State != api.UpToDate {
		t.Errorf("Resume: %+v %v", st, err)
	}
	if l, err := c.PauseAll(ctx, 0); err != nil || len(l) != 3 || l[2].State != api.Paused {
		t.Errorf("PauseAll: %+v %v", l, err)
	}
	if l, err := c.ResumeAll(ctx); err != nil || len(l) != 3 || l[0].State != api.UpToDate {
		t.Errorf("ResumeAll: %+v %v", l, err)
	}
	if s, err := c.Share(ctx, "music", api.ShareWrite); err != nil || s.Cap != "URI:DIR2:cccc:dddd" {
		t.Errorf("Share: %+v %v", s, err)
	}
	if h, err := c.History(ctx, "music", "a.txt"); err != nil || len(h) != 2 || h[1].N != 1 {
		t.Errorf("History: %+v %v", h, err)
	}
	if d, err := c.Deleted(ctx, "music", "old"); err != nil || d.Dir != "old" || len(d.Files) != 1 || d.Files[0].Path != "old/notes.md" || d.Files[0].Versions != 2 {
		t.Errorf("Deleted: %+v %v", d, err)
	}
	if _, err := c.Deleted(ctx, "nope", ""); !errors.Is(err, api.ErrNoFolder) {
		t.Errorf("Deleted nope: %v", err)
	}
	if r, err := c.Restore(ctx, "music", api.RestoreRequest{Path: "a.txt", To: "/tmp/x"}); err != nil || r.Path != "/tmp/x" {
		t.Errorf("Restore: %+v %v", r, err)
	}
	if err := c.Remove(ctx, "music", false); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if got := m.Calls(); got[len(got)-1] != "remove music keep=false" {
		t.Errorf("last call %q", got[len(got)-1])
	}
	// What the web API answers before the folder sync is mounted.
	u := httptest.NewServer(api.Unavailable("the folder sync could not start"))
	defer u.Close()
	if _, err := api.NewClient(u.URL, "", u.Client()).List(ctx); !errors.Is(err, api.ErrStarting) || err.Error() != "the folder sync could not start" {
		t.Errorf("unavailable: %v", err)
	}
	var doc api.ErrorDoc
	resp, _ := u.Client().Get(u.URL + "/sync/folders")
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if resp.StatusCode != 503 || doc.Code != api.CodeOff {
		t.Errorf("unavailable: %d %+v", resp.StatusCode, doc)
	}
}
