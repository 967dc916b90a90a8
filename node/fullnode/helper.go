package fullnode

import (
	"context"
	"net/http"
	"path/filepath"
	"sort"
	"sync"

	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/gbs"
	"github.com/lafssync/lafssync/node/helper"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/storagenode"
)

// The upload helper (docs/helper.md). A node with [helper] enabled serves
// node/helper's routes on the peer mux and announces lafssync-helper. A
// client node with [client] helper = auto (the default) or a helper's
// node ID uses one:
//
//   - immutable uploads go through the helper when it is set by ID
//     (always, as Tahoe's helper.furl), or, under auto, when the storage
//     servers the node reaches directly cannot make shares.happy;
//   - every announced storage server the node has no direct connection
//     to is used through the helper (storage calls forwarded), so
//     downloads and mutable files reach the servers behind it.
//
// Under auto the helper is the connected announced helper with the
// smallest node ID (a stable choice); off uses none.

// helperState is the node's helper settings and, on a helper, its server.
type helperState struct {
	cfgMu  sync.Mutex // guards cfg, err, loaded
	cfg    config.Helper
	err    error
	loaded bool // cfg is read; reloadHelperConfig clears it (reach_reload.go)

	mu  sync.Mutex // guards srv, via
	srv *helper.Server
	via map[string]viaEntry // forwarded servers by storage server ID
}

// viaEntry is one storage server reached through one helper.
type viaEntry struct {
	helper string
	signed introducer.Signed
	server storage.Server
}

func (n *Node) helperConfig() (config.Helper, error) {
	n.helper.cfgMu.Lock()
	defer n.helper.cfgMu.Unlock()
	if !n.helper.loaded {
		n.helper.cfg, n.helper.err = config.LoadHelper(n.Dir)
		n.helper.loaded = true
	}
	return n.helper.cfg, n.helper.err
}

// helperServes says whether this node is an upload helper (announced).
func (n *Node) helperServes() bool {
	c, err := n.helperConfig()
	return err == nil && c.Enabled
}

// startHelper serves the helper routes when [helper] enabled, until ctx
// ends. Called after startClient: the helper places shares with the
// node's grid client.
func (n *Node) startHelper(ctx context.Context, wg *sync.WaitGroup, peerMux *http.ServeMux) error {
	c, err := n.helperConfig()
	if err != nil {
		return err
	}
	if !c.Enabled {
		return nil
	}
	srv, err := helper.New(helper.Config{
		Dir: filepath.Join(n.Dir, "helper"),
		Grid: func() *immutable.Client {
			cl := n.Client()
			if cl == nil {
				return nil
			}
			imm := *cl.Imm
			imm.Servers = n.directServers() // never through another helper
			return &imm
		},
		Storage: n.storagePeer,
		Limits: helper.Limits{MaxUploadsPerClient: c.MaxUploadsPerClient, MaxSpoolPerClient: int64(c.MaxSpoolPerClient),
			MaxSpoolTotal: int64(c.MaxSpoolTotal), ReservedSpace: int64(c.ReservedSpace), IdleTimeout: c.IdleTimeout, ReceiveRate: int64(c.MaxReceiveRate)},
		Logger: n.log.With("role", "helper"),
	})
	if err != nil {
		return err
	}
	n.helper.mu.Lock()
	n.helper.srv = srv
	n.helper.mu.Unlock()
	peerMux.Handle(helper.PathPrefix, srv.Handler())
	wg.Go(func() { srv.Run(ctx) })
	n.log.Info("serving as an upload helper for the grid's nodes", "spool", filepath.Join(n.Dir, "helper"))
	return nil
}

// HelperServer is this node's upload helper (nil unless [helper] enabled).
func (n *Node) HelperServer() *helper.Server {
	n.helper.mu.Lock()
	defer n.helper.mu.Unlock()
	return n.helper.srv
}

