package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/internal/netlab"
	"github.com/lafssync/lafssync/node/nat"
)

// A storage server behind a router running miniupnpd maps its port by
// itself (node/portmap), a peer's dial-back through the mapping reaches
// it, and it announces the mapped address: public via port mapping.
func TestReachabilityThroughUPnP(t *testing.T) {
	if why := netlab.Unavailable(); why != "" {
		t.Skip(why)
	}
	if _, err := exec.LookPath("miniupnpd"); err != nil {
		t.Skip("needs miniupnpd (make deps installs it)")
	}
	lab := netlab.New(t)
	pub := lab.PublicLAN("pub", "")
	ih := pub.Host("intro")
	rtr := pub.Router("upnp", "192.168.8.0/24", netlab.RouterOptions{UPnP: true})
	d := rtr.StartUPnP()
	h := rtr.Inside.Host("home")

	root := t.TempDir()
	intro := filepath.Join(root, "intro")
	lafs(t, nil, "create-introducer", "--hostname", ih.Addr.String(), "--port", "3456", intro)
	runNode(t, ih.Prefix(), intro, "introducer address: ")
	b, err := os.ReadFile(filepath.Join(intro, "private", "introducer.url"))
	if err != nil {
		t.Fatal(err)
	}
	iu := strings.TrimSpace(string(b))
	dir := filepath.Join(root, "home")
	lafs(t, nil, "create-node", "--storage", "--nickname", "home", "--port", "tcp:3456", "--location", "tcp:"+h.Addr.String()+":3456",
		"--introducer", iu, dir)
	runNode(t, h.Prefix(), dir, "web API: ")
	r := reachIn(t, h.Prefix(), dir)
	t.Logf("home: %s; announces %q; router's redirects: %q", r.Summary(), r.Announce, d.Redirects())
	if r.Verdict != nat.VerdictMapped || r.Mapping == nil || len(r.Announce) != 1 || r.Announce[0] != r.Mapping.External.String() ||
		r.Mapping.External.Addr() != rtr.WAN {
		t.Errorf("verdict %q, mapping %+v, announces %q; want public via port mapping at %s:…; evidence:\n%s", r.Verdict, r.Mapping, r.Announce,
			rtr.WAN, strings.Join(r.Evidence, "\n"))
	}
	if !strings.Contains(strings.Join(d.Redirects(), "\n"), strconv.Itoa(int(r.Mapping.Internal))) {
		t.Errorf("miniupnpd holds no redirect to port %d: %q", r.Mapping.Internal, d.Redirects())
	}
}
