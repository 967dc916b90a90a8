package netlab

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary a small network tool run inside a
// namespace: "listen ADDR" (answers every connection with the address it
// came from, then reads it to the end), "dial ADDR" (prints the answer),
// "send ADDR BYTES" (writes BYTES and prints the seconds it took).
const helperEnv = "NETLAB_TEST_HELPER"

func TestMain(m *testing.M) {
	if args := os.Getenv(helperEnv); args != "" {
		os.Exit(helper(strings.Fields(args)))
	}
	os.Exit(m.Run())
}

func helper(args []string) int {
	switch args[0] {
	case "listen":
		l, err := net.Listen("tcp", args[1])
		if err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Println("listening")
		for {
			c, err := l.Accept()
			if err != nil {
				return 1
			}
			go func() {
				defer c.Close()
				fmt.Fprintln(c, c.RemoteAddr())
				c.SetDeadline(time.Now().Add(30 * time.Second))
				io.Copy(io.Discard, c)
			}()
		}
	case "dial", "send":
		c, err := net.DialTimeout("tcp", args[1], 2*time.Second)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if args[0] == "send" {
			n, _ := strconv.Atoi(args[2])
			t0 := time.Now()
			if _, err := c.Write(make([]byte, n)); err != nil {
				fmt.Println(err)
				return 1
			}
			c.(*net.TCPConn).CloseWrite()
			io.ReadAll(c) // the peer has read it all when it closes
			fmt.Println(time.Since(t0).Seconds())
			return 0
		}
		b := make([]byte, 100)
		n, err := c.Read(b)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Print(string(b[:n]))
		return 0
	}
	return 2
}

