package syncbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/lafssync/lafssync/syncer/api"
)

// LAFS is one running lafs process: a daemon (node, folder sync and its
// embedded 10-server loopback grid) or a second client node of that grid
// (lafs run).
type LAFS struct {
	Bin, Dir string
	URL      string // web API, http://127.0.0.1:PORT/
	Sync     *api.Client

	token string
	cmd   *exec.Cmd
	done  chan error
	hc    *http.Client
}

// Output runs bin with args and returns what it printed.
func Output(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// StartDaemon runs lafs daemon on the node directory dir (made if
// missing) and waits until its folder sync answers and its node uses all
// ten storage servers.
func StartDaemon(ctx context.Context, bin, dir string) (*LAFS, error) {
	return startLAFS(ctx, bin, dir, "daemon")
}

// StartSecondNode makes a client node in dir joined to daemon d's local
// grid, runs it (lafs run) and waits until it uses all ten storage
// servers.
func StartSecondNode(ctx context.Context, bin, dir string, d *LAFS) (*LAFS, error) {
	b, err := os.ReadFile(filepath.Join(d.Dir, "private", "introducers.yaml"))
	if err != nil {
		return nil, fmt.Errorf("the daemon's introducer: %w", err)
	}
	m := regexp.MustCompile(`furl:\s*(lafs://\S+)`).FindSubmatch(b)
	if m == nil {
		return nil, fmt.Errorf("%s names no introducer", filepath.Join(d.Dir, "private", "introducers.yaml"))
	}
	if _, err := Output(bin, "create-node", "--introducer", string(m[1]), dir); err != nil {
		return nil, err
	}
	return startLAFS(ctx, bin, dir, "run")
}

func startLAFS(ctx context.Context, bin, dir, what string) (*LAFS, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logPath := dir + "." + what + ".out"
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	n := &LAFS{Bin: bin, Dir: dir, hc: &http.Client{Timeout: 2 * time.Minute}, done: make(chan error, 1)}
	n.cmd = exec.Command(bin, "-d", dir, what)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start lafs %s: %w", what, err)
	}
	go func() { n.done <- n.cmd.Wait(); logf.Close() }()
	exited := func() error {
		select {
		case err := <-n.done:
			n.done <- err
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("lafs %s exited: %v: %s", what, err, strings.TrimSpace(string(b)))
		default:
			return nil
		}
	}
	fail := func(err error) (*LAFS, error) { n.Stop(); return nil, err }
	err = poll(ctx, time.Minute, 50*time.Millisecond, "lafs "+what+" to write node.url", func() (bool, error) {
		if err := exited(); err != nil {
			return false, err
		}
		u, err1 := os.ReadFile(filepath.Join(dir, "node.url"))
		t, err2 := os.ReadFile(filepath.Join(dir, "private", "api_auth_token"))
		if err1 != nil || err2 != nil || len(strings.TrimSpace(string(u))) == 0 {
			return false, nil
		}
		n.URL, n.token = strings.TrimSpace(string(u)), strings.TrimSpace(string(t))
		return true, nil
	})
	if err != nil {
		return fail(err)
	}
	n.Sync = api.NewClient(n.URL, n.token, n.hc)
	err = poll(ctx, time.Minute, 100*time.Millisecond, "lafs "+what+" to use 10 storage servers and run the folder sync", func() (bool, error) {
		if err := exited(); err != nil {
			return false, err
		}
		if k, err := n.storageServers(ctx); err != nil || k < 10 {
			return false, nil
		}
		_, err := n.Sync.List(ctx)
		return err == nil, nil
	})
	if err != nil {
		return fail(err)
	}
	return n, nil
}

// storageServers counts the connected storage servers in GET /status.
func (n *LAFS) storageServers(ctx context.Context) (int, error) {
	var st struct {
		Servers []struct {
			Connected bool `json:"connected"`
		} `json:"servers"`
	}
	b, code, err := n.Get(ctx, "status")
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("GET /status: %d", code)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, err
	}
	k := 0
	for _, p := range st.Servers {
		if p.Connected {
			k++
		}
	}
	return k, nil
}

