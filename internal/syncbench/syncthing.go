package syncbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Syncthing is one Syncthing instance of the anchor: its own home
// directory, listening and serving its REST API on 127.0.0.1 only, with
// global and local discovery, relays, NAT traversal, STUN, usage reporting,
// crash reporting and upgrades off.
type Syncthing struct {
	Bin, Home  string
	ID         string // device ID
	GUIPort    int
	ListenPort int
	APIKey     string
	// WatcherDelayS is the fsWatcherDelayS default the generated config
	// gives new folders (Syncthing's documented default is 10).
	WatcherDelayS int

	cmd  *exec.Cmd
	pid  int // the syncing process: the monitor's child
	done chan error
	hc   *http.Client
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// NewSyncthing generates a Syncthing home (keys and config.xml) under
// home and rewrites its options for a loopback-only benchmark.
func NewSyncthing(ctx context.Context, bin, home string) (*Syncthing, error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, bin, "generate", "--home="+home, "--no-default-folder", "--skip-port-probing").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("syncthing generate --home=%s: %v\n%s", home, err, out)
	}
	s := &Syncthing{Bin: bin, Home: home, hc: &http.Client{Timeout: time.Minute}}
	if m := regexp.MustCompile(`Device ID: ([A-Z0-9-]{63})`).FindSubmatch(out); m != nil {
		s.ID = string(m[1])
	} else {
		return nil, fmt.Errorf("syncthing generate printed no device ID:\n%s", out)
	}
	if s.GUIPort, err = freePort(); err != nil {
		return nil, err
	}
	if s.ListenPort, err = freePort(); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(home, "config.xml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, err
	}
	cfg := string(b)
	if m := regexp.MustCompile(`<apikey>([^<]+)</apikey>`).FindStringSubmatch(cfg); m != nil {
		s.APIKey = m[1]
	} else {
		return nil, fmt.Errorf("%s has no <apikey>", cfgPath)
	}
	if m := regexp.MustCompile(`fsWatcherDelayS="(\d+)"`).FindStringSubmatch(cfg); m != nil {
		fmt.Sscan(m[1], &s.WatcherDelayS)
	}
	set := func(elem, value string) error {
		re := regexp.MustCompile(`<` + elem + `>[^<]*</` + elem + `>`)
		if !re.MatchString(cfg) {
			return fmt.Errorf("%s has no <%s> to set", cfgPath, elem)
		}
		cfg = re.ReplaceAllLiteralString(cfg, "<"+elem+">"+value+"</"+elem+">")
		return nil
	}
	for _, kv := range [][2]string{
		{"listenAddress", fmt.Sprintf("tcp://127.0.0.1:%d", s.ListenPort)},
		{"globalAnnounceEnabled", "false"},
		{"localAnnounceEnabled", "false"},
		{"relaysEnabled", "false"},
		{"natEnabled", "false"},
		{"stunKeepaliveStartS", "0"}, // 0 turns STUN off
		{"urAccepted", "-1"},         // usage reporting declined
		{"autoUpgradeIntervalH", "0"},
		{"crashReportingEnabled", "false"},
		{"startBrowser", "false"},
		// LAFS Sync runs at normal priority; so does the anchor.
		{"setLowPriority", "false"},
		{"address", fmt.Sprintf("127.0.0.1:%d", s.GUIPort)}, // the GUI's (devices say "dynamic")
	} {
		if kv[0] == "address" {
			re := regexp.MustCompile(`(<gui[^>]*>\s*)<address>[^<]*</address>`)
			if !re.MatchString(cfg) {
				return nil, fmt.Errorf("%s has no GUI address", cfgPath)
			}
			cfg = re.ReplaceAllString(cfg, "${1}<address>"+kv[1]+"</address>")
			continue
		}
		if err := set(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	return s, nil
}

// Start runs the instance (one process: no monitor, no restarts) and
// waits for its REST API.
func (s *Syncthing) Start(ctx context.Context) error {
	logf, err := os.Create(filepath.Join(s.Home, "syncthing.log"))
	if err != nil {
		return err
	}
	s.cmd = exec.Command(s.Bin, "serve", "--home="+s.Home, "--no-browser", "--no-restart", "--no-upgrade",
		"--gui-address=http://127.0.0.1:"+fmt.Sprint(s.GUIPort), "--gui-apikey="+s.APIKey)
	s.cmd.Env = append(os.Environ(), "STNODEFAULTFOLDER=1", "STNOUPGRADE=1", "STNORESTART=1")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start syncthing: %w", err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait(); logf.Close() }()
	err = poll(ctx, 30*time.Second, 50*time.Millisecond, "syncthing's REST API on port "+fmt.Sprint(s.GUIPort), func() (bool, error) {
		select {
		case err := <-s.done:
			s.done <- err
			return false, fmt.Errorf("syncthing exited: %v (log: %s)", err, filepath.Join(s.Home, "syncthing.log"))
		default:
		}
		return s.call(ctx, "GET", "/rest/system/ping", nil, nil) == nil, nil
	})
	if err != nil {
		return err
	}
	s.pid = s.cmd.Process.Pid
	if kids, err := Children(s.pid); err == nil && len(kids) == 1 {
		s.pid = kids[0]
	} else if len(kids) > 1 {
		return fmt.Errorf("syncthing's monitor %d has %d children, want one", s.pid, len(kids))
	}
	return nil
}

// PID is the running instance's process ID: Syncthing's serve process
// is a monitor that runs the real instance as its child (even with
// --no-restart), and the child is what syncs, so it is what is measured.
func (s *Syncthing) PID() int { return s.pid }

// Stop ends the instance and waits for it (killing it after 10 s).
func (s *Syncthing) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

func (s *Syncthing) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("http://127.0.0.1:%d%s", s.GUIPort, path), body)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", s.APIKey)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("syncthing %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// AddDevice lets the instance talk to peer at its loopback address.
func (s *Syncthing) AddDevice(ctx context.Context, peer *Syncthing) error {
	return s.call(ctx, "POST", "/rest/config/devices", map[string]any{
		"deviceID":  peer.ID,
		"name":      filepath.Base(peer.Home),
		"addresses": []string{fmt.Sprintf("tcp://127.0.0.1:%d", peer.ListenPort)},
	}, nil)
}

