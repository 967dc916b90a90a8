// Package processtest runs the CLI (node/client) against real lafs
// processes: a client node that reaches its storage servers only through
// an upload helper.
package processtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/status"
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

// run starts `lafs run dir` until the test ends and waits for want on its
// standard output.
func run(t *testing.T, dir, want string) {
	t.Helper()
	testkit.RunNode(t, dir, want, lafsBin, "run", dir)
}

// nodeStatus is the running node's GET /status.
func nodeStatus(t *testing.T, dir string) status.Document {
	t.Helper()
	u, err := os.ReadFile(filepath.Join(dir, "node.url"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "private", "api_auth_token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSpace(string(u))+"status", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d status.Document
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || d.Node == nil {
		t.Fatalf("status of %s: %v", filepath.Base(dir), err)
	}
	return d
}

// A client and two storage servers that cannot reach each other (all
// outbound-only on loopback), and a public upload helper between them: the
// client's CLI — put, get, mkdir, put into a directory, ls, get through
// it — works through the running node, which reaches the servers through
// the helper, and every server gets a share of each object.
func TestCLIThroughTheNodesHelper(t *testing.T) {
	root := t.TempDir()
	intro := filepath.Join(root, "intro")
	lafs(t, "create-introducer", "--nickname", "intro", intro)
	run(t, intro, "introducer address: ")
	iu := testkit.IntroducerURL(t, intro)

	helperDir := filepath.Join(root, "helper")
	lafs(t, "create-node", "--nickname", "helper", "--introducer", iu, helperDir)
	if _, err := config.Edit(helperDir, []config.Setting{{Section: "helper", Key: "enabled", Value: "true"},
		{Section: "relay", Key: "enabled", Value: "false"}, {Section: "node", Key: "reachability", Value: "public"}}); err != nil {
		t.Fatal(err)
	}
	run(t, helperDir, "web API: ")

	var servers []string
	for i := range 2 {
		dir := filepath.Join(root, fmt.Sprintf("s%d", i))
		lafs(t, "create-node", "--storage", "--outbound-only", "--nickname", fmt.Sprintf("s%d", i), "--introducer", iu, dir)
		run(t, dir, "web API: ")
		servers = append(servers, dir)
	}
	client := filepath.Join(root, "client")
	lafs(t, "create-node", "--outbound-only", "--nickname", "client", "--introducer", iu, client)
	c, err := config.Load(client)
	if err != nil {
		t.Fatal(err)
	}
	c.SharesNeeded, c.SharesHappy, c.SharesTotal = 1, 2, 2 // every server holds a share of everything
	if err := config.Save(client, c); err != nil {
		t.Fatal(err)
	}
	run(t, client, "web API: ")
	testkit.WaitFor(t, "the client to reach both servers through the helper", 60*time.Second, func() bool {
		n := 0
		for _, s := range nodeStatus(t, client).Servers {
			if s.Connected {
				n++
			}
		}
		return n == 2
	})
	for _, p := range nodeStatus(t, client).Node.Peers {
		if p.Service == "storage" && p.Connected {
			t.Fatalf("the client is connected to storage server %s itself: the test needs them apart", p.Nickname)
		}
	}

	before := map[string]int{}
	for _, s := range servers {
		before[s] = testkit.CountShares(s)
	}
	data := bytes.Repeat([]byte("the CLI through the node's helper\n"), 8000) // above the literal limit
	src := filepath.Join(root, "file")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	capText := strings.TrimSpace(lafs(t, "-d", client, "put", "-q", src))
	if !strings.HasPrefix(capText, "URI:CHK:") {
		t.Fatalf("put printed %q", capText)
	}
	back := filepath.Join(root, "back")
	lafs(t, "-d", client, "get", capText, back)
	if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
		t.Fatalf("get returned %d bytes, want the %d put", len(got), len(data))
	}
	lafs(t, "-d", client, "create-alias", "m")
	lafs(t, "-d", client, "mkdir", "m:dir")
	lafs(t, "-d", client, "put", "-q", src, "m:dir/f")
	if out := lafs(t, "-d", client, "ls", "m:dir"); !strings.Contains(out, "f") {
		t.Fatalf("ls m:dir printed %q, want the file f", out)
	}
	os.Remove(back)
	lafs(t, "-d", client, "get", "m:dir/f", back)
	if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
		t.Fatalf("get m:dir/f returned %d bytes, want the %d put", len(got), len(data))
	}
	// The file (one CHK, put twice), the alias's directory and dir.
	for _, s := range servers {
		if got := testkit.CountShares(s) - before[s]; got < 3 {
			t.Errorf("server %s holds %d new shares, want one of each of the 3 objects", filepath.Base(s), got)
		}
	}
	for _, p := range nodeStatus(t, client).Node.Peers {
		if p.Service == "storage" && p.Connected {
			t.Errorf("after the operations the client is connected to storage server %s itself", p.Nickname)
		}
	}
}
