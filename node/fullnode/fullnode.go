// Package fullnode runs a node from its directory: the transport on
// tub.port (our multiplexed protocol, and Tahoe's HTTPS storage protocol
// for Tahoe clients on the same port), the storage server if enabled, an
// introducer if this node is one, the introducer client that publishes
// this node and hears of the others, the storage broker that connects to
// them, and the loopback web API.
package fullnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/lease"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/walk"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/gbs"
	"github.com/lafssync/lafssync/node/httplog"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/nodedir"
	"github.com/lafssync/lafssync/node/status"
	"github.com/lafssync/lafssync/node/storagenode"
	"github.com/lafssync/lafssync/node/transport"
	"github.com/lafssync/lafssync/node/webapi"
)

// IntroducerURLFile is where an introducer writes its address (as Tahoe
// writes private/introducer.furl).
const IntroducerURLFile = "introducer.url"

// Node is a running node.
type Node struct {
	*storagenode.Node
	T      *transport.Node
	Intro  *introducer.Server // nil unless this node is an introducer
	Sub    *introducer.Client // nil without introducers
	Broker *Broker
	// RenewFirst and RenewEvery schedule lease renewal (zero: the
	// package defaults, a minute after start and then weekly); OnRenewal,
	// if set, gets each run's report.
	RenewFirst, RenewEvery time.Duration
	OnRenewal              func(lease.Report)

	// Mapper, if set before Run, maps a port on the router (node/portmap);
	// reachability checks use it and Run closes it at the end (reach.go).
	Mapper nat.Mapper

	// MovePortIfTaken lets Run pick another port when tub.port is taken
	// (the embedded grid's loopback nodes).
	MovePortIfTaken bool

	// dirLocked says the caller already holds Dir's lock (RunEmbedded,
	// RunLocalGrid); otherwise Run takes it.
	dirLocked bool

	static []storage.Server // from private/servers.yaml
	relay  relayState       // relay.go
	helper helperState      // helper.go
	local  storage.Server   // this node's own storage server, if enabled
	reach  reachState       // reach.go
	reload reloadState      // reach_reload.go
	uplink nat.Uplink       // uplink.go
	punch  punchState       // punch.go
	log    *slog.Logger

	mu sync.Mutex // guards addr, webURL, cl, web, leaseRoots
	// leaseRoots are more roots whose leases the node renews (the synced
	// folders), beside its aliases.
	leaseRoots []func() []string
	addr       string
	webURL     string
	cl         *client.Client
	web        *webapi.Server
}

// MountWeb serves h in the web API, behind its token, for the paths
// under prefix (webapi.Server.Mount). It does nothing before the web API
// is up: call it from Run's ready callback.
func (n *Node) MountWeb(prefix string, h http.Handler) {
	n.mu.Lock()
	web := n.web
	n.mu.Unlock()
	if web != nil {
		web.Mount(prefix, h)
	}
}

// KnownServers counts the storage servers the node knows of: those it
// heard announced (connected or not) and those usable now.
func (n *Node) KnownServers() int {
	ids := map[string]bool{}
	for _, s := range n.Servers() {
		ids[s.Info().ID] = true
	}
	if n.Broker != nil {
		for _, id := range n.Broker.storageIDs() {
			ids[id] = true
		}
	}
	return len(ids)
}

// Open loads a node directory.
// OpenLocked is Open for a caller that already holds the node
// directory's lock (lk.Dir()) and keeps it across runs of the node (the
// tray app, which restarts its node after a settings change).
func OpenLocked(lk *nodedir.Lock, log *slog.Logger) (*Node, error) {
	n, err := Open(lk.Dir(), log)
	if err != nil {
		return nil, err
	}
	n.dirLocked = true
	return n, nil
}

func Open(dir string, log *slog.Logger) (*Node, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sn, err := storagenode.Open(dir, log)
	if err != nil {
		return nil, err
	}
	return &Node{Node: sn, log: log}, nil
}

// Addr is where the transport listens, once running.
func (n *Node) Addr() string { n.mu.Lock(); defer n.mu.Unlock(); return n.addr }

// WebURL is the web API's base URL, once running ("" for an introducer).
func (n *Node) WebURL() string { n.mu.Lock(); defer n.mu.Unlock(); return n.webURL }

