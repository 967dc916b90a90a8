// Package storagenode runs a storage node from a node directory: it opens
// the disk store, serves it over Tahoe's HTTP storage protocol on
// tub.port, and describes itself with the announcement a client (ours or
// Tahoe 1.19+) needs. It also turns announcements back into clients.
package storagenode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/gbs"
	"github.com/lafssync/lafssync/node/store"
)

// Node is a storage node loaded from its directory.
type Node struct {
	Dir    string
	Config config.Config
	ID     *config.Identity
	cert   tls.Certificate
	leaf   *x509.Certificate
	log    *slog.Logger
}

// Open loads a node directory.
func Open(dir string, log *slog.Logger) (*Node, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	id, err := config.LoadIdentity(dir)
	if err != nil {
		return nil, err
	}
	cert, leaf, err := gbs.LoadCertificate(id.TLS)
	if err != nil {
		return nil, err
	}
	return &Node{Dir: dir, Config: cfg, ID: id, cert: cert, leaf: leaf, log: log}, nil
}

// NURL is the storage NURL clients use (contains the swissnum: a secret
// the node hands to its clients on purpose).
func (n *Node) NURL() (string, error) { return n.nurlAt(n.Config.TubLocation) }

func (n *Node) nurlAt(location string) (string, error) {
	host, port, err := config.ParseLocation(location)
	if err != nil {
		return "", err
	}
	return gbs.NURL{SPKIHash: gbs.SPKIHash(n.leaf), Host: host, Port: port, Swissnum: n.ID.Swissnum}.String(), nil
}

// FURL is the never-changing anonymous-storage-FURL Tahoe clients need in
// an announcement even when they use HTTP: its tub ID seeds their lease
// and write-enabler secrets. Nothing answers Foolscap on it.
func (n *Node) FURL() string { return n.furlAt(n.Config.TubLocation) }

func (n *Node) furlAt(location string) string {
	tub := gbs.TubID(n.leaf)
	return fmt.Sprintf("pb://%s@%s/%s", base32.Encode(tub[:]), location, n.ID.Swissnum)
}

// Announcement is what clients need to use this server.
func (n *Node) Announcement() (config.Announcement, error) {
	return n.AnnouncementAt(n.Config.TubLocation)
}

// AnnouncementAt is Announcement with location in place of tub.location
// (a running node that took a new tub.location, node/fullnode).
func (n *Node) AnnouncementAt(location string) (config.Announcement, error) {
	nurl, err := n.nurlAt(location)
	if err != nil {
		return config.Announcement{}, err
	}
	return config.Announcement{Nickname: n.Config.Nickname, FURL: n.furlAt(location), NURLs: []string{nurl},
		PermutationSeed: n.ID.PermutationSeedBase32()}, nil
}

// ServerInfo is how a client of this node identifies it.
func (n *Node) ServerInfo() storage.ServerInfo {
	seed, _ := base32.Decode(n.ID.PermutationSeedBase32())
	return storage.ServerInfo{ID: n.ID.ServerID(), Nickname: n.Config.Nickname, PermutationSeed: seed, LeaseSeed: gbs.TubID(n.leaf)}
}

// Certificate is the TLS certificate the storage NURL pins.
func (n *Node) Certificate() tls.Certificate { return n.cert }

// OpenStore opens the node's share store.
func (n *Node) OpenStore() (*store.Store, error) {
	return store.Open(filepath.Join(n.Dir, "storage"), store.Options{ReadOnly: n.Config.ReadOnly,
		ReservedSpace: n.Config.ReservedSpace, Info: n.ServerInfo(), Logger: n.log})
}

// Run serves storage until ctx ends. ready is called with the NURL once
// the listener is up.
func (n *Node) Run(ctx context.Context, ready func(nurl string)) error {
	if !n.Config.StorageEnabled {
		return fmt.Errorf("storage is not enabled in %s ([storage] enabled = true)", filepath.Join(n.Dir, config.File))
	}
	host, port, err := config.ParseTubPort(n.Config.TubPort)
	if err != nil {
		return fmt.Errorf("tub.port %q: %w", n.Config.TubPort, err)
	}
	st, err := n.OpenStore()
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("listen on %s (tub.port): %w", n.Config.TubPort, err)
	}
	nurl, err := n.NURL()
	if err != nil {
		ln.Close()
		return err
	}
	go n.Housekeeping(ctx, st)
	n.log.Info("storage server listening", "address", ln.Addr().String(), "readonly", n.Config.ReadOnly, "server_id", n.ID.ServerID())
	if ready != nil {
		ready(nurl)
	}
	return gbs.Serve(ctx, ln, gbs.NewServer(st, []byte(n.ID.Swissnum), n.log), n.cert)
}

// Housekeeping aborts idle uploads and collects expired shares until ctx
// ends.
func (n *Node) Housekeeping(ctx context.Context, st *store.Store) {
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	expire := time.NewTicker(6 * time.Hour)
	defer expire.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			st.Sweep()
		case <-expire.C:
			if k, err := st.ExpireLeases(ctx); err != nil {
				n.log.Warn("lease expiry", "err", err)
			} else if k > 0 {
				n.log.Info("removed shares whose leases expired", "count", k)
			}
		}
	}
}

// InfoOf is what the grid layer needs to know of an announced server.
func InfoOf(id string, a config.Announcement) (storage.ServerInfo, error) {
	if len(a.NURLs) == 0 {
		return storage.ServerInfo{}, fmt.Errorf("server %s announces no anonymous-storage-NURLs (Foolscap-only servers are not supported)", id)
	}
	seed, err := base32.Decode(a.PermutationSeed)
	if err != nil {
		return storage.ServerInfo{}, fmt.Errorf("server %s: permutation-seed-base32: %w", id, err)
	}
	lease, err := a.LeaseSeed()
	if err != nil {
		return storage.ServerInfo{}, fmt.Errorf("server %s: %w", id, err)
	}
	return storage.ServerInfo{ID: id, Nickname: a.Nickname, PermutationSeed: seed, LeaseSeed: lease}, nil
}

// Dial returns a client for an announced server.
func Dial(id string, a config.Announcement, log *slog.Logger) (*gbs.Client, error) {
	info, err := InfoOf(id, a)
	if err != nil {
		return nil, err
	}
	return gbs.Dial(a.NURLs[0], gbs.ClientOptions{Info: info, Logger: log})
}

// DialAll returns clients for every server in a node's private/servers.yaml.
func DialAll(dir string, log *slog.Logger) ([]storage.Server, error) {
	anns, err := config.LoadServers(dir)
	if err != nil {
		return nil, err
	}
	var out []storage.Server
	for id, a := range anns {
		c, err := Dial(id, a, log)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
