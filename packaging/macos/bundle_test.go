package macos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bundle assembles a bundle in a temporary directory from the templates, as
// scripts/package.sh does, with edit applied to Info.plist's text.
func bundle(t *testing.T, edit func(string) string) string {
	t.Helper()
	app := filepath.Join(t.TempDir(), "LAFS Sync.app")
	c := filepath.Join(app, "Contents")
	for _, d := range []string{"MacOS", "Resources", "Library/LaunchAgents"} {
		if err := os.MkdirAll(filepath.Join(c, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fill := func(tmpl, out string, mode os.FileMode, edit func(string) string) {
		b, err := os.ReadFile(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.NewReplacer("@EXECUTABLE@", "lafs-daemon", "@BASE_VERSION@", "0.1.0", "@VERSION@", "0.1.0-test").Replace(string(b))
		if edit != nil {
			s = edit(s)
		}
		if err := os.WriteFile(out, []byte(s), mode); err != nil {
			t.Fatal(err)
		}
	}
	fill("Info.plist.in", filepath.Join(c, "Info.plist"), 0o644, edit)
	fill("org.lafssync.lafs.plist.in", filepath.Join(c, "Library/LaunchAgents", AgentLabel+".plist"), 0o644, nil)
	fill("lafs-daemon.sh", filepath.Join(c, "MacOS/lafs-daemon"), 0o755, nil)
	icns, err := os.ReadFile("../../icons/lafssync.icns")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c, "Resources/lafssync.icns"), icns, 0o644); err != nil {
		t.Fatal(err)
	}
	return app
}

func TestTemplatesMakeAValidBundle(t *testing.T) {
	info, err := CheckBundle(bundle(t, nil), "0.1.0-test")
	if err != nil {
		t.Fatal(err)
	}
	if info.Executable != "lafs-daemon" || info.ShortVersion != "0.1.0" || info.IconFile != "lafssync.icns" {
		t.Errorf("Info.plist read as %+v", info)
	}
}

func TestCheckBundleFindsProblems(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		edit       func(string) string
	}{
		{"no LSUIElement", "LSUIElement is not true", func(s string) string {
			return strings.Replace(s, "<key>LSUIElement</key>\n\t<true/>", "", 1)
		}},
		{"LSUIElement false", "LSUIElement is not true", func(s string) string {
			return strings.Replace(s, "<key>LSUIElement</key>\n\t<true/>", "<key>LSUIElement</key>\n\t<false/>", 1)
		}},
		{"missing executable", "CFBundleExecutable", func(s string) string {
			return strings.Replace(s, "<string>lafs-daemon</string>", "<string>lafsync</string>", 1)
		}},
		{"wrong identifier", "CFBundleIdentifier", func(s string) string {
			return strings.Replace(s, BundleID, "org.example.Other", 1)
		}},
		{"wrong version", "CFBundleVersion", func(s string) string {
			return strings.Replace(s, "0.1.0-test", "0.0.9", 1)
		}},
		{"not a plist", "not a valid property list", func(s string) string { return s[:len(s)/2] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckBundle(bundle(t, tc.edit), "0.1.0-test")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckBundle: %v, want an error about %q", err, tc.want)
			}
		})
	}
}
