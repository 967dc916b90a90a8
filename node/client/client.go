// Package client is a client node's view of the grid built from its node
// directory: the storage servers of its static list, its secrets and
// encoding parameters, and its aliases. The CLI's file commands and the web
// API both work through it.
package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/gbs"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/status"
	"github.com/lafssync/lafssync/node/storagenode"
)

// Client holds the servers of the node's static list, the client's
// secrets and parameters, and its aliases.
type Client struct {
	Dir     string
	Imm     *immutable.Client
	Dirs    *dirnode.Client
	Aliases map[string]string
}

// Open builds the client of the node directory dir over the servers of
// its static list and, when its node runs, the storage servers that node
// uses now (those it reaches directly or relayed and those it reaches
// through its upload helper; see dialViaNode), or else the publicly
// reachable servers its introducers last announced (the node keeps that
// cache). With no server at all it fails with a *NoServersError.
func Open(dir string) (*Client, error) {
	static, err := storagenode.DialAll(dir, nil)
	if err != nil {
		return nil, err
	}
	staticIDs := map[string]bool{}
	for _, c := range static {
		staticIDs[c.Info().ID] = true
	}
	v, err := dialViaNode(dir, staticIDs)
	if err != nil {
		return nil, err
	}
	var cached []storage.Server
	if v != nil {
		cached = v.servers
	} else if cached, err = dialCached(dir); err != nil {
		return nil, err
	}
	// The static list first: the CLI dials those servers itself, as the
	// node does.
	servers := storage.Unique(static, cached)
	if len(servers) == 0 {
		e := &NoServersError{Dir: dir}
		if v != nil {
			e.Running, e.Known = true, v.known
		}
		return nil, e
	}
	return New(dir, servers)
}

// NoServersError is a client with no storage server to use.
type NoServersError struct {
	Dir string
	// Running is set when the node of Dir runs; Known is how many storage
	// servers that node knows of (announced to it), none of which it
	// reaches now.
	Running bool
	Known   int
}

func (e *NoServersError) Error() string {
	if e.Running && e.Known > 0 {
		servers := fmt.Sprintf("%d storage servers", e.Known)
		if e.Known == 1 {
			servers = "1 storage server"
		}
		return fmt.Sprintf("the node running in %s knows %s but reaches none of them: it has no connection to them (direct or relayed) "+
			"and no upload helper that reaches them. 'lafs -d %s reachability' says why and what to do "+
			"(an upload helper or a relay on a public node of the grid, or a port forward to this node)",
			e.Dir, servers, ShellQuote(e.Dir))
	}
	if e.Running {
		return fmt.Sprintf("the node running in %s knows no storage servers yet: is its introducer reachable ('lafs -d %s status')? "+
			"Or list servers in %s", e.Dir, ShellQuote(e.Dir), config.ServersPath(e.Dir))
	}
	return fmt.Sprintf("no storage servers known in %s: start the local grid with 'lafs daemon' (or 'make run'), join a grid with 'lafs create-node --introducer' and 'lafs run', or list servers in %s", e.Dir, config.ServersPath(e.Dir))
}

// New builds the client of the node directory dir over servers.
func New(dir string, servers []storage.Server) (*Client, error) {
	secrets, err := config.LoadClientSecrets(dir)
	if err != nil {
		return nil, err
	}
	p := immutable.DefaultParams()
	if c, err := config.Load(dir); err == nil {
		p.K, p.Happy, p.N = c.SharesNeeded, c.SharesHappy, c.SharesTotal
	}
	aliases, err := config.LoadAliases(dir)
	if err != nil {
		return nil, err
	}
	return &Client{
		Dir: dir,
		Imm: &immutable.Client{Servers: servers, Params: p, Convergence: secrets.Convergence, LeaseSecret: secrets.Lease,
			Versions: immutable.NewVersionCache(immutable.DefaultVersionMaxAge)},
		Dirs:    &dirnode.Client{Servers: servers, Options: mutable.Options{K: p.K, N: p.N, LeaseSecret: secrets.Lease}},
		Aliases: aliases,
	}, nil
}

// WithServers is a copy of e that uses servers.
func (e *Client) WithServers(servers []storage.Server) *Client {
	c := *e
	imm, dirs := *e.Imm, *e.Dirs
	imm.Servers, dirs.Servers = servers, servers
	c.Imm, c.Dirs = &imm, &dirs
	return &c
}

// cachedStorage returns the storage announcements in the node's
// introducer caches, newest per server.
func cachedStorage(dir string) (map[string]introducer.Announcement, error) {
	intros, err := config.LoadIntroducers(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]introducer.Announcement{}
	for pet := range intros {
		ks, err := introducer.ReadCache(introducer.CacheFile(filepath.Join(dir, "private"), pet))
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			if k.Ann.ServiceName != introducer.ServiceStorage || len(k.Ann.NURLs) == 0 {
				continue
			}
			if old, ok := out[k.Node]; !ok || old.Seqnum < k.Ann.Seqnum {
				out[k.Node] = k.Ann
			}
		}
	}
	return out, nil
}