// PID is the process's ID.
func (n *LAFS) PID() int { return n.cmd.Process.Pid }

// Stop interrupts the process and waits for it (killing it after 30 s).
func (n *LAFS) Stop() {
	if n == nil || n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	n.cmd = nil
}

// Get is GET on the web API (path relative to its root), its body (at
// most 64 MiB) and status.
func (n *LAFS) Get(ctx context.Context, path string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", n.URL+path, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	resp, err := n.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return b, resp.StatusCode, err
}

// uriPath is "uri/CAP/p" with each part escaped.
func uriPath(c, p string) string {
	parts := []string{"uri", url.PathEscape(c)}
	for _, s := range strings.Split(p, "/") {
		parts = append(parts, url.PathEscape(s))
	}
	return strings.Join(parts, "/")
}

// Add adds local directory dir as a folder with lafs sync add and
// returns its name.
func (n *LAFS) Add(ctx context.Context, dir string) (string, error) {
	if _, err := Output(n.Bin, "-d", n.Dir, "sync", "add", dir); err != nil {
		return "", err
	}
	return filepath.Base(dir), nil
}

// WaitUpToDate waits until folder f is up to date holding files files
// of total bytes.
func (n *LAFS) WaitUpToDate(ctx context.Context, f string, files int, total int64, limit time.Duration) error {
	var last api.FolderStatus
	err := poll(ctx, limit, 100*time.Millisecond, fmt.Sprintf("folder %s to be up to date with %d files", f, files), func() (bool, error) {
		st, err := n.Sync.Status(ctx, f)
		if err != nil {
			return false, nil
		}
		last = st
		return st.State == api.UpToDate && st.Files == files && st.Bytes == total && st.Progress == nil && len(st.Errors) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last status: %s: %s, %d files, %d bytes, %d errors)", err, last.State, last.Detail, last.Files, last.Bytes, len(last.Errors))
	}
	return nil
}

// ReadCap is folder f's read cap (lafs sync share F).
func (n *LAFS) ReadCap(ctx context.Context, f string) (string, error) {
	r, err := n.Sync.Share(ctx, f, "read")
	if err != nil {
		return "", err
	}
	if r.Cap == "" {
		return "", errors.New("lafs sync share gave an empty cap")
	}
	return r.Cap, nil
}

// LAFSLatency runs a daemon with one folder holding EditPaths and a
// second node on its grid, then edits the files n times, one at a time,
// and measures each edit's close to the second node reading the new
// content through the folder's read cap (GET /uri/READCAP/PATH, polled
// back to back).
func LAFSLatency(ctx context.Context, bin, work string, n int, perEdit time.Duration) (Latencies, error) {
	d, err := StartDaemon(ctx, bin, filepath.Join(work, "node-a"))
	if err != nil {
		return nil, err
	}
	defer d.Stop()
	src := filepath.Join(work, "edits")
	if err := WriteEditFiles(src); err != nil {
		return nil, err
	}
	f, err := d.Add(ctx, src)
	if err != nil {
		return nil, err
	}
	if err := d.WaitUpToDate(ctx, f, len(EditPaths), int64(len(EditPaths))*EditSize, 2*time.Minute); err != nil {
		return nil, err
	}
	rc, err := d.ReadCap(ctx, f)
	if err != nil {
		return nil, err
	}
	b, err := StartSecondNode(ctx, bin, filepath.Join(work, "node-b"), d)
	if err != nil {
		return nil, err
	}
	defer b.Stop()
	if err := waitContent(ctx, b, rc, EditPaths[0], FirstEditContent(EditPaths[0]), time.Minute, nil); err != nil {
		return nil, fmt.Errorf("the second node reading the folder: %w", err)
	}
	var lat Latencies
	var gets int
	var getTime time.Duration
	for i := range n {
		if err := Edit(src, i); err != nil {
			return lat, err
		}
		start := time.Now()
		if err := waitContent(ctx, b, rc, EditPath(i), EditContent(i), perEdit, func(d time.Duration) { gets++; getTime += d }); err != nil {
			return lat, fmt.Errorf("edit %d of %s: %w", i, EditPath(i), err)
		}
		lat = append(lat, time.Since(start))
	}
	if gets > 0 {
		fmt.Printf("  (LAFS Sync latency resolution: one GET of the second node takes %.0f ms on average, %d GETs)\n", getTime.Seconds()*1000/float64(gets), gets)
	}
	return lat, nil
}

