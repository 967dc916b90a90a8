// Package macos checks LAFS Sync's macOS .app bundle the way macOS reads it:
// Info.plist parsed as a property list (the plutil -lint of a Linux build),
// the keys a tray-only app needs, and the files those keys name. The bundle
// itself is assembled by scripts/package.sh from the templates beside this
// file; scripts/package-test.sh runs plistcheck on it.
package macos

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"howett.net/plist"
)

// BundleID is the bundle identifier (also the fyne app ID in app/cmd/lafsync).
const BundleID = "org.lafssync.LAFSSync"

// AgentLabel is the LaunchAgent's label and file name (without .plist).
const AgentLabel = "org.lafssync.lafs"

// Info is the part of Info.plist that is checked.
type Info struct {
	Executable       string `plist:"CFBundleExecutable"`
	Identifier       string `plist:"CFBundleIdentifier"`
	Name             string `plist:"CFBundleName"`
	PackageType      string `plist:"CFBundlePackageType"`
	IconFile         string `plist:"CFBundleIconFile"`
	ShortVersion     string `plist:"CFBundleShortVersionString"`
	Version          string `plist:"CFBundleVersion"`
	InfoDictVersion  string `plist:"CFBundleInfoDictionaryVersion"`
	MinimumOSVersion string `plist:"LSMinimumSystemVersion"`
	UIElement        *bool  `plist:"LSUIElement"`
}

// Agent is the part of the LaunchAgent plist that is checked.
type Agent struct {
	Label            string   `plist:"Label"`
	BundleProgram    string   `plist:"BundleProgram"`
	ProgramArguments []string `plist:"ProgramArguments"`
	RunAtLoad        bool     `plist:"RunAtLoad"`
}

// ReadPlist parses an XML or binary property list strictly: a file that is
// not a property list, or is one of another shape, is an error.
func ReadPlist(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := plist.NewDecoder(bytes.NewReader(data)).Decode(v); err != nil {
		return fmt.Errorf("%s: not a valid property list: %w", path, err)
	}
	return nil
}

// CheckBundle checks the bundle at app ("…/LAFS Sync.app") and returns its
// Info.plist. Every problem found is reported, joined.
func CheckBundle(app, wantVersion string) (*Info, error) {
	c := filepath.Join(app, "Contents")
	var info Info
	if err := ReadPlist(filepath.Join(c, "Info.plist"), &info); err != nil {
		return nil, err
	}
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{app}, a...)...))
	}
	if info.Identifier != BundleID {
		bad("CFBundleIdentifier is %q, want %q", info.Identifier, BundleID)
	}
	if info.PackageType != "APPL" {
		bad("CFBundlePackageType is %q, want APPL", info.PackageType)
	}
	if info.Name == "" || info.InfoDictVersion != "6.0" || info.MinimumOSVersion == "" {
		bad("CFBundleName, CFBundleInfoDictionaryVersion (6.0) or LSMinimumSystemVersion missing")
	}
	if info.UIElement == nil || !*info.UIElement {
		bad("LSUIElement is not true: a tray-only app would show a Dock icon")
	}
	if wantVersion != "" && info.Version != wantVersion {
		bad("CFBundleVersion is %q, want %q", info.Version, wantVersion)
	}
	if info.ShortVersion == "" {
		bad("CFBundleShortVersionString is missing")
	}
	exe := filepath.Join(c, "MacOS", info.Executable)
	if st, err := os.Stat(exe); info.Executable == "" || err != nil || st.Mode()&0o111 == 0 {
		bad("CFBundleExecutable %q is not an executable file in Contents/MacOS", info.Executable)
	}
	if _, err := os.Stat(filepath.Join(c, "Resources", info.IconFile)); info.IconFile == "" || err != nil {
		bad("CFBundleIconFile %q is not in Contents/Resources", info.IconFile)
	}
	var agent Agent
	agentPath := filepath.Join(c, "Library", "LaunchAgents", AgentLabel+".plist")
	if err := ReadPlist(agentPath, &agent); err != nil {
		errs = append(errs, err)
	} else {
		if agent.Label != AgentLabel || !agent.RunAtLoad {
			bad("LaunchAgent: Label %q (want %q), RunAtLoad %v (want true)", agent.Label, AgentLabel, agent.RunAtLoad)
		}
		if agent.BundleProgram != "Contents/MacOS/"+info.Executable {
			bad("LaunchAgent: BundleProgram %q does not start the bundle's executable", agent.BundleProgram)
		}
		if len(agent.ProgramArguments) == 0 || filepath.Base(agent.ProgramArguments[0]) != info.Executable {
			bad("LaunchAgent: ProgramArguments %q do not start the bundle's executable", agent.ProgramArguments)
		}
	}
	return &info, errors.Join(errs...)
}