// dialCached dials the publicly reachable storage servers in the node's
// introducer caches (the node is not running).
func dialCached(dir string) ([]storage.Server, error) {
	anns, err := cachedStorage(dir)
	if err != nil {
		return nil, err
	}
	var out []storage.Server
	for id, a := range anns {
		if a.Reachability == introducer.OutboundOnly {
			continue // reachable only through a running node's connection
		}
		c, err := storagenode.Dial(id, a.Storage(), nil)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// The running node's storage proxy (served by node/webapi).
const (
	// ProxyPath prefixes /storage-proxy/SERVER-ID/<GBS path>.
	ProxyPath = "/storage-proxy/"
	// ProxyHeader carries the API token on proxy requests, whose
	// Authorization header is the storage server's (the swissnum).
	ProxyHeader = "X-LAFS-API-Token"
)

// viaNode is what the running node gives the CLI: the storage servers it
// uses now, reached through it, and how many it knows of.
type viaNode struct {
	servers []storage.Server
	known   int
}

// dialViaNode reaches the storage servers the running node's client uses
// now — the servers of its /status document: the ones it is connected to
// (directly or relayed) and the ones it reaches through its upload helper
// (docs/helper.md) — through its web API's storage proxy, so that servers
// only the node can reach (behind NAT, over their own connection or the
// helper's) are used too. The node's own storage server is dialed
// directly, and servers with no cached announcement (the static list) are
// left to DialAll. It is nil when no node answers.
func dialViaNode(dir string, static map[string]bool) (*viaNode, error) {
	b, err := os.ReadFile(filepath.Join(dir, "node.url"))
	if err != nil {
		return nil, nil
	}
	base := strings.TrimSpace(string(b))
	token, err := ReadToken(dir)
	if err != nil || token == "" {
		return nil, nil
	}
	req, err := http.NewRequest(http.MethodGet, base+"status", nil)
	if err != nil {
		return nil, nil // a node.url that is no URL: no node answers there
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		return nil, nil // a node.url left behind by a node that stopped
	}
	defer resp.Body.Close()
	var st status.Document
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, maxStatus)).Decode(&st) != nil || st.Node == nil {
		return nil, nil
	}
	anns, err := cachedStorage(dir)
	if err != nil {
		return nil, err
	}
	// The node writes its introducers' announcements to its cache a
	// moment after it hears them, so a command run just after the node
	// connected can find a connected server the cache does not have yet
	// (and, with none of them there, fail with "reaches none of them").
	// Wait for the cache, a bounded while.
	uncached := func() bool {
		for _, s := range st.Servers {
			if _, ok := anns[s.ID]; s.Connected && !ok && s.ID != st.Node.ID && !static[s.ID] {
				return true
			}
		}
		return false
	}
	for i := 0; i < cacheWaits && uncached(); i++ {
		time.Sleep(cacheWait)
		if anns, err = cachedStorage(dir); err != nil {
			return nil, err
		}
	}
	v := &viaNode{}
	known := map[string]bool{}
	for _, p := range st.Node.Peers {
		if p.Service == introducer.ServiceStorage {
			known[p.ID] = true
		}
	}
	// The node's own storage server, if it has one, is reached directly.
	if a, ok := anns[st.Node.ID]; ok {
		c, err := storagenode.Dial(st.Node.ID, a.Storage(), nil)
		if err != nil {
			return nil, err
		}
		v.servers = append(v.servers, c)
		known[st.Node.ID] = true
	}
	for _, s := range st.Servers {
		known[s.ID] = true
		a, ok := anns[s.ID]
		if !ok || s.ID == st.Node.ID {
			continue // a server of the static list (DialAll has it), or the node's own
		}
		info, err := storagenode.InfoOf(s.ID, a.Storage())
		if err != nil {
			return nil, err
		}
		hc := &http.Client{Transport: proxy{base: base + strings.TrimPrefix(ProxyPath, "/") + s.ID, token: token}}
		c, err := gbs.DialOver(a.NURLs[0], hc, gbs.ClientOptions{Info: info})
		if err != nil {
			return nil, err
		}
		v.servers = append(v.servers, c)
	}
	v.known = len(known)
	return v, nil
}

// cacheWaits × cacheWait bounds how long Open waits for the node's
// announcement cache to name a server the node is connected to.
const (
	cacheWaits = 30
	cacheWait  = 100 * time.Millisecond
)

// maxStatus bounds the status document read from the node.
const maxStatus = 16 << 20

// proxy sends storage requests through the node's storage proxy.
type proxy struct{ base, token string }

func (p proxy) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	u, err := url.Parse(p.base + r.URL.Path)
	if err != nil {
		return nil, err
	}
	u.RawQuery = r.URL.RawQuery
	out.URL, out.Host = u, ""
	out.Header.Set(ProxyHeader, p.token)
	return http.DefaultTransport.RoundTrip(out)
}

// Download writes the file c names (immutable or mutable) to w.
func (e *Client) Download(ctx context.Context, c cap.Cap, w io.Writer) error {
	switch {
	case c.IsDir():
		return fmt.Errorf("%s is a directory: use 'lafs ls'", c.Kind())
	case c.IsMutable():
		f, err := mutable.Open(c.String(), e.Dirs.Servers, e.Dirs.Options)
		if err != nil {
			return err
		}
		data, _, err := f.Read(ctx)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	_, err := e.Imm.Download(ctx, c, w)
	return err
}
