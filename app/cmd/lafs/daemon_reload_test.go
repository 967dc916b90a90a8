package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/webapi"
)

// lafs daemon's node takes tahoe.cfg's live keys while it runs, as lafs
// run does (POST /node/reload, what lafs reachability --apply calls), and
// refuses a key that needs a restart with what to do, keeping its
// connections either way (it cannot restart inside the daemon). The live
// keys include [node] reachability and upnp (the advice use-relay and
// enable-upnp).
func TestDaemonTakesLiveKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	startDaemon(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, "node.url"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := webapi.LoadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	reload := func() (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, strings.TrimSpace(string(b))+strings.TrimPrefix(fullnode.ReloadPath, "/"), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}

	if _, err := config.Edit(dir, []config.Setting{{Section: "client", Key: "helper", Value: "off"}}); err != nil {
		t.Fatal(err)
	}
	code, body := reload()
	var res fullnode.ReloadResult
	if code != http.StatusOK || json.Unmarshal(body, &res) != nil || res.Restarting || len(res.Live) != 1 || res.Live[0] != "client.helper" {
		t.Fatalf("reload after [client] helper = off: %d %s", code, body)
	}

	// What the advice use-relay and enable-upnp write is taken live too.
	if _, err := config.Edit(dir, []config.Setting{{Section: "node", Key: "reachability", Value: "outbound-only"},
		{Section: "node", Key: "upnp", Value: "false"}}); err != nil {
		t.Fatal(err)
	}
	code, body = reload()
	res = fullnode.ReloadResult{}
	if code != http.StatusOK || json.Unmarshal(body, &res) != nil || res.Restarting || !slices.Equal(res.Live, []string{"node.reachability", "node.upnp"}) {
		t.Fatalf("reload after [node] reachability = outbound-only, upnp = false: %d %s", code, body)
	}
	if s := status(t, nil, dir); s.Node == nil || s.Node.Reachability != "outbound-only" {
		t.Errorf("after the reload the daemon's node announces %+v, want outbound-only", s.Node)
	}

	if _, err := config.Edit(dir, []config.Setting{{Section: "node", Key: "nickname", Value: "renamed"}}); err != nil {
		t.Fatal(err)
	}
	code, body = reload()
	if code != http.StatusConflict || !strings.Contains(string(body), "node.nickname takes effect when it next starts") {
		t.Fatalf("reload after [node] nickname = renamed: %d %s", code, body)
	}
	if s := status(t, nil, dir); s.connected() != 10 {
		t.Errorf("after the reloads the daemon's node is connected to %d servers, want 10", s.connected())
	}
}