func self(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// listen starts the listen helper in ns on addr.
func listen(t *testing.T, ns *NS, addr string) {
	t.Helper()
	p := ns.Start("env", helperEnv+"=listen "+addr, self(t))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Output(), "listening") {
		select {
		case <-p.Done():
			t.Fatalf("listener in %s exited: %s", ns.Name, p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener in %s did not start: %s", ns.Name, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dial runs the dial helper in ns and returns the address the listener
// saw, or the error.
func dial(t *testing.T, ns *NS, addr string) (string, error) {
	t.Helper()
	out, err := ns.Run("env", helperEnv+"=dial "+addr, self(t))
	return strings.TrimSpace(out), err
}

// The home topology of the seed's case: a server on the public LAN, a
// host behind a NAT router.
func homeLab(t *testing.T) (pub *LAN, srv *Host, rtr *Router, home *Host) {
	lab := New(t)
	pub = lab.PublicLAN("pub", "")
	srv = pub.Host("srv")
	rtr = pub.Router("rtr", "192.168.77.0/24", RouterOptions{})
	home = rtr.Inside.Host("home")
	return
}

func TestOutboundThroughNAT(t *testing.T) {
	_, srv, rtr, home := homeLab(t)
	listen(t, srv.NS, srv.Addr.String()+":7000")
	seen, err := dial(t, home.NS, srv.Addr.String()+":7000")
	if err != nil {
		t.Fatalf("home could not reach the public server: %v", err)
	}
	ap, perr := netip.ParseAddrPort(seen)
	if perr != nil || ap.Addr() != rtr.WAN {
		t.Fatalf("the public server saw the connection from %q, want the router's WAN address %v", seen, rtr.WAN)
	}
	if home.Addr.IsPrivate() != true || !srv.Addr.IsGlobalUnicast() || srv.Addr.IsPrivate() {
		t.Fatalf("addresses: home %v (want private), server %v (want public-looking)", home.Addr, srv.Addr)
	}
}

func TestInboundBlocked(t *testing.T) {
	_, srv, rtr, home := homeLab(t)
	listen(t, home.NS, home.Addr.String()+":7001")
	if _, err := dial(t, srv.NS, home.Addr.String()+":7001"); err == nil {
		t.Fatal("the public side reached the home host with no route to it")
	}
	// Even with a route to the home LAN through the router, the forward
	// filter drops the new connection (the dial times out).
	srv.MustRun("ip", "route", "add", rtr.Inside.Prefix.String(), "via", rtr.WAN.String())
	t0 := time.Now()
	out, err := dial(t, srv.NS, home.Addr.String()+":7001")
	if err == nil {
		t.Fatalf("the router let a new inbound connection through: %s", out)
	}
	if !strings.Contains(out, "timeout") {
		t.Fatalf("inbound dial failed with %q after %v, want a timeout (dropped, not refused)", out, time.Since(t0))
	}
	if _, err := dial(t, srv.NS, rtr.WAN.String()+":7001"); err == nil {
		t.Fatal("the router's WAN address answered on a port nothing forwards")
	}
}

func TestPortForward(t *testing.T) {
	_, srv, rtr, home := homeLab(t)
	listen(t, home.NS, home.Addr.String()+":7002")
	rtr.Forward(17002, netip.AddrPortFrom(home.Addr, 7002))
	seen, err := dial(t, srv.NS, rtr.WAN.String()+":17002")
	if err != nil {
		t.Fatalf("dial the forwarded port: %v", err)
	}
	if ap, _ := netip.ParseAddrPort(seen); ap.Addr() != srv.Addr {
		t.Fatalf("the home listener saw %q, want the public client %v", seen, srv.Addr)
	}
	if _, err := dial(t, srv.NS, rtr.WAN.String()+":17003"); err == nil {
		t.Fatal("a port with no forward reached the home LAN")
	}
}

// Double NAT with carrier-grade addressing between the routers: the home
// router's WAN address is in 100.64.0.0/10, and the public server sees
// the ISP router's address.
func TestDoubleNAT(t *testing.T) {
	lab := New(t)
	pub := lab.PublicLAN("pub", "")
	srv := pub.Host("srv")
	isp := pub.Router("isp", "100.64.0.0/24", RouterOptions{})
	rtr := isp.Inside.Router("rtr", "192.168.78.0/24", RouterOptions{})
	home := rtr.Inside.Host("home")
	if !netip.MustParsePrefix("100.64.0.0/10").Contains(rtr.WAN) {
		t.Fatalf("the home router's WAN address %v is not CGNAT space", rtr.WAN)
	}
	listen(t, srv.NS, srv.Addr.String()+":7003")
	seen, err := dial(t, home.NS, srv.Addr.String()+":7003")
	if err != nil {
		t.Fatalf("home behind two NATs could not reach the public server: %v", err)
	}
	if ap, _ := netip.ParseAddrPort(seen); ap.Addr() != isp.WAN {
		t.Fatalf("the public server saw %q, want the ISP router's address %v", seen, isp.WAN)
	}
	// A forward on the home router alone does not make the home host
	// reachable from the public LAN.
	listen(t, home.NS, home.Addr.String()+":7004")
	rtr.Forward(7004, netip.AddrPortFrom(home.Addr, 7004))
	if _, err := dial(t, srv.NS, isp.WAN.String()+":7004"); err == nil {
		t.Fatal("a forward on the inner router was reachable through the outer one")
	}
}

func TestLimitRate(t *testing.T) {
	_, srv, _, home := homeLab(t)
	listen(t, srv.NS, srv.Addr.String()+":7005")
	home.LimitRate("20mbit")
	const n = 2 << 20 // 16.8 Mbit: about 0.84 s at 20 Mbit/s
	out, err := home.Run("env", helperEnv+"=send "+srv.Addr.String()+":7005 "+strconv.Itoa(n), self(t))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	secs, _ := strconv.ParseFloat(strings.TrimSpace(out), 64)
	mbit := n * 8 / secs / 1e6
	t.Logf("2 MiB through a 20 Mbit/s uplink in %.2f s: %.1f Mbit/s", secs, mbit)
	if mbit > 24 || mbit < 5 {
		t.Fatalf("measured %.1f Mbit/s through a 20 Mbit/s limit", mbit)
	}
}

func TestRemoveStale(t *testing.T) {
	if why := Unavailable(); why != "" {
		t.Skip(why)
	}
	// A PID that no longer runs: a process that has exited and been reaped.
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("%s%d-0000-stale", namePrefix, c.Process.Pid)
	if _, err := run(nil, "ip", "netns", "add", stale); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run(nil, "ip", "netns", "del", stale) })
	live := New(t).NS("live")
	RemoveStale()
	if _, err := os.Stat("/run/netns/" + stale); err == nil {
		t.Fatal("the namespace of an exited process is still there")
	}
	if _, err := os.Stat("/run/netns/" + live.Name); err != nil {
		t.Fatalf("a running test's namespace was removed: %v", err)
	}
}

func TestCleanup(t *testing.T) {
	var names []string
	t.Run("lab", func(t *testing.T) {
		_, srv, rtr, home := homeLab(t)
		srv.Start("sleep", "60")
		names = []string{srv.Name, rtr.Name, home.Name, srv.LAN.sw.Name}
	})
	for _, n := range names {
		if _, err := os.Stat("/run/netns/" + n); err == nil {
			t.Errorf("namespace %s left after the test", n)
		}
	}
	if out, _ := run(nil, "ip", "-o", "link", "show", "type", "veth"); strings.TrimSpace(out) != "" {
		// Only this lab's pairs would matter; the root namespace holds none.
		for _, n := range names {
			if strings.Contains(out, n) {
				t.Errorf("veth of %s left in the root namespace: %s", n, out)
			}
		}
	}
}
