package storagenode

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/gbs"
)

// CreateOptions describe a new node directory.
type CreateOptions struct {
	Storage, ReadOnly bool
	ReservedSpace     uint64
	// Port is a port number or Tahoe's "tcp:PORT[:interface=ADDR]"; empty
	// picks a free port now and keeps it.
	Port string
	// Hostname is how clients reach the node (default 127.0.0.1); when it
	// is an IP address the node listens only on it.
	Hostname string
	// Location overrides tub.location (tcp:HOST:PORT,…).
	Location string
	Nickname string
	// Introducer makes an introducer node (create-introducer).
	Introducer bool
	// OutboundOnly: the node is behind NAT and announces no address.
	OutboundOnly bool
	// Introducers are lafs:// addresses to join, by petname.
	Introducers map[string]string
}

// Create makes a node directory: tahoe.cfg and fresh keys. It refuses to
// touch a directory that already holds a node.
func Create(dir string, o CreateOptions) (config.Config, error) {
	c := config.Default()
	if _, err := os.Stat(filepath.Join(dir, config.File)); err == nil {
		return c, fmt.Errorf("%s already has a %s: not overwriting an existing node", dir, config.File)
	}
	if o.Hostname == "" {
		o.Hostname = "127.0.0.1"
	}
	c.Nickname, c.StorageEnabled, c.ReadOnly, c.ReservedSpace = o.Nickname, o.Storage, o.ReadOnly, o.ReservedSpace
	c.Introducer, c.OutboundOnly = o.Introducer, o.OutboundOnly
	p := 0
	switch {
	case o.Port == "":
	case strings.HasPrefix(o.Port, "tcp:"):
		_, pp, err := config.ParseTubPort(o.Port)
		if err != nil {
			return c, fmt.Errorf("port %q: %w", o.Port, err)
		}
		c.TubPort, p = o.Port, pp
	default:
		n, err := strconv.Atoi(o.Port)
		if err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("port %q: want a port number or tcp:PORT[:interface=ADDR]", o.Port)
		}
		p = n
	}
	if p == 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(o.Hostname, "0"))
		if err != nil {
			return c, fmt.Errorf("find a free port on %s: %w", o.Hostname, err)
		}
		p = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	if c.TubPort == "" {
		c.TubPort = "tcp:" + strconv.Itoa(p)
		if net.ParseIP(o.Hostname) != nil {
			c.TubPort += ":interface=" + o.Hostname
		}
	}
	c.TubLocation = o.Location
	if c.TubLocation == "" {
		c.TubLocation = "tcp:" + net.JoinHostPort(o.Hostname, strconv.Itoa(p))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return c, err
	}
	if _, err := config.CreateIdentity(dir, gbs.NewCertificate); err != nil {
		return c, err
	}
	if err := os.WriteFile(filepath.Join(dir, config.File), []byte("# LAFS Sync node configuration (Tahoe-LAFS tahoe.cfg keys).\n"), 0o600); err != nil {
		return c, err
	}
	if len(o.Introducers) > 0 {
		if err := config.SaveIntroducers(dir, o.Introducers); err != nil {
			return c, err
		}
	}
	return c, config.Save(dir, c)
}
