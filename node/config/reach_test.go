package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReachabilityModes(t *testing.T) {
	for _, c := range []struct {
		file, mode string
		outbound   bool
	}{
		{"", "auto", false}, {"reachability = auto\n", "auto", false}, {"reachability = public\n", "public", false},
		{"reachability = outbound-only\n", "outbound-only", true},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, File), []byte("[node]\n"+c.file), 0o600)
		got, err := Load(dir)
		if err != nil || got.Reachability != c.mode || got.OutboundOnly != c.outbound {
			t.Errorf("%q: mode %q outbound %v err %v; want %q %v", c.file, got.Reachability, got.OutboundOnly, err, c.mode, c.outbound)
			continue
		}
		if err := Save(dir, got); err != nil {
			t.Fatal(err)
		}
		again, err := Load(dir)
		if err != nil || again.Reachability != c.mode {
			t.Errorf("%q: after Save, mode %q (%v)", c.file, again.Reachability, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, File)); c.file == "" && strings.Contains(string(b), "reachability") {
			t.Errorf("Save wrote a reachability the file did not have:\n%s", b)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, File), []byte("[node]\nreachability = sometimes\n"), 0o600)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "want auto, public or outbound-only") {
		t.Errorf("bad mode: %v", err)
	}
}
