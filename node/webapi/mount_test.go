package webapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/node/client"
)

// TestMount: a mounted handler is reached only with the token, sees the
// whole path, and can be mounted while the server serves; before it is,
// the folder sync's paths answer 503 "starting". An introducer-only node
// (no client) serves mounts too.
func TestMount(t *testing.T) {
	s := NewDynamic(func() *client.Client { return nil }, nil, "tok")
	srv := httptest.NewServer(s)
	defer srv.Close()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/sync/folders", "tok"); code != 503 || body != `{"error":"the folder sync is starting","code":"starting"}`+"\n" {
		t.Errorf("before Mount: %d %q", code, body)
	}
	s.Mount(SyncPrefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "sync sees "+r.URL.Path)
	}))
	for _, tok := range []string{"", "wrong"} {
		if code, body := get("/sync/folders", tok); code != 401 || strings.Contains(body, "sync sees") {
			t.Errorf("token %q: %d %q", tok, code, body)
		}
	}
	if code, body := get("/sync/folders/docs", "tok"); code != 200 || body != "sync sees /sync/folders/docs" {
		t.Errorf("after Mount: %d %q", code, body)
	}
	if code, _ := get("/uri/URI:DIR2:a:b", "tok"); code != 503 {
		t.Errorf("/uri on a node without a client: %d", code)
	}
}
