package introducer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/transport"
)

func key(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerify(t *testing.T) {
	k := key(t)
	a := New(ServiceStorage, "alice", 3)
	a.NURLs = []string{"pb://x@tcp:127.0.0.1:1/y#v=1"}
	s, err := Sign(a, k)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Sig, "v0-") || !strings.HasPrefix(s.Key, "v0-") || len(s.Key) != 3+52 || len(s.Sig) != 3+103 {
		t.Fatalf("not Tahoe's v0- form: sig %q key %q", s.Sig, s.Key)
	}
	// The signature covers the exact JSON bytes, which carry Tahoe's keys.
	var dict map[string]any
	json.Unmarshal([]byte(s.Msg), &dict)
	for _, f := range []string{"service-name", "nickname", "seqnum", "nonce", "my-version", "oldest-supported", "anonymous-storage-NURLs"} {
		if _, ok := dict[f]; !ok {
			t.Errorf("announcement JSON lacks %q: %s", f, s.Msg)
		}
	}
	got, node, err := Verify(s)
	if err != nil || node != s.Key || got.Nickname != "alice" || got.Seqnum != 3 {
		t.Fatalf("Verify = %+v %q %v", got, node, err)
	}
	other := key(t)
	bad := []struct {
		name string
		s    Signed
		want string
	}{
		{"tampered body", Signed{Msg: strings.Replace(s.Msg, "alice", "mallory", 1), Sig: s.Sig, Key: s.Key}, "does not verify"},
		{"another node's key", Signed{Msg: s.Msg, Sig: s.Sig, Key: "v0-" + s.Key[3:4] + strings.Repeat("a", 51)}, ""},
		{"signed by another key", func() Signed { x, _ := Sign(a, other); x.Key = s.Key; return x }(), "does not verify"},
		{"no v0- on key", Signed{Msg: s.Msg, Sig: s.Sig, Key: s.Key[3:]}, "v0-"},
		{"no v0- on sig", Signed{Msg: s.Msg, Sig: s.Sig[3:], Key: s.Key}, "v0-"},
		{"short sig", Signed{Msg: s.Msg, Sig: s.Sig[:40], Key: s.Key}, "signature"},
		{"huge", Signed{Msg: strings.Repeat(" ", MaxSize+1), Sig: s.Sig, Key: s.Key}, "more than"},
	}
	for _, b := range bad {
		if _, _, err := Verify(b.s); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", b.name, err, b.want)
		}
	}
	// A correctly signed body that is not an announcement.
	junk := Signed{Msg: "[1,2]", Key: s.Key, Sig: "v0-" + b32(ed25519.Sign(k, []byte("[1,2]")))}
	if _, _, err := Verify(junk); err == nil {
		t.Error("signed non-announcement accepted")
	}
}

func TestParseURL(t *testing.T) {
	id := "v0-" + strings.Repeat("a", 52)
	u, err := ParseURL("lafs://" + id + "@127.0.0.1:5000,[::1]:5001")
	if err != nil || u.ID != id || len(u.Addrs) != 2 || u.Addrs[1] != "[::1]:5001" {
		t.Fatalf("ParseURL = %+v, %v", u, err)
	}
	if again, _ := ParseURL(u.String()); again.String() != u.String() {
		t.Fatalf("round trip %q → %q", u.String(), again.String())
	}
	for in, want := range map[string]string{
		"pb://abc@tcp:1.2.3.4:5/introducer": "Foolscap",
		"lafs://127.0.0.1:5000":             "NODEID@",
		"lafs://v0-abc@127.0.0.1:5000":      "52 base32",
		"lafs://" + id + "@nohostport":      "HOST:PORT",
		"lafs://" + id + "@":                "HOST:PORT",
	} {
		if _, err := ParseURL(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%q) = %v, want an error mentioning %q", in, err, want)
		}
	}
}

// logBuffer collects log lines safely.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type peer struct {
	*transport.Node
	key  ed25519.PrivateKey
	addr string
}

func startPeer(t *testing.T, h http.Handler, log *slog.Logger) *peer {
	t.Helper()
	k := key(t)
	id, err := transport.NewIdentity(k)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		h = http.NotFoundHandler()
	}
	n := transport.New(id, h, nil, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; n.Close() })
	return &peer{Node: n, key: k, addr: ln.Addr().String()}
}

