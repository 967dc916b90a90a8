package webapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/storagenode"
)

func TestWebAPI(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- storagenode.RunLocalGrid(ctx, filepath.Join(dir, "grid"), dir, storagenode.LocalGridSize, nil, func([]string) { close(ready) })
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("grid did not start")
	}
	c, err := client.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	token, err := LoadToken(dir)
	if err != nil || len(token) < 40 {
		t.Fatalf("token %q %v", token, err)
	}
	if again, _ := LoadToken(dir); again != token {
		t.Error("token changed on reload")
	}
	if st, _ := os.Stat(TokenPath(dir)); st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", st.Mode())
	}
	srv := httptest.NewServer(New(c, token))
	defer srv.Close()
	do := func(method, path, body, tok string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// No token, wrong token: 401 and nothing stored.
	if code, _ := do("PUT", "/uri", "secret plans", ""); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, _ := do("POST", "/uri?t=mkdir", "", "wrong"); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	content := strings.Repeat("web api upload\n", 100)
	code, fileCap := do("PUT", "/uri", content, token)
	if code != 201 || !strings.HasPrefix(fileCap, "URI:CHK:") {
		t.Fatalf("PUT /uri: %d %q", code, fileCap)
	}
	if code, got := do("GET", "/uri/"+url.PathEscape(fileCap), "", token); code != 200 || got != content {
		t.Fatalf("GET file: %d (%d bytes)", code, len(got))
	}
	code, dirCap := do("POST", "/uri?t=mkdir", "", token)
	if code != 200 || !strings.HasPrefix(dirCap, "URI:DIR2:") {
		t.Fatalf("mkdir: %d %q", code, dirCap)
	}
	if code, body := do("PUT", "/uri/"+url.PathEscape(dirCap)+"/notes/today.txt", "hello", token); code != 201 {
		t.Fatalf("PUT into directory: %d %s", code, body)
	}
	if code, got := do("GET", "/uri/"+url.PathEscape(dirCap)+"/notes/today.txt", "", token); code != 200 || got != "hello" {
		t.Fatalf("GET through directory: %d %q", code, got)
	}
	code, listing := do("GET", "/uri/"+url.PathEscape(dirCap)+"?t=json", "", token)
	var parsed []json.RawMessage
	if code != 200 || json.Unmarshal([]byte(listing), &parsed) != nil || !strings.Contains(listing, `"notes":["dirnode"`) {
		t.Fatalf("t=json: %d %s", code, listing)
	}
	if code, _ := do("POST", "/uri/"+url.PathEscape(dirCap)+"/a/b?t=mkdir", "", token); code != 200 {
		t.Errorf("deep mkdir: %d", code)
	}
	code, check := do("POST", "/uri/"+url.PathEscape(fileCap)+"?t=check&verify=true", "", token)
	if code != 200 || !strings.Contains(check, `"healthy":true`) {
		t.Errorf("check: %d %s", code, check)
	}
	code, status := do("GET", "/status", "", token)
	if code != 200 || strings.Count(status, `"connected":true`) != 10 || !strings.Contains(status, `"params":{"shares_needed":`) {
		t.Errorf("status: %d %s", code, status)
	}
	// Wrong inputs.
	if code, _ := do("GET", "/uri/URI:CHK:broken", "", token); code != 400 {
		t.Errorf("malformed cap: %d", code)
	}
	if code, _ := do("GET", "/uri/"+url.PathEscape(dirCap)+"/missing", "", token); code != 404 {
		t.Errorf("missing entry: %d", code)
	}
	if code, _ := do("POST", "/uri", "", token); code != 400 {
		t.Errorf("POST /uri without t: %d", code)
	}

	// A large file: the upload is spooled to NODEDIR/tmp (and removed),
	// the download streams with its length announced.
	big := strings.Repeat("0123456789abcdef", 3<<16) // 3 MiB
	code, bigCap := do("PUT", "/uri", big, token)
	if code != 201 {
		t.Fatalf("PUT 3 MiB: %d %s", code, bigCap)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Errorf("spooled uploads left behind: %v", left)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/uri/"+url.PathEscape(bigCap), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.ContentLength != int64(len(big)) || string(got) != big {
		t.Fatalf("GET 3 MiB: length header %d, read %d bytes, %v", resp.ContentLength, len(got), err)
	}
	// Every share damaged late in its data: the first segments stream,
	// then the download fails, and the client must see a cut connection,
	// not a short file that looks complete.
	damaged := 0
	filepath.WalkDir(filepath.Join(dir, "grid"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, "shares") || strings.Contains(p, "incoming") {
			return nil
		}
		b, _ := os.ReadFile(p)
		if len(b) < 1<<20 { // the 3 MiB file's shares are about 1 MiB
			return nil
		}
		for i := len(b) * 7 / 10; i < len(b)*7/10+4096; i++ {
			b[i] ^= 0xff
		}
		os.WriteFile(p, b, 0o600)
		damaged++
		return nil
	})
	if damaged != 10 {
		t.Fatalf("damaged %d shares, want 10", damaged)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || err == nil || len(got) == 0 || len(got) >= len(big) {
		t.Fatalf("GET of a file that breaks midway: status %d, %d bytes, err %v (want 200, a partial body and a read error)", resp.StatusCode, len(got), err)
	}
}
