//go:build !windows && !darwin

package autostart

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestEnableWritesAnXDGAutostartEntry(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	want := filepath.Join(cfg, "autostart", "lafssync.desktop")

	st, err := Get()
	if err != nil || st.Enabled || st.Where != want {
		t.Fatalf("before: %+v, %v; want disabled at %s", st, err, want)
	}
	prog := "/opt/LAFS Sync/bin/lafsync"
	if err := Enable(Entry{Program: prog, Args: []string{"--minimized"}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	const wantFile = "[Desktop Entry]\nType=Application\nVersion=1.4\nName=LAFS Sync\n" +
		"Comment=Start LAFS Sync's tray app when you log in\n" +
		"Exec=\"/opt/LAFS Sync/bin/lafsync\" --minimized\n" +
		"Icon=lafssync\nTerminal=false\nNoDisplay=true\nX-GNOME-Autostart-enabled=true\n"
	if string(b) != wantFile {
		t.Errorf("entry:\n%s\nwant:\n%s", b, wantFile)
	}
	if st, err = Get(); err != nil || !st.Enabled || st.Program != prog {
		t.Errorf("after Enable: %+v, %v; want enabled, program %q", st, err, prog)
	}
	if p, err := exec.LookPath("desktop-file-validate"); err == nil {
		if out, err := exec.Command(p, want).CombinedOutput(); err != nil {
			t.Errorf("desktop-file-validate: %v\n%s", err, out)
		}
	}
	// Enabling again replaces the entry (a moved install updates it).
	if err := Enable(Entry{Program: "/usr/bin/lafsync"}); err != nil {
		t.Fatal(err)
	}
	if st, _ = Get(); st.Program != "/usr/bin/lafsync" {
		t.Errorf("after re-Enable: program %q", st.Program)
	}
	left, _ := filepath.Glob(filepath.Join(cfg, "autostart", ".*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	if err := Disable(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(want); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("entry still there after Disable: %v", err)
	}
	if err := Disable(); err != nil {
		t.Errorf("Disable when off: %v", err)
	}
}

func TestADesktopsOwnSwitchCountsAsOff(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	p := filepath.Join(cfg, "autostart", "lafssync.desktop")
	os.MkdirAll(filepath.Dir(p), 0o755)
	for body, enabled := range map[string]bool{
		"[Desktop Entry]\nExec=lafsync\nX-GNOME-Autostart-enabled=false\n": false,
		"[Desktop Entry]\nExec=lafsync\nHidden=true\n":                     false,
		"[Desktop Entry]\nExec=lafsync\n":                                  true,
	} {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if st, err := Get(); err != nil || st.Enabled != enabled || st.Program != "lafsync" {
			t.Errorf("%q: %+v, %v; want enabled=%v", body, st, err, enabled)
		}
	}
}

func TestExecQuotingRoundTrips(t *testing.T) {
	for prog, want := range map[string]string{
		"/usr/bin/lafsync":         `/usr/bin/lafsync`,
		"/home/a b/lafsync":        `"/home/a b/lafsync"`,
		`/home/$HOME/x"y`:          `"/home/\\$HOME/x\\"y"`,
		`/home/back\slash/lafsync`: `"/home/back\\\\slash/lafsync"`,
		"/home/100%/lafsync":       `"/home/100%%/lafsync"`,
	} {
		got := quoteExec(prog)
		if got != want {
			t.Errorf("quoteExec(%q) = %s, want %s", prog, got, want)
		}
		if back := unquoteExec(got + " --x"); back != prog {
			t.Errorf("unquoteExec(%s) = %q, want %q", got, back, prog)
		}
	}
}

func TestRelativeProgramRefused(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if err := Enable(Entry{Program: "lafsync"}); !errors.Is(err, ErrRelative) {
		t.Errorf("Enable(relative) = %v, want ErrRelative", err)
	}
}