// waitContent polls node b for path p under cap c until it reads want;
// each GET's duration goes to took (if not nil).
func waitContent(ctx context.Context, b *LAFS, c, p string, want []byte, limit time.Duration, took func(time.Duration)) error {
	path := uriPath(c, p)
	return poll(ctx, limit, 5*time.Millisecond, "the second node to read the new "+p, func() (bool, error) {
		t0 := time.Now()
		got, code, err := b.Get(ctx, path)
		if took != nil {
			took(time.Since(t0))
		}
		return err == nil && code == http.StatusOK && string(got) == string(want), nil
	})
}

// startSyncer starts the daemon (the local grid: introducer and ten
// storage servers) and returns the node whose folders a benchmark syncs:
// the daemon itself, or with apart a second node, client only, joined to
// the daemon's grid (its CPU and memory are then the client's alone, as
// on a real grid whose servers run elsewhere). stop stops both.
func startSyncer(ctx context.Context, bin, work string, apart bool) (syncer, grid *LAFS, stop func(), err error) {
	grid, err = StartDaemon(ctx, bin, filepath.Join(work, "node-a"))
	if err != nil {
		return nil, nil, nil, err
	}
	if !apart {
		return grid, grid, grid.Stop, nil
	}
	syncer, err = StartSecondNode(ctx, bin, filepath.Join(work, "node-b"), grid)
	if err != nil {
		grid.Stop()
		return nil, nil, nil, err
	}
	return syncer, grid, func() { syncer.Stop(); grid.Stop() }, nil
}

// FirstSync is one product's first sync of a tree: the wall time, and the
// CPU time (user + system) its processes used meanwhile.
type FirstSync struct {
	Took, CPU time.Duration
	// GridCPU is the local grid's daemon's CPU time when the syncing
	// node runs apart from it (0 otherwise: CPU includes it).
	GridCPU time.Duration
}

// cpuOf adds up the CPU time of processes pids.
func cpuOf(pids ...int) (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pids {
		c, err := ReadCPU(pid)
		if err != nil {
			return 0, err
		}
		sum += c
	}
	return sum, nil
}

// LAFSFirstSync times lafs sync add of tree (already on disk) to the
// folder being up to date: every file uploaded 3-of-10 into the daemon's
// loopback grid and linked. A sample of files is then read back through
// the read cap and compared. The CPU time is the syncing node's: the
// daemon's, its local grid's storage servers included, or with apart the
// second node's (see startSyncer), the daemon's then in GridCPU.
func LAFSFirstSync(ctx context.Context, bin, work string, tree Tree, apart bool, limit time.Duration) (FirstSync, error) {
	var r FirstSync
	d, grid, stop, err := startSyncer(ctx, bin, work, apart)
	if err != nil {
		return r, err
	}
	defer stop()
	src := filepath.Join(work, "tree")
	total, err := tree.Write(src)
	if err != nil {
		return r, err
	}
	c0, err := cpuOf(d.PID())
	if err != nil {
		return r, err
	}
	g0, err := cpuOf(grid.PID())
	if err != nil {
		return r, err
	}
	start := time.Now()
	f, err := d.Add(ctx, src)
	if err != nil {
		return r, err
	}
	if err := d.WaitUpToDate(ctx, f, tree.Files, total, limit); err != nil {
		return r, err
	}
	r.Took = time.Since(start)
	c1, err := cpuOf(d.PID())
	if err != nil {
		return r, err
	}
	r.CPU = c1 - c0
	if apart {
		g1, err := cpuOf(grid.PID())
		if err != nil {
			return r, err
		}
		r.GridCPU = g1 - g0
	}
	rc, err := d.ReadCap(ctx, f)
	if err != nil {
		return r, err
	}
	sizes := tree.Sizes()
	for i := 0; i < tree.Files; i += max(1, tree.Files/50) {
		got, code, err := d.Get(ctx, uriPath(rc, tree.Path(i)))
		if err != nil || code != http.StatusOK {
			return r, fmt.Errorf("reading back %s: %d %v", tree.Path(i), code, err)
		}
		if err := SameContent(tree.Path(i)+" read back from the grid", strings.NewReader(string(got)), Content(tree.Seed, i, sizes[i])); err != nil {
			return r, err
		}
	}
	return r, nil
}

