package storagenode_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/placement"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/storagenode"
)

var lafsBin string

func TestMain(m *testing.M) { testkit.RunWithLafs(m, &lafsBin) }

// proc is one `lafs run` storage server process.
type proc struct {
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func start(t *testing.T, dir string) *proc {
	t.Helper()
	cmd := exec.Command(lafsBin, "run", dir)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{dir: dir, cmd: cmd, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if nurl, ok := strings.CutPrefix(sc.Text(), "storage NURL: "); ok {
				ready <- nurl
			}
		}
	}()
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	select {
	case <-ready:
	case <-p.done:
		t.Fatalf("lafs run %s exited before serving", dir)
	case <-time.After(20 * time.Second):
		t.Fatalf("lafs run %s did not print its NURL in 20 s", dir)
	}
	return p
}

func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// grid creates and starts n storage nodes as separate processes, writes
// the static server list a client node reads (private/servers.yaml, built
// from each server's `lafs tahoe-servers-yaml`), and returns clients for
// the servers in the order they were created.
func grid(t *testing.T, n int) ([]*proc, []storage.Server) {
	root := t.TempDir()
	var procs []*proc
	var yaml []string
	var ids []string
	for i := 0; i < n; i++ {
		dir := filepath.Join(root, fmt.Sprintf("node%d", i))
		out, err := exec.Command(lafsBin, "create-node", "--storage", "--nickname", fmt.Sprintf("s%d", i), dir).CombinedOutput()
		if err != nil {
			t.Fatalf("create-node: %v %s", err, out)
		}
		procs = append(procs, start(t, dir))
		entry, err := exec.Command(lafsBin, "tahoe-servers-yaml", dir).Output()
		if err != nil {
			t.Fatalf("tahoe-servers-yaml: %v", err)
		}
		lines := strings.Split(strings.TrimRight(string(entry), "\n"), "\n")
		if lines[0] != "storage:" {
			t.Fatalf("servers.yaml entry starts %q", lines[0])
		}
		yaml = append(yaml, lines[1:]...)
		ids = append(ids, strings.TrimSuffix(strings.TrimSpace(lines[1]), ":"))
	}
	client := filepath.Join(root, "client")
	os.MkdirAll(filepath.Join(client, "private"), 0o700)
	if err := os.WriteFile(config.ServersPath(client), []byte("storage:\n"+strings.Join(yaml, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	all, err := storagenode.DialAll(client, nil)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]storage.Server{}
	for _, s := range all {
		byID[s.Info().ID] = s
		if c, ok := s.(interface{ Close() }); ok {
			t.Cleanup(c.Close)
		}
	}
	var servers []storage.Server
	for _, id := range ids {
		if byID[id] == nil {
			t.Fatalf("server %s missing from servers.yaml", id)
		}
		servers = append(servers, byID[id])
	}
	return procs, servers
}

// peakRSS reads VmHWM (bytes) from /proc.
func peakRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM for pid %d", pid)
	return 0
}

// pattern is a seekable deterministic input of any size.
// killAfter hashes the download and kills three servers once `after`
// bytes have arrived.
type killAfter struct {
	h       io.Writer
	n       int64
	after   int64
	victims []*proc
	once    sync.Once
}

func (k *killAfter) Write(b []byte) (int, error) {
	k.n += int64(len(b))
	if k.n >= k.after {
		k.once.Do(func() {
			for _, v := range k.victims {
				v.kill()
			}
		})
	}
	return k.h.Write(b)
}

// TestTenServerProcesses: 10 `lafs run` processes on loopback; a file goes
// up and comes back through Tahoe's HTTP storage protocol; three servers
// are killed in the middle of the download, which still completes; a
// restarted server still serves its shares.
func TestTenServerProcesses(t *testing.T) {
	size := int64(1 << 30)
	var st syscall.Statfs_t
	if testing.Short() {
		size = 8 << 20
	} else if syscall.Statfs(os.TempDir(), &st) == nil && st.Bavail*uint64(st.Bsize) < 6<<30 {
		// 1 GiB becomes 3.4 GB of shares on the servers' disks.
		t.Logf("only %d MB free in %s: using 64 MiB instead of 1 GiB", st.Bavail*uint64(st.Bsize)>>20, os.TempDir())
		size = 64 << 20
	}
	procs, servers := grid(t, 10)
	c := &immutable.Client{Servers: servers, Params: immutable.DefaultParams(), Convergence: []byte("c"), LeaseSecret: []byte("l")}
	ctx := context.Background()
	t0 := time.Now()
	up, err := c.Upload(ctx, testkit.NewPattern(size))
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	t.Logf("uploaded %d MiB in %v (%.0f MB/s), happiness %d", size>>20, time.Since(t0).Round(time.Millisecond),
		float64(size)/time.Since(t0).Seconds()/1e6, up.Happiness)
	if up.Happiness != 10 {
		t.Errorf("happiness %d, want 10", up.Happiness)
	}
	// Each server received a tenth of 3.3 × the file; its memory must not
	// grow with that (VmHWM is the process's peak resident set).
	var peak int64
	for _, p := range procs {
		peak = max(peak, peakRSS(t, p.cmd.Process.Pid))
	}
	t.Logf("largest server peak RSS after the upload: %d MB (each stored %d MiB of shares)", peak>>20, size*10/3/10>>20)
	if peak > 200<<20 {
		t.Errorf("a storage server's peak RSS reached %d MB receiving its shares", peak>>20)
	}
	want := sha256.New()
	io.Copy(want, testkit.NewPattern(size))

	got := sha256.New()
	// Kill the three servers the download reads from first: the first
	// three on this file's permuted ring.
	si, _ := up.Cap.StorageIndex()
	var seeds [][]byte
	for _, s := range servers {
		seeds = append(seeds, s.Info().PermutationSeed)
	}
	ring := placement.Permute(si[:], seeds, nil)
	victims := []*proc{procs[ring[0]], procs[ring[1]], procs[ring[2]]}
	w := &killAfter{h: got, after: size / 3, victims: victims}
	t0 = time.Now()
	res, err := c.Download(ctx, up.Cap, w)
	if err != nil {
		t.Fatalf("download with 3 servers killed: %v", err)
	}
	t.Logf("downloaded in %v; %d shares reported bad", time.Since(t0).Round(time.Millisecond), len(res.Bad))
	if string(got.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatal("downloaded bytes differ")
	}
	if len(res.Bad) == 0 {
		t.Error("the killed servers' shares were never reported failing: the kill missed the download")
	}
	// A killed server, restarted, still serves its shares.
	start(t, victims[0].dir)
	shares, err := servers[ring[0]].ListShares(ctx, si)
	if err != nil || len(shares) != 1 {
		t.Fatalf("restarted server lists %v, %v", shares, err)
	}
	if b, err := servers[ring[0]].ReadShare(ctx, si, shares[0], 0, 100); err != nil || len(b) != 100 {
		t.Fatalf("restarted server read: %d bytes, %v", len(b), err)
	}
	chk, err := c.Check(ctx, up.Cap, false)
	if err != nil || len(chk.Shares) != 8 {
		t.Fatalf("check after restart: %v %v", chk.Summary(), err)
	}
}
