package hostile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
)

// daemon is one `lafs daemon` process: the local grid (an introducer and
// ten storage servers) and the client node, all in one process, as
// `make run` starts it without a display.
type daemon struct {
	dir  string
	log  string // its stderr
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// startDaemon starts `lafs -d DIR daemon` and waits until the client node
// is connected to all ten storage servers.
func startDaemon(t *testing.T, dir string) *daemon {
	t.Helper()
	d := &daemon{dir: dir, log: dir + ".log", done: make(chan struct{})}
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(lafsBin, "-d", dir, "daemon")
	pr, pw := io.Pipe()
	d.cmd.Stderr = pw
	d.cmd.Stdout = pw // the banner: the daemon logs to NODEDIR/logs, not here
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.cmd.Wait()
		pw.Close()
		close(d.done)
	}()
	up := make(chan struct{})
	go func() {
		var once sync.Once
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if strings.Contains(sc.Text(), "LAFS Sync is running") {
				once.Do(func() { close(up) })
			}
		}
		io.Copy(logf, pr) // a line over 1 MiB: keep draining
		logf.Close()
	}()
	t.Cleanup(func() {
		d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.done:
		case <-time.After(15 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	select {
	case <-up:
	case <-d.done:
		t.Fatalf("lafs daemon exited before the local grid was up:\n%s", d.tail())
	case <-time.After(60 * time.Second):
		t.Fatalf("lafs daemon: no \"LAFS Sync is running\" banner in 60 s:\n%s", d.tail())
	}
	testkit.WaitFor(t, "the node to connect to its ten storage servers", 60*time.Second, func() bool {
		return d.connectedServers() >= 10
	})
	return d
}

// alive reports whether the process is still running.
func (d *daemon) alive() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// tail is what explains the daemon's end, for failure messages: from a
// Go runtime's "fatal error" or "panic" on (not the goroutine dump that
// follows), else the end of its log. The daemon never logs secrets.
func (d *daemon) tail() string {
	b, _ := os.ReadFile(d.log)
	for _, mark := range []string{"\nfatal error: ", "\npanic: "} {
		if i := bytes.Index(b, []byte(mark)); i >= 0 {
			b = b[i+1:]
			return string(b[:min(len(b), 1500)])
		}
	}
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func (d *daemon) connectedServers() int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, lafsBin, "-d", d.dir, "status", "--json").Output()
	if err != nil {
		return 0
	}
	var st struct{ Servers []struct{ Connected bool } }
	if json.Unmarshal(out, &st) != nil {
		return 0
	}
	k := 0
	for _, s := range st.Servers {
		if s.Connected {
			k++
		}
	}
	return k
}

// usage is one reading of the process's resources.
type usage struct {
	rssKB, hwmKB int64
	fds          int
}

func readUsage(pid int) (usage, error) {
	var u usage
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			u.rssKB = n
		case "VmHWM":
			u.hwmKB = n
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return u, err
	}
	u.fds = len(ents)
	return u, nil
}

// sampler reads the daemon's RSS and fd count every interval and keeps
// the largest of each, per phase of the test.
type sampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu     sync.Mutex // guards the fields below
	phase  string
	order  []string
	maxRSS map[string]int64 // kB
	maxFD  map[string]int
	n      int
}

func startSampler(pid int, interval time.Duration) *sampler {
	s := &sampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{}), maxRSS: map[string]int64{}, maxFD: map[string]int{}}
	s.setPhase("start")
	go func() {
		defer close(s.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if u, err := readUsage(pid); err == nil {
				s.mu.Lock()
				s.maxRSS[s.phase] = max(s.maxRSS[s.phase], u.rssKB)
				s.maxFD[s.phase] = max(s.maxFD[s.phase], u.fds)
				s.n++
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// setPhase names what the samples from now on are taken during.
func (s *sampler) setPhase(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.maxFD[p]; !ok {
		s.order = append(s.order, p)
		s.maxFD[p] = 0
	}
	s.phase = p
}

func (s *sampler) finish() {
	close(s.stop)
	<-s.done
}

// peaks returns the largest RSS (kB) and fd count over all phases, and a
// table of them per phase.
func (s *sampler) peaks() (rssKB int64, fds int, table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%d samples; per phase, the largest RSS and fd count:\n", s.n)
	for _, p := range s.order {
		fmt.Fprintf(&b, "  %-28s %6.1f MB %6d fds\n", p, float64(s.maxRSS[p])/1024, s.maxFD[p])
		rssKB = max(rssKB, s.maxRSS[p])
		fds = max(fds, s.maxFD[p])
	}
	return rssKB, fds, b.String()
}

// normalClient is a user of the attacked node: it puts files through the
// running daemon and gets them back, as `lafs put` and `lafs get` do,
// checking every byte.
type normalClient struct {
	dir, work string

	mu       sync.Mutex // guards the fields below
	ok       int
	failures []string
	slowest  time.Duration
}

// run loops until stop is closed, ctx ends or maxOps round trips are done.
func (c *normalClient) run(ctx context.Context, stop <-chan struct{}, maxOps int) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < maxOps; i++ {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		c.roundTrip(ctx, i, rng)
	}
}

// roundTrip puts one file of 16 KiB to 384 KiB and gets it back: even
// rounds into the alias directory (a mutable directory edit on every
// server as well as the file's shares), odd ones as a bare cap.
func (c *normalClient) roundTrip(ctx context.Context, i int, rng *rand.Rand) {
	data := make([]byte, 16<<10+rng.IntN(368<<10))
	for j := range data {
		data[j] = byte(rng.Uint32())
	}
	src := filepath.Join(c.work, fmt.Sprintf("in-%d", i))
	dst := filepath.Join(c.work, fmt.Sprintf("out-%d", i))
	defer os.Remove(src)
	defer os.Remove(dst)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		c.fail(fmt.Sprintf("round %d: %v", i, err))
		return
	}
	t0 := time.Now()
	target := ""
	if i%2 == 0 {
		target = fmt.Sprintf("home:f%d", i)
	}
	args := []string{"put", src}
	if target != "" {
		args = append(args, target)
	}
	out, err := c.lafs(ctx, args...)
	if err != nil {
		c.fail(fmt.Sprintf("round %d: lafs put (%d bytes): %v", i, len(data), err))
		return
	}
	from := target
	if from == "" {
		from = strings.TrimSpace(out)
	}
	if _, err := c.lafs(ctx, "get", from, dst); err != nil {
		c.fail(fmt.Sprintf("round %d: lafs get: %v", i, err))
		return
	}
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		c.fail(fmt.Sprintf("round %d: lafs get returned %d bytes that differ from the %d put (%v)", i, len(got), len(data), err))
		return
	}
	c.mu.Lock()
	c.ok++
	c.slowest = max(c.slowest, time.Since(t0))
	c.mu.Unlock()
}

// lafs runs one CLI command against the running node, bounded in time.
// Its output may hold a cap of test data; errors quote only stderr.
func (c *normalClient) lafs(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lafsBin, append([]string{"-d", c.dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := stderr.String()
		if len(msg) > 400 {
			msg = msg[:400] + "…"
		}
		return "", fmt.Errorf("%v: %s", err, strings.TrimSpace(msg))
	}
	return string(out), nil
}

func (c *normalClient) fail(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, msg)
}

func (c *normalClient) result() (ok int, failures []string, slowest time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ok, append([]string(nil), c.failures...), c.slowest
}