// movePort listens on a free port instead of the configured one, which
// something else took, and keeps the new port in tahoe.cfg. Only for the
// embedded grid's own loopback nodes: nobody outside has their address.
func (n *Node) movePort(host string, old int, cause error) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, cause
	}
	port := ln.Addr().(*net.TCPAddr).Port
	from, to := ":"+strconv.Itoa(old), ":"+strconv.Itoa(port)
	n.Config.TubPort = strings.Replace(n.Config.TubPort, "tcp"+from, "tcp"+to, 1)
	var hints []string
	for _, h := range strings.Split(n.Config.TubLocation, ",") {
		if strings.HasSuffix(h, from) {
			h = strings.TrimSuffix(h, from) + to
		}
		hints = append(hints, h)
	}
	n.Config.TubLocation = strings.Join(hints, ",")
	if err := config.Save(n.Dir, n.Config); err != nil {
		ln.Close()
		return nil, err
	}
	n.log.Info("configured port was taken; moved to a free one", "was", old, "now", port)
	return ln, nil
}

// IntroducerURL is this introducer's address.
func (n *Node) IntroducerURL() string {
	return introducer.URL{ID: n.T.ID(), Addrs: n.addresses()}.String()
}

// addresses are where others dial us: tub.location's tcp hints, with
// the port we actually listen on when tub.port was 0.
func (n *Node) addresses() []string {
	_, port, _ := net.SplitHostPort(n.Addr())
	var out []string
	for _, hint := range strings.Split(n.tubLocation(), ",") { // reach_reload_live.go
		rest, ok := strings.CutPrefix(strings.TrimSpace(hint), "tcp:")
		if !ok {
			continue
		}
		h, p, err := net.SplitHostPort(rest)
		if err != nil {
			continue
		}
		if p == "0" {
			p = port
		}
		out = append(out, net.JoinHostPort(h, p))
	}
	return out
}

// announcement is this node's signed announcement.
func (n *Node) announcement() (introducer.Signed, error) {
	seq, err := nextSeqnum(n.Dir)
	if err != nil {
		return introducer.Signed{}, err
	}
	svc := introducer.ServicePeer
	if n.Config.StorageEnabled {
		svc = introducer.ServiceStorage
	}
	a := introducer.New(svc, n.Config.Nickname, seq)
	if n.Config.StorageEnabled {
		sa, err := n.Node.AnnouncementAt(n.tubLocation())
		if err != nil {
			return introducer.Signed{}, err
		}
		a.FURL, a.NURLs, a.PermutationSeed = sa.FURL, sa.NURLs, sa.PermutationSeed
	}
	a.Relay, a.Relays = n.relayServes(), n.reservedRelays()
	a.Helper = n.helperServes()
	a.Reachability, a.Addresses = n.announcedAddrs() // reach.go
	return introducer.Sign(a, n.ID.NodeKey)
}

