package reach

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/storagenode"
)

// TestNodeSourceBeforeTheFirstCheck: a node that has not checked yet
// reports unknown with no advice, an empty grid, and refuses to apply
// advice it does not give without touching tahoe.cfg.
func TestNodeSourceBeforeTheFirstCheck(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	if _, err := storagenode.Create(dir, storagenode.CreateOptions{Storage: true, Nickname: "laptop"}); err != nil {
		t.Fatal(err)
	}
	n, err := fullnode.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := NodeSource(n)
	if r := s.Report(); r.Verdict != nat.VerdictUnknown || len(r.Advice) != 0 {
		t.Errorf("report %+v", r)
	}
	if g := s.Grid(); g.Connected != 0 || g.Helper != "" || len(g.Relays) != 0 || g.Happy != 0 {
		t.Errorf("grid %+v of a node that is not running", g)
	}
	before, _ := os.ReadFile(filepath.Join(dir, config.File))
	_, err = s.Apply(nat.AdviceStorageOff)
	if err == nil || !strings.Contains(err.Error(), "does not apply to this node now") {
		t.Errorf("Apply of advice not given: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, config.File))
	if string(before) != string(after) {
		t.Error("a refused Apply changed tahoe.cfg")
	}
	if _, err := os.Stat(filepath.Join(dir, config.BackupFile)); err == nil {
		t.Error("a refused Apply wrote a backup")
	}
}

func TestNodeSourceWhileNoNodeRuns(t *testing.T) {
	s := NodeSourceFunc(func() *fullnode.Node { return nil })
	if r := s.Report(); r.Verdict != nat.VerdictUnknown || !strings.Contains(r.Summary(), "not running") {
		t.Errorf("report %+v", r)
	}
	if r := s.Check(t.Context()); r.Verdict != nat.VerdictUnknown {
		t.Errorf("check %+v", r)
	}
	if _, err := s.Apply(nat.AdviceStorageOff); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("Apply: %v", err)
	}
}
