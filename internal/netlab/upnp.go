package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// UPnPDaemon is miniupnpd running in a router.
type UPnPDaemon struct {
	*Process
	r *Router
}

// StartUPnP runs Debian's miniupnpd (the nftables build) in the router,
// in the foreground, serving UPnP-IGD, NAT-PMP and PCP to its inside LAN;
// it is stopped at the test's cleanup. The router must have been made
// with RouterOptions.UPnP. Clients may map ports 1024-65535 to their own
// address only (secure mode). It skips the test when miniupnpd is not
// installed.
func (r *Router) StartUPnP() *UPnPDaemon {
	tb := r.lab.tb
	tb.Helper()
	if _, err := exec.LookPath("miniupnpd"); err != nil {
		tb.Skip("netlab: needs miniupnpd (make deps installs miniupnpd and miniupnpd-nftables)")
	}
	if !strings.Contains(r.Rules(), "chain prerouting_miniupnpd") {
		tb.Fatal("netlab: StartUPnP on a router made without RouterOptions.UPnP")
	}
	dir := tb.TempDir()
	conf := strings.Join([]string{
		"ext_ifname=" + r.WANIf,
		"listening_ip=" + r.LANIf(),
		"http_port=0",
		"enable_upnp=yes",
		"enable_natpmp=yes",
		"secure_mode=yes",
		"system_uptime=no",
		"ipv6_disable=yes",
		"min_lifetime=1", // PCP/NAT-PMP: let tests ask for short leases
		"lease_file=" + filepath.Join(dir, "leases"),
		"uuid=" + fmt.Sprintf("6e4c1a2b-0000-4000-8000-%012x", time.Now().UnixNano()&0xffffffffffff),
		fmt.Sprintf("allow 1024-65535 %s 1024-65535", r.Inside.Prefix),
		"deny 0-65535 0.0.0.0/0 0-65535",
		"",
	}, "\n")
	path := filepath.Join(dir, "miniupnpd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	d := &UPnPDaemon{r: r}
	d.Process = r.Start("miniupnpd", "-d", "-f", path, "-P", filepath.Join(dir, "miniupnpd.pid"))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.Output(), "Listening for NAT-PMP") || !strings.Contains(d.Output(), "HTTP listening") {
		select {
		case <-d.Done():
			tb.Fatalf("netlab: miniupnpd exited: %s", d.Output())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("netlab: miniupnpd did not start in 10 s: %s", d.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d
}

// Redirects lists the port mappings miniupnpd has put in the router's
// nftables ruleset (its prerouting_miniupnpd chain), one nft rule a line.
func (d *UPnPDaemon) Redirects() []string {
	d.r.lab.tb.Helper()
	out := d.r.MustRun("nft", "list", "chain", "inet", "filter", "prerouting_miniupnpd")
	var rules []string
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); strings.Contains(line, "dnat") {
			rules = append(rules, line)
		}
	}
	return rules
}