// BigFileReport is the daemon's memory while one big file syncs.
type BigFileReport struct {
	Took time.Duration
	MemoryReport
}

// LAFSBigFile samples the syncing node's memory (the daemon's, or with
// apart the second node's: see startSyncer) every 200 ms from lafs sync
// add of a folder holding one file of size bytes to the folder being up
// to date, then checks the grid holds a file of that size.
func LAFSBigFile(ctx context.Context, bin, work string, size int64, apart bool, limit time.Duration) (BigFileReport, error) {
	var r BigFileReport
	d, _, stop, err := startSyncer(ctx, bin, work, apart)
	if err != nil {
		return r, err
	}
	defer stop()
	src := filepath.Join(work, "big")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return r, err
	}
	if err := WriteFile(filepath.Join(src, "big.bin"), 4, size); err != nil {
		return r, err
	}
	s := SampleMemory(d.PID(), 200*time.Millisecond)
	start := time.Now()
	f, err := d.Add(ctx, src)
	if err == nil {
		err = d.WaitUpToDate(ctx, f, 1, size, limit)
	}
	r.Took = time.Since(start)
	r.MemoryReport = s.Stop()
	if err != nil {
		return r, err
	}
	rc, err := d.ReadCap(ctx, f)
	if err != nil {
		return r, err
	}
	b, code, err := d.Get(ctx, uriPath(rc, "big.bin")+"?t=json")
	if err != nil || code != http.StatusOK {
		return r, fmt.Errorf("big.bin on the grid: %d %v %s", code, err, b)
	}
	var fn []json.RawMessage
	var desc struct {
		Size int64 `json:"size"`
	}
	if json.Unmarshal(b, &fn) != nil || len(fn) != 2 || json.Unmarshal(fn[1], &desc) != nil || desc.Size != size {
		return r, fmt.Errorf("big.bin on the grid is not %d bytes: %s", size, b)
	}
	return r, nil
}

// LAFSIdle adds folders folders of tree to one node (the daemon, or with
// apart a second node: see startSyncer), waits until all are up to date,
// lets it settle, then measures that node's CPU over d.
func LAFSIdle(ctx context.Context, bin, work string, folders int, tree Tree, settle, d time.Duration, apart bool, limit time.Duration) (IdleCPU, error) {
	n, _, stop, err := startSyncer(ctx, bin, work, apart)
	if err != nil {
		return IdleCPU{}, err
	}
	defer stop()
	var names []string
	var totals []int64
	for i := range folders {
		t := tree
		t.Seed += uint64(i)
		src := filepath.Join(work, fmt.Sprintf("idle%02d", i))
		total, err := t.Write(src)
		if err != nil {
			return IdleCPU{}, err
		}
		totals = append(totals, total)
	}
	start := time.Now()
	for i := range folders {
		f, err := n.Add(ctx, filepath.Join(work, fmt.Sprintf("idle%02d", i)))
		if err != nil {
			return IdleCPU{}, err
		}
		names = append(names, f)
	}
	for i, f := range names {
		if err := n.WaitUpToDate(ctx, f, tree.Files, totals[i], limit-time.Since(start)); err != nil {
			return IdleCPU{}, err
		}
	}
	setup := time.Since(start)
	time.Sleep(settle)
	c, err := measureIdle(ctx, n.PID(), d)
	c.Setup = setup
	return c, err
}
