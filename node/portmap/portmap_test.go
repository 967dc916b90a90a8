package portmap_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/netlab"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/portmap"
)

// childEnv makes the test binary a node stand-in run inside a home
// namespace: "PROTOCOLS PORT LIFETIME_SECONDS" listens on PORT (answering
// each connection with the peer's address), maps it with portmap.Start and
// prints what happens; on SIGINT it closes the mapper and exits.
// dialEnv makes it dial ADDR and print the answer.
const (
	childEnv = "PORTMAP_TEST_CHILD"
	dialEnv  = "PORTMAP_TEST_DIAL"
)

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		os.Exit(child(strings.Fields(args)))
	}
	if addr := os.Getenv(dialEnv); addr != "" {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 100)
		n, _ := c.Read(b)
		fmt.Print(string(b[:n]))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(args []string) int {
	port, _ := strconv.Atoi(args[1])
	life, _ := strconv.Atoi(args[2])
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, c.RemoteAddr())
			c.Close()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if protos, ok := strings.CutPrefix(args[0], "nat:"); ok { // the nat.Mapper seam
		a := portmap.NewNATMapper(portmap.Options{Protocols: strings.Split(protos, ","), Lifetime: time.Duration(life) * time.Second})
		m, err := a.Map(ctx, uint16(port))
		var re *nat.RouterError
		if errors.As(err, &re) {
			fmt.Printf("router %s %v external=%q: %v\n", re.Router.Protocol, re.Router.Gateway, re.Router.External.String(), err)
			return 0
		}
		if err != nil {
			fmt.Println("error:", err)
			return 0
		}
		again, _ := a.Map(ctx, uint16(port))
		ext, ok := a.External()
		fmt.Printf("mapped %s %v %d %v same=%v\n", m.Protocol, m.External, m.Internal, ok && ext == m, again == m)
		<-sig
		fmt.Printf("closed %v\n", a.Close())
		return 0
	}
	t0 := time.Now()
	m, err := portmap.Start(ctx, portmap.Options{
		Port:      uint16(port),
		Protocols: strings.Split(args[0], ","),
		Lifetime:  time.Duration(life) * time.Second,
		OnChange: func(m portmap.Mapping, err error) {
			fmt.Printf("renewed %v %v\n", m.External, err)
		},
	})
	if err != nil {
		var pe *portmap.Error
		fmt.Printf("error after %.1fs, no router %v: %v\n", time.Since(t0).Seconds(), errors.As(err, &pe) && pe.NoRouter(), err)
		return 0
	}
	mp, _ := m.Mapping()
	fmt.Printf("mapped %s %v %v %v\n", mp.Protocol, mp.External, mp.Internal, mp.Lifetime)
	<-sig
	fmt.Printf("closed %v\n", m.Close())
	return 0
}