// nextSeqnum increments DIR/announcement-seqnum (Tahoe's file).
func nextSeqnum(dir string) (int64, error) {
	p := filepath.Join(dir, "announcement-seqnum")
	var seq int64
	if b, err := os.ReadFile(p); err == nil {
		seq, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	seq++
	return seq, os.WriteFile(p, []byte(strconv.FormatInt(seq, 10)+"\n"), 0o600)
}

// Servers are the storage servers usable now: connected announced ones
// and those of the static list.
func (n *Node) Servers() []storage.Server {
	var local, announced []storage.Server
	if n.local != nil {
		local = []storage.Server{n.local}
	}
	if n.Broker != nil {
		announced = n.Broker.Servers()
	}
	return storage.Unique(local, announced, n.static, n.viaHelper())
}

// storagePeer is the transport to a connected storage server (nil if
// there is none).
func (n *Node) storagePeer(id string) http.RoundTripper {
	if n.Broker == nil || !n.Broker.isStorage(id) || n.T.Connections(id) == 0 {
		return nil
	}
	return n.T.HTTPClient(id).Transport
}

// proxyPeer is how the web API's storage proxy reaches storage server id:
// over this node's connection to it, or else through its upload helper
// (as viaHelper does for the node's own client). Never for the helper's
// own forwarding, which must not chain through another helper.
func (n *Node) proxyPeer(id string) http.RoundTripper {
	if rt := n.storagePeer(id); rt != nil {
		return rt
	}
	if n.Broker == nil || !n.Broker.isStorage(id) {
		return nil
	}
	return n.viaHelperPeer(id) // helper.go
}

// AddLeaseRoots makes lease renewal also keep alive everything reachable
// from the caps roots returns at each run (the synced folders).
func (n *Node) AddLeaseRoots(roots func() []string) {
	n.mu.Lock()
	n.leaseRoots = append(n.leaseRoots, roots)
	n.mu.Unlock()
}

// Client is the grid client over the servers usable now (nil on a bare
// introducer).
func (n *Node) Client() *client.Client {
	n.mu.Lock()
	c := n.cl
	n.mu.Unlock()
	if c == nil {
		return nil // an introducer only
	}
	return n.withHelper(c.WithServers(n.Servers()))
}

// Status reports the node's connections and what it knows.
// Its reachability is what it announces (reach.go).
func (n *Node) Status() *status.Node {
	reach, addrs := n.announcedAddrs()
	r := n.Reach()
	s := &status.Node{ID: n.T.ID(), Nickname: n.Config.Nickname, Addresses: addrs, Reachability: status.Reachability(reach),
		Storage: n.Config.StorageEnabled, Introducer: n.Intro != nil, Connections: n.T.Peers(),
		Introducers: []introducer.IntroducerStatus{}, Peers: []status.Peer{}, Reach: &r}
	if n.Sub != nil {
		s.Introducers = n.Sub.Status()
	}
	if n.Intro != nil {
		s.Announced = n.Intro.Nodes()
	}
	if n.Broker != nil {
		s.Peers = n.Broker.Status()
	}
	n.serviceStatus(s) // reach_status.go
	return s
}

// Run runs the node until ctx ends. ready is called once it listens.
// It first locks the node directory, before changing anything in it, and
// fails with a *nodedir.HeldError if another process runs it.
func (n *Node) Run(ctx context.Context, ready func(*Node)) error {
	if !n.dirLocked {
		lk, err := nodedir.Acquire(n.Dir)
		if err != nil {
			return err
		}
		defer lk.Release()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	host, port, err := config.ParseTubPort(n.Config.TubPort)
	if err != nil {
		return fmt.Errorf("tub.port %q: %w", n.Config.TubPort, err)
	}
	tid, err := transport.NewIdentity(n.ID.NodeKey)
	if err != nil {
		return err
	}
	peerMux := http.NewServeMux()
	var fallback http.Handler
	if n.Config.StorageEnabled {
		st, err := n.OpenStore()
		if err != nil {
			return err
		}
		defer st.Close()
		n.local = st
		go n.Housekeeping(ctx, st)
		g := gbs.NewServer(st, []byte(n.ID.Swissnum), n.log)
		peerMux.Handle("/storage/", g)
		fallback = g
	}
	if n.Config.Introducer {
		n.Intro = introducer.NewServer(n.log.With("role", "introducer"))
		peerMux.Handle("/introducer/", n.Intro.Handler())
	}
	n.T = transport.New(tid, peerMux, fallback, n.log)
	peerMux.Handle("/reach/", n.reachHandler())
	n.T.KeepAlive = n.Config.KeepAlive
	if fallback != nil {
		cert := n.Certificate()
		n.T.FallbackCert = &cert
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil && n.MovePortIfTaken {
		ln, err = n.movePort(host, port, err)
	}
	if err != nil {
		return fmt.Errorf("listen on %s (tub.port): %w", n.Config.TubPort, err)
	}
	n.mu.Lock()
	n.addr = ln.Addr().String()
	n.mu.Unlock()
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait(); n.T.Close() }()
	wg.Go(func() { n.T.Serve(ctx, ln) })
	n.log.Info("node listening", "address", n.Addr(), "id", n.T.ID(), "storage", n.Config.StorageEnabled,
		"introducer", n.Config.Introducer, "reachability", string(n.reachMode()))

	if n.Intro != nil {
		if err := os.WriteFile(filepath.Join(n.Dir, "private", IntroducerURLFile), []byte(n.IntroducerURL()+"\n"), 0o600); err != nil {
			return err
		}
		n.log.Info("introducer address written", "file", filepath.Join(n.Dir, "private", IntroducerURLFile))
	}
	if err := n.startClient(ctx, &wg); err != nil {
		return err
	}
	wg.Go(func() { n.runReach(ctx) })
	wg.Go(func() { n.runUplinkMeter(ctx) })
	peerMux.Handle("/punch/", n.punchHandler(ctx))
	wg.Go(func() { n.runPunch(ctx) })
	if err := n.startRelay(ctx, &wg, peerMux); err != nil {
		return err
	}
	if err := n.startHelper(ctx, &wg, peerMux); err != nil {
		return err
	}
	if ready != nil {
		ready(n)
	}
	<-ctx.Done()
	return nil
}

// startClient starts what an ordinary node runs beside its server: the
// introducer client, the broker, and the web API.
func (n *Node) startClient(ctx context.Context, wg *sync.WaitGroup) error {
	static, err := storagenode.DialAll(n.Dir, n.log)
	if err != nil {
		return err
	}
	n.static = static
	n.Broker = newBroker(ctx, n.T, n.log)
	intros, err := config.LoadIntroducers(n.Dir)
	if err != nil {
		return err
	}
	if len(intros) > 0 {
		own, err := n.announcement()
		if err != nil {
			return err
		}
		sub := &introducer.Client{T: n.T, Introducers: map[string]introducer.URL{}, CacheDir: filepath.Join(n.Dir, "private"),
			Own: func() (introducer.Signed, bool) { return n.ownAnnouncement(own), true }, Log: n.log}
		for pet, s := range intros {
			u, err := introducer.ParseURL(s)
			if err != nil {
				return fmt.Errorf("%s: introducer %q: %w", config.IntroducersPath(n.Dir), pet, err)
			}
			sub.Introducers[pet] = u
		}
		sub.OnChange = func() { n.Broker.Update(sub.Nodes()) }
		n.Sub = sub
		wg.Go(func() { sub.Run(ctx) })
	}
	if len(intros) == 0 && len(static) == 0 && !n.Config.Introducer && !n.Config.StorageEnabled {
		n.log.Warn("this node knows no introducer and no storage servers: it will find nobody",
			"fix", "lafs create-node --introducer ADDRESS (in a new directory), or add one to "+config.IntroducersPath(n.Dir))
	}
	if n.Config.Introducer && len(intros) == 0 {
		return n.serveWeb(ctx, wg) // a bare introducer: status only, no grid client
	}
	cl, err := client.New(n.Dir, nil)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.cl = cl
	n.mu.Unlock()
	renewer := &lease.Renewer{ServersNow: n.Servers, Lister: nodeLister{n}, LeaseSecret: cl.Imm.LeaseSecret,
		Roots: func() ([]string, error) {
			// Aliases that cannot be read now (a locked keyring) must not
			// stop the folders' renewal: renew what is known, and say so.
			aliases, err := config.LoadAliases(n.Dir)
			if err != nil {
				n.log.Warn("lease renewal: the aliases cannot be read now; their files' leases are renewed at a later round", "err", err)
				err = nil
			}
			roots := make([]string, 0, len(aliases))
			for _, c := range aliases {
				roots = append(roots, c)
			}
			n.mu.Lock()
			more := slices.Clone(n.leaseRoots)
			n.mu.Unlock()
			for _, fn := range more {
				roots = append(roots, fn()...)
			}
			return roots, err
		}, Logger: n.log.With("task", "lease renewal"),
		FirstDelay: n.RenewFirst, Interval: n.RenewEvery, OnReport: n.OnRenewal,
		StateFile: filepath.Join(n.Dir, "private", LeaseStateFile)}
	wg.Go(func() { renewer.Run(ctx) })
	return n.serveWeb(ctx, wg)
}

// LeaseStateFile (in NODEDIR/private) holds the time of the last complete
// lease renewal (grid/lease Renewer.StateFile): a restart renews only when
// a week has passed since it.
const LeaseStateFile = "lease-renewal"

// nodeLister lists directories over the servers usable at the time.
type nodeLister struct{ n *Node }

func (l nodeLister) List(ctx context.Context, dir cap.Cap) (dirnode.Entries, error) {
	c := l.n.Client()
	return walk.Grid{Dirs: c.Dirs, Imm: c.Imm}.List(ctx, dir)
}

// serveWeb serves the web API on web.port (default: a free loopback port)
// and writes its URL to DIR/node.url.
func (n *Node) serveWeb(ctx context.Context, wg *sync.WaitGroup) error {
	token, err := webapi.LoadToken(n.Dir)
	if err != nil {
		return err
	}
	if k, err := webapi.SweepSpool(n.Dir); err != nil {
		n.log.Warn("web API spool files left by an earlier run could not all be removed", "err", err)
	} else if k > 0 {
		n.log.Info("removed web API spool files left by an earlier run", "files", k)
	}
	addr := "127.0.0.1:0"
	if n.Config.WebPort != "" {
		h, p, err := config.ParseTubPort(n.Config.WebPort)
		if err != nil {
			return fmt.Errorf("web.port %q: %w", n.Config.WebPort, err)
		}
		if h == "" {
			h = "127.0.0.1"
		}
		addr = net.JoinHostPort(h, strconv.Itoa(p))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web API: listen on %s: %w", addr, err)
	}
	u := "http://" + ln.Addr().String() + "/"
	if err := os.WriteFile(filepath.Join(n.Dir, "node.url"), []byte(u+"\n"), 0o600); err != nil {
		ln.Close()
		return err
	}
	n.mu.Lock()
	n.webURL = u
	n.mu.Unlock()
	api := webapi.NewDynamic(n.Client, func(context.Context) *status.Node { return n.Status() }, token)
	api.SetPeerProxy(n.proxyPeer)
	n.mu.Lock()
	n.web = api
	n.mu.Unlock()
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 30 * time.Second, ErrorLog: httplog.New(n.log, "web API")}
	wg.Go(func() {
		<-ctx.Done()
		srv.Close()
	})
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("web API stopped", "err", err)
		}
	})
	n.log.Info("web API on loopback", "url", u, "token_file", webapi.TokenPath(n.Dir))
	return nil
}