// directServers are the storage servers this node reaches itself.
func (n *Node) directServers() []storage.Server {
	var local, announced []storage.Server
	if n.local != nil {
		local = []storage.Server{n.local}
	}
	if n.Broker != nil {
		announced = n.Broker.Servers()
	}
	return storage.Unique(local, announced, n.static)
}

// useHelper is the helper this client uses now: its node ID and whether
// it was named in the configuration ("" when none).
func (n *Node) useHelper() (id string, named bool) {
	c, err := n.helperConfig()
	if err != nil || c.Use == config.HelperOff || n.Broker == nil || n.T == nil {
		return "", false
	}
	if c.Use != config.HelperAuto {
		if n.T.Connections(c.Use) == 0 {
			return "", true
		}
		return c.Use, true
	}
	n.Broker.mu.Lock()
	var ids []string
	for id, e := range n.Broker.byID {
		if e.known.Ann.Helper && id != n.T.ID() && n.T.Connections(id) > 0 {
			ids = append(ids, id)
		}
	}
	n.Broker.mu.Unlock()
	if len(ids) == 0 {
		return "", false
	}
	sort.Strings(ids)
	return ids[0], false
}

// HelperInUse is the upload helper this client uses now ("" if none).
func (n *Node) HelperInUse() string { id, _ := n.useHelper(); return id }

// viaHelper are the announced storage servers this node has no direct
// connection to, reached through its helper.
func (n *Node) viaHelper() []storage.Server {
	hid, _ := n.useHelper()
	if hid == "" {
		return nil
	}
	hc := &helper.Client{HTTP: n.T.HTTPClient(hid)}
	type ann struct {
		id string
		k  introducer.Known
	}
	var want []ann
	n.Broker.mu.Lock()
	for id, e := range n.Broker.byID {
		if e.server != nil && id != hid && n.T.Connections(id) == 0 && len(e.known.Ann.NURLs) > 0 {
			want = append(want, ann{id, e.known})
		}
	}
	n.Broker.mu.Unlock()
	n.helper.mu.Lock()
	defer n.helper.mu.Unlock()
	if n.helper.via == nil {
		n.helper.via = map[string]viaEntry{}
	}
	out := make([]storage.Server, 0, len(want))
	for _, a := range want {
		e, ok := n.helper.via[a.id]
		if !ok || e.helper != hid || e.signed != a.k.Signed {
			info, err := storagenode.InfoOf(a.id, a.k.Ann.Storage())
			if err != nil {
				continue
			}
			c, err := gbs.DialOver(a.k.Ann.NURLs[0], hc.StorageVia(a.id), gbs.ClientOptions{Info: info, Logger: n.log})
			if err != nil {
				continue
			}
			e = viaEntry{helper: hid, signed: a.k.Signed, server: c}
			n.helper.via[a.id] = e
		}
		out = append(out, e.server)
	}
	return out
}

// withHelper makes c's immutable uploads go through the helper when the
// rule above says so.
func (n *Node) withHelper(c *client.Client) *client.Client {
	hid, named := n.useHelper()
	if hid == "" {
		return c
	}
	if !named && len(n.directServers()) >= c.Imm.Params.Happy {
		return c // auto: the node reaches enough servers itself
	}
	imm := *c.Imm
	imm.Helper = &helper.Client{HTTP: n.T.HTTPClient(hid)}
	out := *c
	out.Imm = &imm
	return &out
}

// viaHelperPeer is the transport to storage server id through the helper
// in use (its forwarding route), for a server this node has no
// connection to (nil without a helper): the storage proxy serves the
// CLI every server viaHelper gives the node's own client.
func (n *Node) viaHelperPeer(id string) http.RoundTripper {
	hid, _ := n.useHelper()
	if hid == "" || hid == id {
		return nil
	}
	return (&helper.Client{HTTP: n.T.HTTPClient(hid)}).StorageVia(id).Transport
}