func self(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// waitLine waits until p has printed a line starting with prefix and
// returns it.
func waitLine(t *testing.T, p *netlab.Process, prefix string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, line := range strings.Split(p.Output(), "\n") {
			if strings.HasPrefix(line, prefix) {
				return line
			}
		}
		select {
		case <-p.Done():
			t.Fatalf("the node stand-in exited before printing %q:\n%s", prefix, p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q line in %v:\n%s", prefix, d, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dial connects from ns to addr and returns the address the listener saw.
func dial(t *testing.T, ns *netlab.NS, addr netip.AddrPort) (string, error) {
	t.Helper()
	out, err := ns.Run("env", dialEnv+"="+addr.String(), self(t))
	return strings.TrimSpace(out), err
}

type upnpLab struct {
	srv  *netlab.Host
	rtr  *netlab.Router
	upnp *netlab.UPnPDaemon
	home *netlab.Host
}

func newUPnPLab(t *testing.T, withDaemon bool) upnpLab {
	lab := netlab.New(t)
	pub := lab.PublicLAN("pub", "")
	var l upnpLab
	l.srv = pub.Host("srv")
	l.rtr = pub.Router("rtr", "192.168.90.0/24", netlab.RouterOptions{UPnP: true})
	if withDaemon {
		l.upnp = l.rtr.StartUPnP()
	}
	l.home = l.rtr.Inside.Host("home")
	return l
}

// A node at home behind a real miniupnpd maps its port with each
// protocol: the router reports its WAN address, the redirect appears in
// its nftables rules, a public host reaches the node through it, the
// mapping outlives several lifetimes by renewal, and Close removes it.
func TestMapRenewRemove(t *testing.T) {
	for _, proto := range []string{portmap.UPnP, portmap.NATPMP} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			l := newUPnPLab(t, true)
			const port, life = 3456, 3
			node := l.home.Start("env", fmt.Sprintf("%s=%s %d %d", childEnv, proto, port, life), self(t))
			line := waitLine(t, node, "mapped ", 15*time.Second)
			f := strings.Fields(line) // mapped PROTO EXTERNAL INTERNAL LIFETIME
			ext, err := netip.ParseAddrPort(f[2])
			if err != nil || f[1] != proto {
				t.Fatalf("the stand-in printed %q", line)
			}
			if ext.Addr() != l.rtr.WAN {
				t.Fatalf("external address %v, want the router's WAN address %v", ext.Addr(), l.rtr.WAN)
			}
			if f[3] != fmt.Sprintf("%v:%d", l.home.Addr, port) {
				t.Fatalf("internal address %s, want %v:%d", f[3], l.home.Addr, port)
			}
			rules := strings.Join(l.upnp.Redirects(), "\n")
			if !strings.Contains(rules, fmt.Sprintf("dport %d", ext.Port())) || !strings.Contains(rules, fmt.Sprintf("%v:%d", l.home.Addr, port)) {
				t.Fatalf("the router's miniupnpd rules do not forward %d to %v:%d:\n%s", ext.Port(), l.home.Addr, port, rules)
			}
			seen, err := dial(t, l.srv.NS, ext)
			if err != nil {
				t.Fatalf("the public host could not reach the mapped port %v: %s", ext, seen)
			}
			if a, _ := netip.ParseAddrPort(seen); a.Addr() != l.srv.Addr {
				t.Fatalf("the node saw the connection from %q, want the public host %v", seen, l.srv.Addr)
			}

			// Three lifetimes later the mapping still works: it was renewed.
			time.Sleep(3 * life * time.Second)
			renewed := strings.Count(node.Output(), fmt.Sprintf("renewed %v <nil>", ext))
			if renewed < 3 {
				t.Fatalf("%d renewals in %d s of a %d s mapping, want at least 3:\n%s", renewed, 3*life, life, node.Output())
			}
			if out, err := dial(t, l.srv.NS, ext); err != nil {
				t.Fatalf("after %d s the mapped port no longer answers: %s\n%s", 3*life, out, l.upnp.Output())
			}

			node.Stop()
			if !strings.Contains(node.Output(), "closed <nil>") {
				t.Fatalf("Close failed:\n%s", node.Output())
			}
			if r := l.upnp.Redirects(); len(r) != 0 {
				t.Fatalf("after Close the router still forwards: %v", r)
			}
			if out, err := dial(t, l.srv.NS, ext); err == nil {
				t.Fatalf("after Close the public host still reached the node: %s", out)
			}
			t.Logf("%s: %s, %d renewals in %d s, removed on Close", proto, line, renewed, 3*life)
		})
	}
}

// A mapping nobody renews ends at its lifetime (what makes renewal
// necessary, and what the test above would catch if renewal stopped).
func TestUnrenewedMappingExpires(t *testing.T) {
	l := newUPnPLab(t, true)
	node := l.home.Start("env", fmt.Sprintf("%s=%s %d %d", childEnv, portmap.NATPMP, 3457, 3), self(t))
	waitLine(t, node, "mapped ", 15*time.Second)
	node.Cmd.Process.Kill() // no renewal, no Close
	<-node.Done()
	if len(l.upnp.Redirects()) == 0 {
		t.Fatal("the mapping is gone at once")
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(l.upnp.Redirects()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("an unrenewed 3 s mapping is still there after 15 s: %v", l.upnp.Redirects())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Behind a router that speaks neither protocol, Start fails within its
// timeouts and says, per protocol, that nothing answered.
func TestNoRouter(t *testing.T) {
	l := newUPnPLab(t, false)
	node := l.home.Start("env", fmt.Sprintf("%s=%s,%s %d %d", childEnv, portmap.UPnP, portmap.NATPMP, 3458, 60), self(t))
	line := waitLine(t, node, "error after ", 15*time.Second)
	t.Log(line)
	for _, want := range []string{"no router true", "no UPnP router answered in 3s", fmt.Sprintf("no NAT-PMP service at %v (connection refused)", l.rtr.Inside.Gateway)} {
		if !strings.Contains(line, want) {
			t.Errorf("the error %q does not say %q", line, want)
		}
	}
	secs, _ := strconv.ParseFloat(strings.TrimSuffix(strings.Fields(line)[2], "s,"), 64)
	if secs > 4 {
		t.Errorf("Start took %.1f s to give up, want about 3 s (both protocols at once)", secs)
	}
}

// The nat.Mapper the detector uses maps once, keeps the mapping for the
// same port, reports it, and removes it on Close.
func TestNATMapper(t *testing.T) {
	l := newUPnPLab(t, true)
	node := l.home.Start("env", fmt.Sprintf("%s=nat:%s %d %d", childEnv, portmap.UPnP, 3460, 60), self(t))
	line := waitLine(t, node, "mapped ", 15*time.Second)
	if want := fmt.Sprintf("mapped upnp %v:3460 3460 true same=true", l.rtr.WAN); line != want {
		t.Fatalf("the seam printed %q, want %q", line, want)
	}
	if len(l.upnp.Redirects()) != 1 {
		t.Fatalf("the router holds %v, want one redirect", l.upnp.Redirects())
	}
	node.Stop()
	if !strings.Contains(node.Output(), "closed <nil>") || len(l.upnp.Redirects()) != 0 {
		t.Fatalf("after Close: %s, router %v", node.Output(), l.upnp.Redirects())
	}
}

func TestDisabled(t *testing.T) {
	t0 := time.Now()
	_, err := portmap.Start(context.Background(), portmap.Options{Disabled: true, Port: 3459})
	if !errors.Is(err, portmap.ErrDisabled) || time.Since(t0) > 100*time.Millisecond {
		t.Fatalf("Start with upnp = false: %v after %v, want ErrDisabled at once", err, time.Since(t0))
	}
}

// A router whose own outside address is carrier-grade NAT (100.64/10),
// running a real miniupnpd: miniupnpd answers but reports no usable
// outside address and maps nothing (UPnP: an empty address; NAT-PMP:
// result 3). The nat.Mapper seam says a router answered, where, and that
// it gave no address — the evidence node/nat needs to say double NAT.
func TestRouterBehindCGNAT(t *testing.T) {
	lab := netlab.New(t)
	pub := lab.PublicLAN("pub", "")
	isp := pub.Router("isp", "100.64.0.0/24", netlab.RouterOptions{})
	rtr := isp.Inside.Router("rtr", "192.168.91.0/24", netlab.RouterOptions{UPnP: true})
	u := rtr.StartUPnP()
	home := rtr.Inside.Host("home")
	for _, proto := range []string{portmap.UPnP, portmap.NATPMP} {
		node := home.Start("env", fmt.Sprintf("%s=nat:%s %d %d", childEnv, proto, 3461, 60), self(t))
		<-node.Done()
		out := strings.TrimSpace(node.Output())
		t.Logf("%s: %s", proto, out)
		if want := fmt.Sprintf("router %s %v external=\"invalid IP\": ", proto, rtr.Inside.Gateway); !strings.HasPrefix(out, want) {
			t.Errorf("%s behind CGNAT: the seam printed %q, want it to start %q", proto, out, want)
		}
	}
	if !strings.Contains(u.Output(), "Port forwarding is impossible") {
		t.Errorf("miniupnpd did not say it cannot forward behind 100.64.0.2:\n%s", u.Output())
	}
	if r := u.Redirects(); len(r) != 0 {
		t.Errorf("the router holds mappings: %v", r)
	}
}
