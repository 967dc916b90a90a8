package nat

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/ini.v1"

	"github.com/lafssync/lafssync/node/config"
)

const baseCfg = `# my node
[node]
nickname = laptop
tub.port = tcp:3456:interface=192.168.1.5
tub.location = tcp:192.168.1.5:3456
reachability = public
upnp = false

[storage]
enabled = true
reserved_space = 1G

[client]
shares.needed = 3
shares.happy = 7
shares.total = 10
`

// everyAdvice makes reports that, together, give every advice there is.
func everyAdvice() []Advice {
	natted := Inputs{Mode: ModePublic, Local: []netip.Addr{netip.MustParseAddr("192.168.1.5")}, ListenPort: 3456, Connected: 1,
		Storage: true, Client: true, UPnPDisabled: true, K: 3, N: 10, Helpers: []string{helperID},
		Observed: []Observation{{Peer: "p", Address: netip.MustParseAddrPort("198.51.100.9:61000")}}}
	cg := natted
	cg.Observed = []Observation{{Peer: "p", Address: netip.MustParseAddrPort("100.70.1.2:61000")}}
	public := Inputs{Mode: ModeAuto, Local: []netip.Addr{netip.MustParseAddr("203.0.113.7")}, Connected: 1, Client: true,
		Candidates: []Candidate{{Address: "203.0.113.7:3456", Source: SourceConfig, Targets: []netip.AddrPort{netip.MustParseAddrPort("203.0.113.7:3456")},
			Confirmed: true, Checks: []Check{{Peer: "p", OK: true}}}}}
	few := natted // a client that reaches 1 of the 7 servers it needs
	few.Helpers, few.Happy, few.ServersReached, few.ServersKnown = nil, 7, 1, 4
	var out []Advice
	seen := map[string]bool{}
	for _, in := range []Inputs{natted, cg, public, few} {
		for _, a := range Decide(in).Advice {
			if !seen[a.ID] {
				seen[a.ID] = true
				out = append(out, a)
			}
		}
	}
	return out
}

func TestApplyEveryAdviceLeavesAValidConfig(t *testing.T) {
	advice := everyAdvice()
	got := map[string]bool{}
	for _, a := range advice {
		got[a.ID] = true
	}
	for _, id := range AllAdvice {
		if !got[id] {
			t.Errorf("no test report gives advice %s", id)
		}
	}
	for _, a := range advice {
		t.Run(a.ID, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, config.File)
			os.WriteFile(path, []byte(baseCfg), 0o600)
			if len(a.Changes) == 0 {
				t.Fatal("advice changes nothing")
			}
			if err := Apply(dir, a); err != nil {
				t.Fatal(err)
			}
			if _, err := config.Load(dir); err != nil {
				t.Fatalf("config no longer loads: %v", err)
			}
			bak, _ := os.ReadFile(filepath.Join(dir, BackupFile))
			if string(bak) != baseCfg {
				t.Errorf("backup is not the old file:\n%s", bak)
			}
			f, err := ini.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range a.Changes {
				if v := f.Section(s.Section).Key(s.Key).String(); v != s.Value {
					t.Errorf("[%s] %s = %q, want %q", s.Section, s.Key, v, s.Value)
				}
			}
			if v := f.Section("node").Key("nickname").String(); v != "laptop" {
				t.Errorf("other keys lost: nickname = %q", v)
			}
			b, _ := os.ReadFile(path)
			if !strings.Contains(string(b), "# my node") {
				t.Errorf("comment lost:\n%s", b)
			}
			if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", st.Mode().Perm())
			}
			left, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestApplyRefusesAnInvalidResult(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, config.File)
	os.WriteFile(path, []byte(baseCfg), 0o600)
	bad := Advice{ID: "x", Changes: []Setting{setting("client", "shares.needed", "0")}}
	if err := Apply(dir, bad); err == nil || !strings.Contains(err.Error(), "not applied") {
		t.Fatalf("invalid change applied: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != baseCfg {
		t.Errorf("tahoe.cfg changed:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(dir, BackupFile)); err == nil {
		t.Error("backup written for a change not made")
	}
}
