package processtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/ini.v1"

	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/storage/mem"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/helper"
)

var lafsBin string

func TestMain(m *testing.M) {
	// The tests read private/api_auth_token; with a keyring that answers
	// (an unlocked desktop session) the nodes they start would keep the
	// token there instead and the file would not exist.
	os.Setenv("LAFSSYNC_KEYRING", "off")
	testkit.RunWithLafs(m, &lafsBin)
}

func lafs(t *testing.T, args ...string) string {
	t.Helper()
	return testkit.Lafs(t, lafsBin, args...)
}

// node is one `lafs run` process.
type node struct{ *testkit.Node }

func run(t *testing.T, dir, want string) *node {
	t.Helper()
	return &node{testkit.RunNode(t, dir, want, lafsBin, "run", dir)}
}

func (n *node) kill9() { n.Cmd.Process.Kill(); <-n.Done }

// setCfg sets keys in DIR/tahoe.cfg.
func setCfg(t *testing.T, dir string, kv ...string) {
	t.Helper()
	p := filepath.Join(dir, config.File)
	f, err := ini.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+2 < len(kv)+1; i += 3 {
		f.Section(kv[i]).Key(kv[i+1]).SetValue(kv[i+2])
	}
	if err := f.SaveTo(p); err != nil {
		t.Fatal(err)
	}
}

// web calls a node's web API.
func web(ctx context.Context, dir, method, path string, body io.Reader) (int, []byte, error) {
	u, err := os.ReadFile(filepath.Join(dir, "node.url"))
	if err != nil {
		return 0, nil, err
	}
	tok, err := os.ReadFile(filepath.Join(dir, "private", "api_auth_token"))
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSpace(string(u))+strings.TrimPrefix(path, "/"), body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func mustWeb(t *testing.T, dir, method, path string, body []byte) []byte {
	t.Helper()
	code, b, err := web(context.Background(), dir, method, path, bytes.NewReader(body))
	if err != nil || code/100 != 2 {
		t.Fatalf("%s %s on %s: %d %v %s", method, path, filepath.Base(dir), code, err, b)
	}
	return b
}

type status struct {
	Node struct {
		ID     string        `json:"id"`
		Helper *helper.Stats `json:"helper"`
		Uses   struct {
			Helper string `json:"helper"`
		} `json:"uses"`
		Peers []struct {
			ID        string `json:"id"`
			Service   string `json:"service"`
			Connected bool   `json:"connected"`
		} `json:"peers"`
	} `json:"node"`
}

func nodeStatus(t *testing.T, dir string) status {
	var s status
	json.Unmarshal(mustWeb(t, dir, "GET", "status", nil), &s)
	return s
}

func pattern(size int, seed byte) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*31) ^ byte(i>>10) ^ seed
	}
	return b
}