func follow(t *testing.T, p *peer, intro *peer, own *Signed, dir string) *Client {
	t.Helper()
	c := &Client{T: p.Node, Introducers: map[string]URL{"default": {ID: intro.ID(), Addrs: []string{intro.addr}}},
		CacheDir: dir, Backoff: transport.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}}
	if own != nil {
		c.Own = func() (Signed, bool) { return *own, true }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, what, 15*time.Second, cond)
}

func TestPublishSubscribeAndCache(t *testing.T) {
	logs := &logBuffer{}
	srv := NewServer(slog.New(slog.NewTextHandler(logs, nil)))
	intro := startPeer(t, srv.Handler(), nil)

	s1, s2 := startPeer(t, nil, nil), startPeer(t, nil, nil)
	a1, _ := Sign(New(ServiceStorage, "one", 1), s1.key)
	a2, _ := Sign(New(ServiceStorage, "two", 1), s2.key)
	follow(t, s1, intro, &a1, "")
	follow(t, s2, intro, &a2, "")

	cacheDir := t.TempDir()
	cl := startPeer(t, nil, nil)
	c := follow(t, cl, intro, nil, cacheDir)
	waitFor(t, "both announcements at the client", func() bool { return len(c.Nodes()) == 2 })
	if got := c.Nodes()[s1.ID()].Ann.Nickname; got != "one" {
		t.Fatalf("node one's nickname = %q", got)
	}
	waitFor(t, "the introducer's status to say it was heard", func() bool {
		st := c.Status()
		return len(st) == 1 && st[0].Connected && !st[0].LastHeard.IsZero() && st[0].LastError == ""
	})

	// A forged announcement: s2 publishes one signed by s1's key over its
	// own connection. Refused, logged, and the introducer goes on.
	forged, _ := Sign(New(ServiceStorage, "evil", 9), s1.key)
	if code := post(t, s2, intro, forged); code != http.StatusForbidden {
		t.Fatalf("forged announcement got %d", code)
	}
	tampered := a2
	tampered.Msg = strings.Replace(a2.Msg, "two", "owt", 1)
	if code := post(t, s2, intro, tampered); code != http.StatusBadRequest {
		t.Fatalf("tampered announcement got %d", code)
	}
	if code := postRaw(t, s2, intro, []byte("{not json")); code != http.StatusBadRequest {
		t.Fatalf("malformed announcement got %d", code)
	}
	// A replay of an older seqnum is refused; a newer one replaces.
	newer, _ := Sign(New(ServiceStorage, "two-b", 2), s2.key)
	if code := post(t, s2, intro, newer); code != http.StatusNoContent {
		t.Fatalf("newer announcement got %d", code)
	}
	older, _ := Sign(New(ServiceStorage, "two-old", 1), s2.key)
	if code := post(t, s2, intro, older); code != http.StatusConflict {
		t.Fatalf("stale seqnum got %d", code)
	}
	if !strings.Contains(logs.String(), "refused an announcement") {
		t.Fatalf("no log line for the refusals:\n%s", logs.String())
	}
	waitFor(t, "the newer announcement at the client", func() bool { return c.Nodes()[s2.ID()].Ann.Nickname == "two-b" })
	if n := c.Nodes()[s1.ID()].Ann.Nickname; n != "one" {
		t.Fatalf("the forgery reached the client: %q", n)
	}

	// The cache holds what was heard; a client started while the
	// introducer is unreachable begins with it.
	waitFor(t, "the cache file with the newer announcement", func() bool {
		k, _ := ReadCache(CacheFile(cacheDir, "default"))
		return len(k) == 2 && (k[0].Ann.Nickname == "two-b" || k[1].Ann.Nickname == "two-b")
	})
	offline := &Client{T: startPeer(t, nil, nil).Node, CacheDir: cacheDir}
	if k, err := offline.LoadCache("default"); err != nil || k != 2 || offline.Nodes()[s2.ID()].Ann.Nickname != "two-b" {
		t.Fatalf("LoadCache = %d, %v, %+v", k, err, offline.Nodes())
	}
}

