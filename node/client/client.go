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
// its static list and the announcements its introducers last sent (the
// running node keeps that cache).
func Open(dir string) (*Client, error) {
	servers, err := storagenode.DialAll(dir, nil)
	if err != nil {
		return nil, err
	}
	cached, running, err := dialViaNode(dir)
	if err != nil {
		return nil, err
	}
	if !running {
		if cached, err = dialCached(dir); err != nil {
			return nil, err
		}
	}
	servers = storage.Unique(cached, servers)
	if len(servers) == 0 {
		return nil, fmt.Errorf("no storage servers known in %s: start the local grid with 'lafs daemon' (or 'make run'), join a grid with 'lafs create-node --introducer' and 'lafs run', or list servers in %s", dir, config.ServersPath(dir))
	}
	return New(dir, servers)
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
		Dir:     dir,
		Imm:     &immutable.Client{Servers: servers, Params: p, Convergence: secrets.Convergence, LeaseSecret: secrets.Lease},
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

// nodeStatus is the part of the running node's /status used here.
type nodeStatus struct {
	Node struct {
		ID    string `json:"id"`
		Peers []struct {
			ID        string `json:"id"`
			Service   string `json:"service"`
			Connected bool   `json:"connected"`
		} `json:"peers"`
	}
}

// dialViaNode reaches the storage servers the running node is connected
// to through its web API's storage proxy, so that servers only the node
// can reach (behind NAT, over their own connection) are used too. running
// is false when no node answers.
func dialViaNode(dir string) (servers []storage.Server, running bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, "node.url"))
	if err != nil {
		return nil, false, nil
	}
	base := strings.TrimSpace(string(b))
	tb, err := os.ReadFile(filepath.Join(dir, "private", "api_auth_token"))
	if err != nil {
		return nil, false, nil
	}
	token := strings.TrimSpace(string(tb))
	req, _ := http.NewRequest(http.MethodGet, base+"status", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, false, nil // a node.url left behind by a node that stopped
	}
	defer resp.Body.Close()
	var st nodeStatus
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return nil, false, nil
	}
	anns, err := cachedStorage(dir)
	if err != nil {
		return nil, true, err
	}
	for _, p := range st.Node.Peers {
		a, ok := anns[p.ID]
		if !ok || !p.Connected || p.Service != introducer.ServiceStorage {
			continue
		}
		info, err := storagenode.InfoOf(p.ID, a.Storage())
		if err != nil {
			return nil, true, err
		}
		hc := &http.Client{Transport: proxy{base: base + strings.TrimPrefix(ProxyPath, "/") + p.ID, token: token}}
		c, err := gbs.DialOver(a.NURLs[0], hc, gbs.ClientOptions{Info: info})
		if err != nil {
			return nil, true, err
		}
		servers = append(servers, c)
	}
	// The node's own storage server, if it has one, is reached directly.
	if a, ok := anns[st.Node.ID]; ok {
		c, err := storagenode.Dial(st.Node.ID, a.Storage(), nil)
		if err != nil {
			return nil, true, err
		}
		servers = append(servers, c)
	}
	return servers, true, nil
}

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