// directCap is the cap a direct upload of d with dir's convergence
// secret and the grid's encoding gives (uploaded to servers in memory:
// the cap depends on the bytes, the secret and the encoding alone).
func directCap(t *testing.T, dir string, d []byte) string {
	t.Helper()
	sec, err := config.LoadClientSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, servers := mem.NewGrid(4)
	p := immutable.DefaultParams()
	p.K, p.Happy, p.N = 2, 3, 4
	up, err := (&immutable.Client{Servers: servers, Params: p, Convergence: sec.Convergence, LeaseSecret: []byte("x")}).Upload(context.Background(), bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	return up.Cap.String()
}

func shares(dir string) int { return testkit.CountShares(dir) }

// Storage servers and clients that cannot reach each other (all
// outbound-only on loopback: nobody announces an address but the
// introducer and the helper) put and get files, and make and list
// directories, through a public helper. The cap equals a direct upload's;
// a client killed mid-upload resumes where the helper's copy stops while
// another client's upload goes through meanwhile.
func TestHelperBetweenProcesses(t *testing.T) {
	root := t.TempDir()
	intro := filepath.Join(root, "intro")
	lafs(t, "create-introducer", "--nickname", "intro", intro)
	run(t, intro, "introducer address: ")
	iu := testkit.IntroducerURL(t, intro)
	enc := []string{"client", "shares.needed", "2", "client", "shares.happy", "3", "client", "shares.total", "4"}

	helperDir := filepath.Join(root, "helper")
	lafs(t, "create-node", "--nickname", "helper", "--introducer", iu, helperDir)
	// 2 MiB/s per upload: slow enough to kill a client mid-upload.
	// 16 MiB open per client: the 17 MiB upload at the end is refused.
	setCfg(t, helperDir, append([]string{"helper", "enabled", "true", "helper", "max_receive_rate", "2MiB", "helper", "max_spool_per_client", "16MiB",
		"node", "reachability", "public"}, enc...)...)
	run(t, helperDir, "web API: ")
	helperID := nodeStatus(t, helperDir).Node.ID

	var servers []string
	for i := 0; i < 4; i++ {
		dir := filepath.Join(root, fmt.Sprintf("s%d", i))
		lafs(t, "create-node", "--storage", "--outbound-only", "--nickname", fmt.Sprintf("s%d", i), "--introducer", iu, dir)
		run(t, dir, "web API: ")
		servers = append(servers, dir)
	}
	clients := map[string]string{}
	for _, name := range []string{"alice", "bob"} {
		dir := filepath.Join(root, name)
		lafs(t, "create-node", "--outbound-only", "--nickname", name, "--introducer", iu, dir)
		use := helperID // alice names the helper
		if name == "bob" {
			use = "auto" // bob reaches no server himself: auto picks the helper
		}
		setCfg(t, dir, append([]string{"client", "helper", use}, enc...)...)
		clients[name] = dir
	}
	alice := run(t, clients["alice"], "web API: ")
	run(t, clients["bob"], "web API: ")
	testkit.WaitFor(t, "the helper to connect to the four servers and both clients", 60*time.Second, func() bool {
		k := 0
		for _, p := range nodeStatus(t, helperDir).Node.Peers {
			if p.Connected {
				k++
			}
		}
		return k >= 6
	})
	for _, c := range clients {
		for _, p := range nodeStatus(t, c).Node.Peers {
			if p.Service == "storage" && p.Connected {
				t.Fatalf("%s is connected to storage server %s directly: the test needs them apart", filepath.Base(c), p.ID)
			}
		}
	}

	// Put and get through the helper; the cap is the direct upload's.
	d := pattern(5<<20+333, 1)
	capText := string(mustWeb(t, clients["alice"], "PUT", "uri", d))
	if want := directCap(t, clients["alice"], d); capText != want {
		t.Fatal("the cap of the upload through the helper differs from a direct upload's")
	}
	for _, s := range servers {
		if shares(s) == 0 {
			t.Fatalf("no share on %s", filepath.Base(s))
		}
	}
	// The status documents count it: the helper placed one upload (2-of-4:
	// twice the file in shares), and Alice says she uses the helper.
	if h := nodeStatus(t, helperDir).Node.Helper; h == nil || h.UploadsDone != 1 || h.BytesIn < int64(len(d)) || h.BytesOut < 2*int64(len(d)) ||
		h.ActiveUploads != 0 || h.SpoolBytes != 0 || h.RefusedByLimit != 0 {
		t.Fatalf("the helper's status after one %d-byte upload: %+v, want 1 done, ≥ %d bytes in, ≥ %d out, nothing open or refused", len(d), h, len(d), 2*len(d))
	}
	if u := nodeStatus(t, clients["alice"]).Node.Uses.Helper; u != helperID {
		t.Fatalf("alice's status says she uses helper %q, want %s", u, helperID)
	}
	if got := mustWeb(t, clients["bob"], "GET", "uri/"+capText, nil); !bytes.Equal(got, d) {
		t.Fatal("bob's download through the helper differs")
	}
	// Bob's download went through the helper's forwarding: its answers count too.
	if h := nodeStatus(t, helperDir).Node.Helper; h.Forwarded == 0 || h.BytesOut < 2*int64(len(d))+int64(len(d)/2) {
		t.Fatalf("the helper's status after a forwarded download: %+v, want forwarded calls and ≥ %d bytes out", h, 2*len(d)+len(d)/2)
	}
	// Directories (mutable files) through the helper's forwarding.
	dirCap := strings.TrimSpace(string(mustWeb(t, clients["bob"], "POST", "uri?t=mkdir", nil)))
	mustWeb(t, clients["bob"], "PUT", "uri/"+dirCap+"/hello.txt", []byte("hello through the helper"))
	if ls := mustWeb(t, clients["alice"], "GET", "uri/"+dirCap+"?t=json", nil); !bytes.Contains(ls, []byte("hello.txt")) {
		t.Fatalf("listing made through the helper lacks the file: %s", ls)
	}

	// Alice is killed mid-upload; Bob uploads meanwhile; Alice resumes.
	big := pattern(12<<20, 2)
	errc := make(chan error, 1)
	go func() {
		code, b, err := web(context.Background(), clients["alice"], "PUT", "uri", bytes.NewReader(big))
		if err == nil && code/100 == 2 {
			err = fmt.Errorf("finished before the kill: %s", b)
		}
		errc <- err
	}()
	spool := filepath.Join(helperDir, "helper", "incoming", nodeStatus(t, clients["alice"]).Node.ID)
	spooled := func() int64 {
		var n int64
		files, _ := filepath.Glob(filepath.Join(spool, "*"))
		for _, f := range files {
			if !strings.HasSuffix(f, ".json") {
				if fi, err := os.Stat(f); err == nil {
					n += fi.Size()
				}
			}
		}
		return n
	}
	testkit.WaitFor(t, "the helper to hold 2 MiB of Alice's file", 60*time.Second, func() bool { return spooled() >= 2<<20 })
	if h := nodeStatus(t, helperDir).Node.Helper; h.ActiveUploads != 1 || h.SpoolBytes < 2<<20 || h.SpoolReserved != int64(len(big)) {
		t.Fatalf("the helper's status during Alice's upload: %+v, want 1 active, ≥ 2 MiB spooled, %d reserved", h, len(big))
	}
	bobFile := pattern(3<<20, 3)
	bobCap := string(mustWeb(t, clients["bob"], "PUT", "uri", bobFile))
	alice.kill9()
	<-errc
	var have int64
	testkit.WaitFor(t, "Alice's spool to stop growing", 30*time.Second, func() bool {
		a := spooled()
		time.Sleep(500 * time.Millisecond)
		have = spooled()
		return a == have
	})
	if have >= int64(len(big)) || have < 2<<20 {
		t.Fatalf("the helper holds %d bytes of Alice's %d-byte file after the kill", have, len(big))
	}
	run(t, clients["alice"], "web API: ")
	testkit.WaitFor(t, "Alice to reconnect to the helper", 60*time.Second, func() bool {
		for _, p := range nodeStatus(t, clients["alice"]).Node.Peers {
			if p.ID == helperID && p.Connected {
				return true
			}
		}
		return false
	})
	t0 := time.Now()
	capBig := string(mustWeb(t, clients["alice"], "PUT", "uri", big))
	if want := directCap(t, clients["alice"], big); capBig != want {
		t.Fatal("the resumed upload's cap differs from a direct upload's")
	}
	logb, _ := os.ReadFile(helperDir + ".log") // lafs run logs to stderr
	m := regexp.MustCompile(`helper: upload resumed.* have=(\d+)`).FindAllSubmatch(logb, -1)
	if len(m) == 0 {
		t.Fatalf("the helper's log has no resumed upload")
	}
	resumedAt, _ := strconv.ParseInt(string(m[len(m)-1][1]), 10, 64)
	if resumedAt < have {
		t.Fatalf("resumed at %d, but the helper held %d", resumedAt, have)
	}
	// At 2 MiB/s the rest takes (size-have)/2 MiB s; the whole would take 6 s.
	t.Logf("resumed at %d of %d bytes; the rest took %v", resumedAt, len(big), time.Since(t0).Round(time.Millisecond))
	if got := mustWeb(t, clients["bob"], "GET", "uri/"+capBig, nil); !bytes.Equal(got, big) {
		t.Fatal("the resumed file differs")
	}
	if got := mustWeb(t, clients["alice"], "GET", "uri/"+bobCap, nil); !bytes.Equal(got, bobFile) {
		t.Fatal("bob's file (uploaded while alice hung) differs")
	}
	if left, _ := filepath.Glob(filepath.Join(helperDir, "helper", "incoming", "*", "*")); len(left) != 0 {
		t.Fatalf("spool files left: %v", left)
	}
	// A file over the helper's 16 MiB per client is refused, and counted.
	before := nodeStatus(t, helperDir).Node.Helper
	if code, b, err := web(context.Background(), clients["bob"], "PUT", "uri", bytes.NewReader(pattern(17<<20, 4))); err == nil && code/100 == 2 {
		t.Fatalf("a 17 MiB upload through a helper that allows 16 MiB per client succeeded: %s", b)
	}
	h := nodeStatus(t, helperDir).Node.Helper
	if h.RefusedByLimit != 1 || h.UploadsDone != 3 || h.ActiveUploads != 0 || h.SpoolBytes != 0 || h.SpoolReserved != 0 {
		t.Fatalf("the helper's status after a refusal: %+v (before: %+v), want 1 refused by limit, 3 uploads done, nothing open", h, before)
	}
	t.Logf("helper status at the end: %+v", *h)
}
