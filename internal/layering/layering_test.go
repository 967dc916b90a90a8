// Package layering holds a test of the direction of imports between the
// module's layers: grid (formats and protocols) below node (a running
// node) below app (the programs), with syncer beside node. Tests only.
package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/build"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/lafssync/lafssync/"

// forbidden maps a layer to the layers it must not import, directly or
// through another package, in its code or its tests' direct imports.
var forbidden = map[string][]string{
	"grid":   {"node", "app", "syncer"},
	"node":   {"app", "syncer"},
	"syncer": {"node", "app"},
}

// layer is the top directory of an import path inside the module, or "".
func layer(path string) string {
	rest, ok := strings.CutPrefix(path, module)
	if !ok {
		return ""
	}
	top, _, _ := strings.Cut(rest, "/")
	return top
}

type listed struct {
	ImportPath   string
	Deps         []string
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

func goTool(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(build.Default.GOROOT, "bin", "go")
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("no go command on PATH nor in GOROOT %s: %v", build.Default.GOROOT, err)
	}
	return p
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command(goTool(t), "list", "-e", "-json", module+"...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	seen := map[string]bool{}
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		if p.Error != nil {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
			continue
		}
		from := layer(p.ImportPath)
		seen[from] = true
		bad := forbidden[from]
		if bad == nil {
			continue
		}
		for _, imports := range [][]string{p.Deps, p.TestImports, p.XTestImports} {
			for _, dep := range imports {
				to := layer(dep)
				for _, b := range bad {
					if to == b {
						t.Errorf("%s (layer %s) depends on %s (layer %s); %s must not depend on %s",
							p.ImportPath, from, dep, to, from, strings.Join(bad, ", "))
					}
				}
			}
		}
	}
	for _, l := range []string{"grid", "node", "app"} {
		if !seen[l] {
			t.Errorf("go list found no packages under %s/; the test is not looking at the module", l)
		}
	}
}