// An introducer that knows its maximum of nodes refuses new ones (and
// still takes updates from those it knows).
func TestIntroducerFull(t *testing.T) {
	srv := NewServer(nil)
	srv.MaxNodes = 2
	intro := startPeer(t, srv.Handler(), nil)
	var peers []*peer
	for i := 0; i < 3; i++ {
		p := startPeer(t, nil, nil)
		if err := p.Dial(context.Background(), intro.addr, intro.ID()); err != nil {
			t.Fatal(err)
		}
		peers = append(peers, p)
	}
	for i, p := range peers {
		s, _ := Sign(New(ServiceStorage, fmt.Sprint(i), 1), p.key)
		want := http.StatusNoContent
		if i == 2 {
			want = http.StatusInsufficientStorage
		}
		if code := post(t, p, intro, s); code != want {
			t.Fatalf("node %d: %d, want %d", i, code, want)
		}
	}
	s, _ := Sign(New(ServiceStorage, "0-again", 2), peers[0].key)
	if code := post(t, peers[0], intro, s); code != http.StatusNoContent || srv.Count() != 2 {
		t.Fatalf("update from a known node when full: %d, %d nodes", code, srv.Count())
	}
}

// The introducer refuses announcements over plain HTTP (no peer key).
func TestPublishNeedsTransport(t *testing.T) {
	srv := NewServer(nil)
	k := key(t)
	s, _ := Sign(New(ServiceStorage, "x", 1), k)
	body, _ := json.Marshal(s)
	req, _ := http.NewRequest(http.MethodPost, PublishPath, bytes.NewReader(body))
	rec := &recorder{header: http.Header{}}
	srv.Handler().ServeHTTP(rec, req)
	if rec.code != http.StatusForbidden || srv.Count() != 0 {
		t.Fatalf("plain publish: %d, %d announcements", rec.code, srv.Count())
	}
}

type recorder struct {
	header http.Header
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(c int)           { r.code = c }

func post(t *testing.T, from, intro *peer, s Signed) int {
	b, _ := json.Marshal(s)
	return postRaw(t, from, intro, b)
}

func postRaw(t *testing.T, from, intro *peer, body []byte) int {
	t.Helper()
	resp, err := from.HTTPClient(intro.ID()).Post("http://introducer"+PublishPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func FuzzVerify(f *testing.F) {
	k := key(f)
	s, _ := Sign(New(ServiceStorage, "seed", 1), k)
	f.Add(s.Msg, s.Sig, s.Key)
	f.Add("{}", "v0-", "v0-")
	f.Fuzz(func(t *testing.T, msg, sig, key string) {
		a, node, err := Verify(Signed{Msg: msg, Sig: sig, Key: key})
		if err == nil && (node != key || a.ServiceName == "") {
			t.Fatalf("accepted %q by %q", msg, node)
		}
		if err != nil && errors.Is(err, ErrBadSignature) && msg == s.Msg && sig == s.Sig && key == s.Key {
			t.Fatal("rejected a good signature")
		}
	})
}

func FuzzParseURL(f *testing.F) {
	f.Add("lafs://v0-" + strings.Repeat("a", 52) + "@127.0.0.1:1")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		if again, err := ParseURL(u.String()); err != nil || again.String() != u.String() {
			t.Fatalf("%q parsed to %q which does not round-trip: %v", s, u.String(), err)
		}
	})
}

func b32(b []byte) string { return base32.Encode(b) }

// A long poll that times out returns the list already held: the client
// neither verifies it again nor rewrites its cache (an idle node's grid
// of ten servers did both every 50 s each); a change is still cached.
func TestUnchangedListIsNotCachedAgain(t *testing.T) {
	srv := NewServer(slog.New(slog.DiscardHandler))
	intro := startPeer(t, srv.Handler(), nil)
	s1 := startPeer(t, nil, nil)
	a1, _ := Sign(New(ServiceStorage, "one", 1), s1.key)
	follow(t, s1, intro, &a1, "")

	cacheDir := t.TempDir()
	cl := startPeer(t, nil, nil)
	c := &Client{T: cl.Node, Introducers: map[string]URL{"default": {ID: intro.ID(), Addrs: []string{intro.addr}}},
		CacheDir: cacheDir, LongPoll: 20 * time.Millisecond, Backoff: transport.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	path := CacheFile(cacheDir, "default")
	waitFor(t, "the first announcement cached", func() bool { k, _ := ReadCache(path); return len(k) == 1 })
	// Removed here, the cache comes back only if the client writes it.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	heard := c.Status()[0].LastHeard
	waitFor(t, "several long polls to time out", func() bool { return c.Status()[0].LastHeard.Sub(heard) > 200*time.Millisecond })
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the cache was written again though the introducer's list had not changed (stat: %v)", err)
	}

	s2 := startPeer(t, nil, nil)
	a2, _ := Sign(New(ServiceStorage, "two", 1), s2.key)
	follow(t, s2, intro, &a2, "")
	waitFor(t, "the new announcement cached", func() bool { k, _ := ReadCache(path); return len(k) == 2 })
}
