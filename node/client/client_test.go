package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/storage/mem"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/gbs"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/status"
	"github.com/lafssync/lafssync/node/storagenode"
)

// fakeServer is an announced storage server that only the fake node can
// reach: its NURL names a closed port, and its GBS handler is served on
// the node's storage proxy.
type fakeServer struct {
	id      string
	backend *mem.Server
	gbs     http.Handler
}

// fakeNode is a running node's web API as node/client sees it: /status
// and the storage proxy, behind the API token. proxied counts the storage
// requests it forwarded.
type fakeNode struct {
	t       *testing.T
	token   string
	doc     status.Document
	servers map[string]*fakeServer
	proxied atomic.Int64
}

func (n *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, ProxyPath); ok {
		if r.Header.Get(ProxyHeader) != n.token {
			http.Error(w, "token", http.StatusUnauthorized)
			return
		}
		id, path, _ := strings.Cut(rest, "/")
		s := n.servers[id]
		if s == nil {
			http.Error(w, "no connection", http.StatusBadGateway)
			return
		}
		n.proxied.Add(1)
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = "/"+path, ""
		s.gbs.ServeHTTP(w, r2)
		return
	}
	if r.URL.Path != "/status" || r.Header.Get("Authorization") != "Bearer "+n.token {
		http.Error(w, "not here", http.StatusNotFound)
		return
	}
	json.NewEncoder(w).Encode(n.doc)
}