// AddFolder adds folder id at path, shared with the peers, with the
// config's defaults for everything else (watcher on, fsWatcherDelayS
// 10) unless watcherDelayS > 0.
func (s *Syncthing) AddFolder(ctx context.Context, id, path string, watcherDelayS int, peers ...*Syncthing) error {
	devs := []map[string]string{{"deviceID": s.ID}}
	for _, p := range peers {
		devs = append(devs, map[string]string{"deviceID": p.ID})
	}
	f := map[string]any{"id": id, "label": id, "path": path, "type": "sendreceive", "devices": devs}
	if watcherDelayS > 0 {
		f["fsWatcherDelayS"] = watcherDelayS
	}
	return s.call(ctx, "POST", "/rest/config/folders", f, nil)
}

// Connected says whether the instance has a connection to peer.
func (s *Syncthing) Connected(ctx context.Context, peer *Syncthing) (bool, error) {
	var c struct {
		Connections map[string]struct {
			Connected bool `json:"connected"`
		} `json:"connections"`
	}
	if err := s.call(ctx, "GET", "/rest/system/connections", nil, &c); err != nil {
		return false, err
	}
	return c.Connections[peer.ID].Connected, nil
}

// FolderStatus is the part of /rest/db/status the benchmark reads.
type FolderStatus struct {
	State            string `json:"state"`
	GlobalFiles      int    `json:"globalFiles"`
	GlobalBytes      int64  `json:"globalBytes"`
	LocalFiles       int    `json:"localFiles"`
	LocalDirectories int    `json:"localDirectories"`
	LocalBytes       int64  `json:"localBytes"`
	NeedFiles        int    `json:"needFiles"`
	NeedBytes        int64  `json:"needBytes"`
	Errors           int    `json:"errors"`
	PullErrors       int    `json:"pullErrors"`
}

// Status is folder id's status on this instance.
func (s *Syncthing) Status(ctx context.Context, id string) (FolderStatus, error) {
	var st FolderStatus
	err := s.call(ctx, "GET", "/rest/db/status?folder="+id, nil, &st)
	return st, err
}

// Pair starts two connected instances, a and b, under dir.
func Pair(ctx context.Context, bin, dir string) (a, b *Syncthing, err error) {
	if a, err = NewSyncthing(ctx, bin, filepath.Join(dir, "st-a")); err != nil {
		return nil, nil, err
	}
	if b, err = NewSyncthing(ctx, bin, filepath.Join(dir, "st-b")); err != nil {
		return nil, nil, err
	}
	if err = a.Start(ctx); err != nil {
		return nil, nil, err
	}
	if err = b.Start(ctx); err != nil {
		a.Stop()
		return nil, nil, err
	}
	fail := func(e error) (*Syncthing, *Syncthing, error) { a.Stop(); b.Stop(); return nil, nil, e }
	if err = a.AddDevice(ctx, b); err != nil {
		return fail(err)
	}
	if err = b.AddDevice(ctx, a); err != nil {
		return fail(err)
	}
	err = poll(ctx, 90*time.Second, 100*time.Millisecond, "the two Syncthing instances to connect", func() (bool, error) {
		ok, err := a.Connected(ctx, b)
		return ok && err == nil, nil
	})
	if err != nil {
		return fail(err)
	}
	return a, b, nil
}

// WaitInSync waits until folder id on s holds files files of bytes bytes
// and needs nothing.
func (s *Syncthing) WaitInSync(ctx context.Context, id string, files int, bytes int64, limit time.Duration) error {
	var last FolderStatus
	err := poll(ctx, limit, 50*time.Millisecond, fmt.Sprintf("syncthing folder %s to hold %d files", id, files), func() (bool, error) {
		st, err := s.Status(ctx, id)
		if err != nil {
			return false, nil
		}
		last = st
		// Syncthing counts every directory as 128 bytes.
		// Done pulling: after it an instance may wait to rescan
		// ("scan-waiting") with nothing left to fetch.
		return !strings.HasPrefix(st.State, "sync") && st.State != "" && st.LocalFiles == files && st.GlobalFiles == files &&
			st.LocalBytes-128*int64(st.LocalDirectories) == bytes && st.NeedFiles == 0 && st.NeedBytes == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last status %+v)", err, last)
	}
	return nil
}

// poll calls cond every interval until it is true, it fails, ctx ends or
// limit passes.
func poll(ctx context.Context, limit, every time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(every):
		}
	}
}
