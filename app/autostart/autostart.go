// Package autostart turns "start LAFS Sync when I log in" on and off for
// the current user, the way each OS expects it:
//
//   - Linux and other freedesktop systems: a .desktop entry in
//     $XDG_CONFIG_HOME/autostart (default ~/.config/autostart), the
//     XDG Autostart specification;
//   - Windows: the value "LAFS Sync" under HKCU\Software\Microsoft\Windows\CurrentVersion\Run
//     (the same value the .msi's StartAtLogin feature writes);
//   - macOS: a LaunchAgent, ~/Library/LaunchAgents/org.lafssync.lafsync.plist,
//     with RunAtLoad (launchd reads it at the next login).
//
// Only the user's own settings are touched; nothing needs administrator
// rights. Enabling twice is the same as once, and disabling when it is off
// is not an error.
package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lafssync/lafssync/internal/atomicfile"
)

// Name is how the entry is called where the OS shows it (the Windows Run
// value, the .desktop Name).
const Name = "LAFS Sync"

// Entry is what starts at login.
type Entry struct {
	// Program is the absolute path of the tray app to start.
	Program string
	// Args are passed to it.
	Args []string
}

// BackgroundFlag is the tray app's flag for a start at login: the icon
// goes in the tray and no window opens (the first-run wizard still does).
const BackgroundFlag = "--background"

// TrayEntry starts the tray app at program in the background.
func TrayEntry(program string) Entry {
	return Entry{Program: program, Args: []string{BackgroundFlag}}
}

// Status says whether starting at login is on, and where that is recorded.
type Status struct {
	Enabled bool   `json:"enabled"`
	Where   string `json:"where"`             // the file or registry value
	Program string `json:"program,omitempty"` // what it starts, when enabled
}

// ErrRelative is returned for a program path that is not absolute: a login
// session's PATH is not the shell's, so a bare name may not be found.
var ErrRelative = errors.New("the program to start at login must be an absolute path")

func (e Entry) check() error {
	if !filepath.IsAbs(e.Program) {
		return fmt.Errorf("%w: %q", ErrRelative, e.Program)
	}
	return nil
}

// writeFile writes a small file whole (internal/atomicfile), making its
// directory first, so a crash leaves the old entry or the new one.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, data, mode)
}

// removeFile removes path; a file that is already gone is fine.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// FindTrayApp is the tray app's absolute path for an entry: the running
// AppImage when there is one ($APPIMAGE), else the executable itself when
// it is the tray app, else a tray app beside it (lafs and lafsync are
// installed side by side by every package).
func FindTrayApp() (string, error) {
	if p := os.Getenv("APPIMAGE"); p != "" && filepath.IsAbs(p) {
		return p, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(self); err == nil {
		self = r
	}
	base := strings.TrimSuffix(filepath.Base(self), ".exe")
	if base == trayBinary {
		return self, nil
	}
	beside := filepath.Join(filepath.Dir(self), trayBinary+filepath.Ext(self))
	if _, err := os.Stat(beside); err == nil {
		return beside, nil
	}
	return "", fmt.Errorf("the tray app (%s) is not installed beside %s: install LAFS Sync's package, or give the path with --program", trayBinary, self)
}

const trayBinary = "lafsync"
