package webapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/status"
	"github.com/lafssync/lafssync/node/storagenode"
)

// api is a web API over a local grid, for tests.
type api struct {
	t      testing.TB
	dir    string // the client's node directory
	client *client.Client
	url    string
	token  string
}

func startAPI(t testing.TB, nodeStatus func(context.Context) *status.Node) *api {
	t.Helper()
	return startAPIn(t, storagenode.LocalGridSize, nodeStatus)
}

func startAPIn(t testing.TB, servers int, nodeStatus func(context.Context) *status.Node) *api {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- storagenode.RunLocalGrid(ctx, filepath.Join(dir, "grid"), dir, servers, nil, func([]string) { close(ready) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case err := <-done:
		done <- err // for the cleanup, which waits for it
		t.Fatalf("the local grid stopped while starting: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("grid did not start")
	}
	c, err := client.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	token, err := LoadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewDynamic(func() *client.Client { return c }, nodeStatus, token))
	t.Cleanup(srv.Close)
	return &api{t: t, dir: dir, client: c, url: srv.URL, token: token}
}

// do sends a request; path is sent as written (already escaped).
func (a *api) do(method, path string, body io.Reader) (int, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *api) mkdir() string {
	a.t.Helper()
	code, c := a.do("POST", "/uri?t=mkdir", nil)
	if code != 200 {
		a.t.Fatalf("mkdir: %d %s", code, c)
	}
	return "/uri/" + url.PathEscape(c)
}

// PUT follows Tahoe's replace=: a file is replaced (200) unless
// replace=false (409); a directory is never replaced by a file (409),
// whatever replace= says, and stays intact.
func TestPutReplace(t *testing.T) {
	a := startAPI(t, nil)
	d := a.mkdir()
	if code, body := a.do("PUT", d+"/f", strings.NewReader("one")); code != 201 {
		t.Fatalf("new file: %d %s", code, body)
	}
	if code, body := a.do("PUT", d+"/f", strings.NewReader("two")); code != 200 {
		t.Errorf("replace a file (default): %d %s, want 200", code, body)
	}
	if code, body := a.do("PUT", d+"/f?replace=false", strings.NewReader("three")); code != 409 {
		t.Errorf("replace=false over a file: %d %s, want 409", code, body)
	}
	if code, got := a.do("GET", d+"/f", nil); code != 200 || got != "two" {
		t.Errorf("after replace=false: %d %q, want the second upload", code, got)
	}
	if code, body := a.do("PUT", d+"/f?replace=only-files", strings.NewReader("four")); code != 200 {
		t.Errorf("replace=only-files over a file: %d %s", code, body)
	}
	if code, body := a.do("PUT", d+"/new?replace=false", strings.NewReader("x")); code != 201 {
		t.Errorf("replace=false, new name: %d %s", code, body)
	}
	if code, body := a.do("PUT", d+"/sub/inner", strings.NewReader("kept")); code != 201 {
		t.Fatalf("file in a new subdirectory: %d %s", code, body)
	}
	for _, q := range []string{"", "?replace=true", "?replace=only-files", "?replace=false"} {
		code, body := a.do("PUT", d+"/sub"+q, strings.NewReader("a file over a directory"))
		if code != 409 || !strings.Contains(body, "directory") {
			t.Errorf("PUT onto a directory%s: %d %s, want 409 naming the directory", q, code, body)
		}
	}
	if code, got := a.do("GET", d+"/sub/inner", nil); code != 200 || got != "kept" {
		t.Errorf("directory's content after refused PUTs: %d %q", code, got)
	}
	if code, body := a.do("PUT", d+"/sub/", strings.NewReader("no name")); code != 400 {
		t.Errorf("PUT to dir/ (no name): %d %s, want 400", code, body)
	}
	if code, body := a.do("PUT", d+"/g?replace=maybe", strings.NewReader("x")); code != 400 {
		t.Errorf("replace=maybe: %d %s, want 400", code, body)
	}
}

// Names a filesystem cannot hold safely are refused with 400, for files
// and directories, and nothing is linked.
func TestRejectsBadNames(t *testing.T) {
	a := startAPI(t, nil)
	d := a.mkdir()
	for _, n := range []string{"%2E%2E", "%2E", "a%00b", "line%0Abreak", "esc%1B", "del%7F", "c1%C2%85", strings.Repeat("x", 256)} {
		if code, body := a.do("PUT", d+"/"+n, strings.NewReader("x")); code != 400 || !strings.Contains(body, "not allowed") {
			t.Errorf("PUT %s: %d %s, want 400", n, code, body)
		}
		if code, body := a.do("PUT", d+"/"+n+"/file", strings.NewReader("x")); code != 400 {
			t.Errorf("PUT %s/file: %d %s, want 400", n, code, body)
		}
		if code, body := a.do("POST", d+"/"+n+"?t=mkdir", nil); code != 400 {
			t.Errorf("mkdir %s: %d %s, want 400", n, code, body)
		}
	}
	code, listing := a.do("GET", d+"?t=json", nil)
	if code != 200 || !strings.Contains(listing, `"children":{}`) {
		t.Errorf("directory after refused names: %d %s", code, listing)
	}
}

// A large PUT's spool file has no name while the upload runs (a crash
// leaves nothing in NODEDIR/tmp), and SweepSpool removes what an older
// run left there, only ours.
func TestSpoolLeavesNothing(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("looks at /proc/self/fd")
	}
	a := startAPI(t, nil)
	tmp := SpoolDir(a.dir)
	pr, pw := io.Pipe()
	result := make(chan int, 1)
	go func() {
		code, _ := a.do("PUT", "/uri", pr)
		result <- code
	}()
	chunk := []byte(strings.Repeat("spooled!", 1<<17)) // 1 MiB
	for range inMemory/len(chunk) + 2 {
		if _, err := pw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	// The handler now holds the spool file open, waiting for the rest,
	// and has removed its name (between the create and the remove there
	// is a moment when it has one: wait past it, not for it).
	var open string
	if !testkit.Poll(10*time.Second, func() bool {
		fds, _ := os.ReadDir("/proc/self/fd")
		for _, fd := range fds {
			if p, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(p, tmp+"/") {
				open = p
				return strings.HasSuffix(p, " (deleted)")
			}
		}
		return false
	}) {
		t.Fatalf("after 10 s the spool file is %q (want it open and without a name: a crash would leave a named one behind)", open)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("NODEDIR/tmp during the upload: %v", left)
	}
	pw.Close()
	if code := <-result; code != 201 {
		t.Fatalf("PUT: %d", code)
	}

	// Left by a crash (or on Windows): ours go, others stay.
	for _, n := range []string{"lafs-put-123.spool", "upload-4567", "upload-notours", "keep.txt", "lafs-put-1.tmp"} {
		if err := os.WriteFile(filepath.Join(tmp, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if k, err := SweepSpool(a.dir); err != nil || k != 2 {
		t.Errorf("SweepSpool: %d, %v; want 2 removed", k, err)
	}
	var names []string
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "keep.txt lafs-put-1.tmp upload-notours" {
		t.Errorf("after the sweep: %v", names)
	}
	if k, err := SweepSpool(t.TempDir()); err != nil || k != 0 {
		t.Errorf("SweepSpool without tmp/: %d, %v", k, err)
	}
}

// /status is one document with snake_case keys throughout and a typed
// reachability.
func TestStatusDocument(t *testing.T) {
	node := &status.Node{ID: "v0-me", Nickname: "me", Addresses: []string{"127.0.0.1:1"}, Reachability: status.OutboundOnly,
		Peers: []status.Peer{{ID: "v0-peer", Service: "storage", Reachability: status.Public, Connected: true, KnownSince: time.Now()}}}
	a := startAPI(t, func(context.Context) *status.Node { return node })
	code, body := a.do("GET", "/status", nil)
	if code != 200 {
		t.Fatalf("status: %d %s", code, body)
	}
	var raw any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !snake.MatchString(k) {
					t.Errorf("key %s.%s is not snake_case", path, k)
				}
				walk(path+"."+k, x)
			}
		case []any:
			for _, x := range v {
				walk(path+"[]", x)
			}
		}
	}
	walk("", raw)
	var doc status.Document
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	connected := 0
	for _, s := range doc.Servers {
		if s.Connected && s.Available > 0 {
			connected++
		}
	}
	if connected != storagenode.LocalGridSize || doc.Params == nil || doc.Params.K < 1 || doc.Node == nil ||
		doc.Node.Reachability != status.OutboundOnly || doc.Node.Peers[0].Reachability != status.Public {
		t.Errorf("status document: %s", body)
	}
	for _, key := range []string{`"servers":`, `"available_space":`, `"params":{"shares_needed":`, `"shares_happy":`, `"shares_total":`,
		`"node":{"id":"v0-me"`, `"reachability":"outbound-only"`, `"storage_server":`} {
		if !strings.Contains(body, key) {
			t.Errorf("status lacks %s: %s", key, body)
		}
	}
}

// A PUT's cap is the convergent cap of its bytes whichever way the body
// came: small or spooled, with a Content-Length (key hashed on the way)
// or chunked (key hashed in a first pass over the spool).
func TestPutCapIsConvergent(t *testing.T) {
	a := startAPI(t, nil)
	for _, size := range []int{40, 100 << 10, inMemory + 12345} {
		data := []byte(strings.Repeat("convergent ", size/11+1)[:size])
		want, err := a.client.Imm.Upload(context.Background(), bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		code, withLength := a.do("PUT", "/uri", bytes.NewReader(data))
		if code != 201 || withLength != want.Cap.String() {
			t.Errorf("%d bytes with Content-Length: %d, cap differs from the client's: %v", size, code, withLength != want.Cap.String())
		}
		code, chunked := a.do("PUT", "/uri", struct{ io.Reader }{bytes.NewReader(data)}) // no length known
		if code != 201 || chunked != want.Cap.String() {
			t.Errorf("%d bytes chunked: %d, cap differs from the client's: %v", size, code, chunked != want.Cap.String())
		}
	}
}
