package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeWithFakeGo runs `make target` in the repository with a stand-in
// for the go command that records what it is asked to build and builds
// tiny scripts that say they ran, and returns make's output and the
// packages built.
func makeWithFakeGo(t *testing.T, display string, target string) (out string, built []string) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "go.log")
	fake := filepath.Join(dir, "go")
	script := `#!/bin/sh
# fake go: records "build PKG" and writes a program that prints how it was run
out=""; pkg=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out=$2; shift ;;
    ./*) pkg=$1 ;;
  esac
  shift
done
echo "$pkg" >> "` + log + `"
mkdir -p "$(dirname "$out")"
printf '#!/bin/sh\necho "ran $(basename $0) $*"\n' > "$out"
chmod +x "$out"
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-C", root, "--no-print-directory", target, "GO="+fake, "BIN="+filepath.Join(dir, "bin"), "DEPS=true")
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "WAYLAND_DISPLAY=")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", target, err, b)
	}
	l, _ := os.ReadFile(log)
	return string(b), strings.Fields(string(l))
}

// Without a display, make run builds and runs only the daemon: no wait
// for the tray app's cgo build.
func TestMakeRunHeadlessBuildsOnlyLafs(t *testing.T) {
	out, built := makeWithFakeGo(t, "", "run")
	if strings.Join(built, " ") != "./app/cmd/lafs" {
		t.Errorf("make run without a display built %q, want only ./app/cmd/lafs\n%s", built, out)
	}
	if !strings.Contains(out, "no display found") || !strings.Contains(out, "ran lafs daemon") {
		t.Errorf("make run without a display did not say so and run lafs daemon:\n%s", out)
	}
}

// With a display it builds the tray app, saying that the first build is
// slow, and runs it; make build still builds both.
func TestMakeRunWithDisplayBuildsTrayApp(t *testing.T) {
	out, built := makeWithFakeGo(t, ":0", "run")
	if strings.Join(built, " ") != "./app/cmd/lafsync" {
		t.Errorf("make run with a display built %q, want only ./app/cmd/lafsync\n%s", built, out)
	}
	for _, want := range []string{"building the tray app", "first time only, a few minutes", "ran lafsync"} {
		if !strings.Contains(out, want) {
			t.Errorf("make run with a display did not say %q:\n%s", want, out)
		}
	}
	out, built = makeWithFakeGo(t, "", "build")
	if strings.Join(built, " ") != "./app/cmd/lafs ./app/cmd/lafsync" {
		t.Errorf("make build built %q, want both binaries\n%s", built, out)
	}
}
