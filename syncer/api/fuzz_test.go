package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/api/apitest"
)

// FuzzHandler sends any method, path and body to the /sync/ routes: the
// handler never panics, always answers JSON with a known status, and
// bounds what it reads.
func FuzzHandler(f *testing.F) {
	f.Add("GET", "/sync/folders", "")
	f.Add("POST", "/sync/folders", `{"path":"/tmp/x","name":"x"}`)
	f.Add("POST", "/sync/folders/docs/pause", `{"for_seconds":-1e308}`)
	f.Add("POST", "/sync/folders/docs/restore", `{"path":"../../etc/passwd","version":-5}`)
	f.Add("GET", "/sync/folders/%2F..%2F/history?path=%00", "")
	f.Add("GET", "/sync/folders/docs/deleted?dir=..%2F..%00", "")
	f.Add("DELETE", "/sync/folders/*?keep_remote=maybe", "")
	f.Add("POST", "/sync/folders", `{"path":"/a","to":"x","follow":"y","extra":1}`)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/sync/") || strings.HasPrefix(path, "/sync/events") {
			return // the event stream is a long-lived response, tested on its own
		}
		switch method {
		case "GET", "POST", "DELETE", "PUT", "PATCH":
		default:
			return
		}
		req, err := http.NewRequest(method, "http://x"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		api.Handler(apitest.New("docs", "friend")).ServeHTTP(rec, req)
		switch rec.Code {
		case 301, 307, 308:
			return // net/http's canonical-path redirect (a cleaned path)
		case 200, 201, 204, 400, 404, 405, 409, 413, 503:
		default:
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, rec.Code, rec.Body.String())
		}
		if rec.Code != 204 && rec.Code != 405 {
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("%s %s: content type %q", method, path, ct)
			}
		}
		_, _ = io.Copy(io.Discard, rec.Body)
	})
}
