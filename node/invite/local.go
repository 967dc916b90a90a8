package invite

import (
	"errors"
	"net"
	"strings"

	"github.com/lafssync/lafssync/node/introducer"
)

// ErrLocalGrid is the error for an invite to a grid that exists only on
// the inviting computer: every introducer it names listens on a loopback
// address (127.0.0.1, ::1, localhost), as the tray app's embedded local
// grid does. The code would work, but a device on another computer could
// not reach the grid it joined. Callers refuse such an invite unless the
// user asked for it deliberately.
var ErrLocalGrid = errors.New("this node's grid exists only on this computer: its introducer listens on a loopback address (127.0.0.1), so a device on another computer could not reach the grid the invite names")

// LoopbackOnly says whether every introducer the invite names (Introducer
// and Introducers) can be reached only from this computer: each address
// of each is a loopback one. An address it cannot read (a Tor or I2P hint,
// a Tahoe fURL of another form) counts as reachable from elsewhere, and an
// invite that names no introducer is not loopback-only (it fails for
// another reason).
func (inv Invite) LoopbackOnly() bool {
	urls := make([]string, 0, len(inv.Introducers)+1)
	if inv.Introducer != "" {
		urls = append(urls, inv.Introducer)
	}
	for _, u := range inv.Introducers {
		urls = append(urls, u)
	}
	if len(urls) == 0 {
		return false
	}
	for _, u := range urls {
		hosts := introducerHosts(u)
		if len(hosts) == 0 {
			return false
		}
		for _, h := range hosts {
			if !loopback(h) {
				return false
			}
		}
	}
	return true
}

// introducerHosts are the hosts of an introducer address: lafs://ID@H:P,…
// (introducer.ParseURL) or a Tahoe fURL pb://TUBID@tcp:H:P,…/SWISSNUM. Nil
// when one of its hints cannot be read as HOST:PORT.
func introducerHosts(u string) []string {
	var addrs []string
	if url, err := introducer.ParseURL(u); err == nil {
		addrs = url.Addrs
	} else {
		rest, ok := strings.CutPrefix(strings.TrimSpace(u), "pb://")
		if !ok {
			return nil
		}
		_, hints, ok := strings.Cut(rest, "@")
		if !ok {
			return nil
		}
		hints, _, _ = strings.Cut(hints, "/")
		for _, h := range strings.Split(hints, ",") {
			addrs = append(addrs, strings.TrimPrefix(h, "tcp:"))
		}
	}
	var hosts []string
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return nil
		}
		hosts = append(hosts, host)
	}
	return hosts
}

func loopback(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