// newNodeDir makes a client node directory whose introducer cache
// announces n storage servers, with k=1, happy=total=n, and a fake running
// node (node.url, API token) that knows those servers and reaches none
// yet: the test fills in doc.Servers and servers.
func newNodeDir(t *testing.T, n int) (string, *fakeNode, []*fakeServer) {
	t.Helper()
	dir := t.TempDir()
	c, err := storagenode.Create(dir, storagenode.CreateOptions{Nickname: "client", Introducers: map[string]string{"grid": "lafs://introducer.invalid/x"}})
	if err != nil {
		t.Fatal(err)
	}
	c.SharesNeeded, c.SharesHappy, c.SharesTotal = 1, n, n
	if err := config.Save(dir, c); err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Signed introducer.Signed `yaml:"signed"`
	}
	var entries []entry
	var servers []*fakeServer
	for i := range n {
		pub, key, _ := ed25519.GenerateKey(rand.Reader)
		id := "v0-" + base32.Encode(pub)
		swiss := fmt.Sprintf("swissnum-of-server-%d", i)
		spki := make([]byte, 32)
		a := introducer.New(introducer.ServiceStorage, fmt.Sprintf("s%d", i), 1)
		a.NURLs = []string{fmt.Sprintf("pb://%s@127.0.0.1:1/%s#v=1", base64.RawURLEncoding.EncodeToString(spki), swiss)}
		a.FURL = fmt.Sprintf("pb://%s@tcp:127.0.0.1:1/%s", base32.Encode(pub[:20]), swiss)
		a.PermutationSeed = base32.Encode(pub[:20])
		a.Reachability = introducer.OutboundOnly
		signed, err := introducer.Sign(a, key)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{signed})
		backend := mem.New(fmt.Sprintf("s%d", i))
		servers = append(servers, &fakeServer{id: id, backend: backend, gbs: gbs.NewServer(backend, []byte(swiss), nil)})
	}
	b, err := yaml.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(introducer.CacheFile(filepath.Join(dir, "private"), "grid"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	node := &fakeNode{t: t, token: "api-token-for-the-test", servers: map[string]*fakeServer{}}
	node.doc = status.Document{Servers: []status.Server{}, Params: &status.Params{K: 1, Happy: n, N: n},
		Node: &status.Node{ID: "v0-theclientnode", Peers: []status.Peer{}}}
	for i, s := range servers {
		node.doc.Node.Peers = append(node.doc.Node.Peers, status.Peer{ID: s.id, Nickname: fmt.Sprintf("s%d", i), Service: introducer.ServiceStorage})
	}
	hs := httptest.NewServer(node)
	t.Cleanup(hs.Close)
	if err := os.WriteFile(filepath.Join(dir, "node.url"), []byte(hs.URL+"/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "private", "api_auth_token"), []byte(node.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, node, servers
}

// A running node that knows two storage servers but reaches neither (a
// NATted client with no helper or relay) is not "no storage servers
// known … start the local grid": the error says it knows them, reaches
// none, and points to lafs reachability.
func TestOpenSaysTheNodeKnowsServersItCannotReach(t *testing.T) {
	dir, _, _ := newNodeDir(t, 2)
	_, err := Open(dir)
	var ne *NoServersError
	if !errors.As(err, &ne) || !ne.Running || ne.Known != 2 {
		t.Fatalf("Open = %v, want a *NoServersError for a running node that knows 2 servers", err)
	}
	msg := err.Error()
	for _, want := range []string{"knows 2 storage servers but reaches none of them", "'lafs -d " + dir + " reachability' says why and what to do",
		"upload helper", "relay", "port forward"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "start the local grid") || strings.Contains(msg, "no storage servers known") {
		t.Errorf("the error says no servers are known: %s", msg)
	}
}

// With no node running and no server it can dial, the error still says
// how to get a grid.
func TestOpenWithoutNodeOrServers(t *testing.T) {
	dir, _, _ := newNodeDir(t, 2)
	os.Remove(filepath.Join(dir, "node.url"))
	_, err := Open(dir)
	var ne *NoServersError
	if !errors.As(err, &ne) || ne.Running || !strings.Contains(err.Error(), "start the local grid with 'lafs daemon'") {
		t.Fatalf("Open = %v, want the no-grid error", err)
	}
}

// The CLI uses every server the running node's client uses — including
// ones it has no connection to but reaches through its upload helper
// (listed in /status servers, not as connected peers) — through the
// node's storage proxy: a file put through the client lands a share on
// each and reads back.
func TestOpenUsesTheServersTheNodeReachesThroughItsHelper(t *testing.T) {
	dir, node, servers := newNodeDir(t, 2)
	for _, s := range servers {
		node.doc.Servers = append(node.doc.Servers, status.Server{ID: s.id, Nickname: s.backend.Info().Nickname, Connected: true})
		node.servers[s.id] = s // the node's proxy reaches it (through the helper)
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Imm.Servers); got != 2 {
		t.Fatalf("the client has %d servers, want the node's 2", got)
	}
	ctx := context.Background()
	data := bytes.Repeat([]byte("through the node's helper\n"), 4000)
	up, err := c.Imm.Upload(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	si, _ := up.Cap.StorageIndex()
	for _, s := range servers {
		if shs, err := s.backend.ListShares(ctx, si); err != nil || len(shs) == 0 {
			t.Errorf("server %s holds no share of the upload (%v)", s.backend.Info().Nickname, err)
		}
	}
	var back bytes.Buffer
	if err := c.Download(ctx, up.Cap, &back); err != nil || !bytes.Equal(back.Bytes(), data) {
		t.Fatalf("download: %d bytes, %v", back.Len(), err)
	}
	if _, err := c.Dirs.Create(ctx); err != nil {
		t.Fatalf("mkdir through the node: %v", err)
	}
	if node.proxied.Load() == 0 {
		t.Error("no storage request went through the node's proxy")
	}
}

// The node writes its introducer cache a moment after it connects to the
// servers announced there: a command run in between (the CI flake of
// TestLinkCommandsOnLocalGrid, "knows 10 storage servers but reaches none
// of them" right after the local grid was up) waits for the cache, a
// bounded while, instead of failing.
func TestOpenWaitsForTheCacheOfConnectedServers(t *testing.T) {
	dir, node, servers := newNodeDir(t, 2)
	for _, s := range servers {
		node.doc.Servers = append(node.doc.Servers, status.Server{ID: s.id, Nickname: s.backend.Info().Nickname, Connected: true})
		node.servers[s.id] = s
	}
	cache := introducer.CacheFile(filepath.Join(dir, "private"), "grid")
	b, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(cache)
	written := make(chan struct{})
	go func() {
		defer close(written)
		time.Sleep(400 * time.Millisecond)
		os.WriteFile(cache, b, 0o600)
	}()
	c, err := Open(dir)
	<-written
	if err != nil {
		t.Fatalf("Open while the cache was 0.4 s behind: %v", err)
	}
	if got := len(c.Imm.Servers); got != 2 {
		t.Fatalf("the client has %d servers, want the node's 2", got)
	}
	// A connected server the cache never names costs a bounded wait,
	// then the error as before.
	os.Remove(cache)
	start := time.Now()
	if _, err := Open(dir); err == nil {
		t.Fatal("Open with no cache at all found servers")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Open waited %v for a cache that never came", d)
	}
}
