package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const editBase = `# my node
[node]
nickname = laptop
tub.port = tcp:3456

[storage]
enabled = true
reserved_space = 1G

[client]
# keep three
shares.needed = 3
shares.happy = 7
shares.total = 10
`

func writeCfg(t *testing.T, s string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, File), []byte(s), 0o640); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestEditSetsKeepsCommentsAndBacksUp(t *testing.T) {
	dir := writeCfg(t, editBase)
	changed, err := Edit(dir, []Setting{
		{"client", "shares.needed", "2"},
		{"client", "shares.happy", "7"}, // unchanged: not reported
		{"storage", "readonly", "true"},
		{"client", "helper", "off"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{{"client", "shares.needed", "2"}, {"storage", "readonly", "true"}, {"client", "helper", "off"}}
	if len(changed) != len(want) {
		t.Fatalf("changed = %v, want %v", changed, want)
	}
	for i := range want {
		if changed[i] != want[i] {
			t.Errorf("changed[%d] = %v, want %v", i, changed[i], want[i])
		}
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.SharesNeeded != 2 || c.SharesHappy != 7 || !c.ReadOnly || c.Nickname != "laptop" || c.ReservedSpace != 1e9 {
		t.Errorf("read back %+v", c)
	}
	if h, err := LoadHelper(dir); err != nil || h.Use != HelperOff {
		t.Errorf("helper read back %q, %v", h.Use, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, File))
	if !strings.Contains(string(b), "# my node") || !strings.Contains(string(b), "# keep three") {
		t.Errorf("comments lost:\n%s", b)
	}
	bak, err := os.ReadFile(filepath.Join(dir, BackupFile))
	if err != nil || string(bak) != editBase {
		t.Errorf("backup = %q, %v; want the old file", bak, err)
	}
	st, _ := os.Stat(filepath.Join(dir, File))
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the old file's 0640", st.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("directory holds %d entries, want tahoe.cfg and its backup only", len(ents))
	}
}

func TestEditRefusesAnInvalidResultAndWritesNothing(t *testing.T) {
	dir := writeCfg(t, editBase)
	_, err := Edit(dir, []Setting{{"client", "shares.needed", "8"}}) // 8 > happy 7
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *InvalidError", err)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Path != filepath.Join(dir, File) || ce.Key != "shares.happy" {
		t.Errorf("error does not name the real file and key: %v", err)
	}
	if strings.Contains(err.Error(), "lafs-cfg-check") {
		t.Errorf("error names the scratch copy: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, File))
	if string(b) != editBase {
		t.Errorf("tahoe.cfg changed:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(dir, BackupFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a backup was written for a refused edit: %v", err)
	}
	if _, err := Edit(dir, []Setting{{"client", "helper", "someone"}}); !errors.As(err, &ie) {
		t.Errorf("bad helper accepted: %v", err)
	}
	if _, err := Edit(dir, []Setting{{"relay", "enabled", "sometimes"}}); !errors.As(err, &ie) {
		t.Errorf("bad relay setting accepted: %v", err)
	}
}

func TestEditNoChangeTouchesNothing(t *testing.T) {
	dir := writeCfg(t, editBase)
	changed, err := Edit(dir, []Setting{{"client", "shares.needed", "3"}, {"storage", "enabled", "true"}})
	if err != nil || len(changed) != 0 {
		t.Fatalf("changed %v, %v", changed, err)
	}
	if _, err := os.Stat(filepath.Join(dir, BackupFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup written for no change: %v", err)
	}
}

func TestEditMissingFileSaysHowToCreateIt(t *testing.T) {
	dir := t.TempDir()
	_, err := Edit(dir, []Setting{{"client", "shares.needed", "2"}})
	if err == nil || !strings.Contains(err.Error(), "lafs create-node") {
		t.Errorf("err = %v", err)
	}
}
