package ignore

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgreesWithGit checks the verdicts of TestIgnored's table against
// git check-ignore itself (skipped without git): the probes are made as
// real files and directories, the defaults and the case's lines written
// as a .gitignore. Probes about what is ours alone (the temp prefix,
// .lafsignore) are left out.
func TestAgreesWithGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	compared := 0
	defer func() {
		if compared < 60 {
			t.Errorf("only %d probes compared with git", compared)
		}
	}()
	for _, tc := range ignoreCases {
		if strings.Contains(strings.Join(tc.lines, "\n"), "\r") || strings.Contains(tc.name, "NFC") {
			continue // git keeps a CR, and does not normalize Unicode
		}
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			run := func(stdin string, args ...string) string {
				cmd := exec.Command(git, args...)
				cmd.Dir = dir
				cmd.Stdin = strings.NewReader(stdin)
				cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				if err := cmd.Run(); err != nil && !strings.Contains(strings.Join(args, " "), "check-ignore") {
					t.Fatalf("git %v: %v: %s", args, err, errb.String())
				}
				return out.String()
			}
			run("", "init", "-q", ".")
			gi := strings.Join(append(append([]string{}, Defaults...), tc.lines...), "\n") + "\n"
			if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(gi), 0o644); err != nil {
				t.Fatal(err)
			}
			var probes []probe
			made := map[string]bool{} // path → is a directory
			for _, p := range tc.probes {
				if strings.HasPrefix(p.rel, TempPrefix) || strings.Contains(p.rel, "/"+TempPrefix) || strings.Contains(p.rel, FileName) {
					continue
				}
				if isDir, ok := made[p.rel]; ok && isDir != p.isDir {
					continue // the same name cannot be both here
				}
				full := filepath.Join(dir, filepath.FromSlash(p.rel))
				// A probe whose parent is a file in another probe is left out.
				if p.isDir {
					if err := os.MkdirAll(full, 0o755); err != nil {
						continue
					}
				} else if os.MkdirAll(filepath.Dir(full), 0o755) != nil || os.WriteFile(full, nil, 0o644) != nil {
					continue
				}
				made[p.rel] = p.isDir
				for d := filepath.Dir(p.rel); d != "."; d = filepath.Dir(d) {
					made[d] = true
				}
				probes = append(probes, p)
			}
			var in strings.Builder
			for _, p := range probes {
				in.WriteString(p.rel + "\x00")
			}
			out := run(in.String(), "check-ignore", "--no-index", "--stdin", "-z", "-v", "-n")
			// -z -v -n: source NUL line NUL pattern NUL path NUL, per path.
			f := strings.Split(out, "\x00")
			verdict := map[string]bool{}
			for i := 0; i+3 < len(f); i += 4 {
				pat := f[i+2]
				verdict[f[i+3]] = pat != "" && !strings.HasPrefix(pat, "!")
			}
			m, err := NewFromLines(tc.lines)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range probes {
				g, ok := verdict[p.rel]
				if !ok {
					t.Errorf("git said nothing about %q", p.rel)
					continue
				}
				compared++
				if got := m.Ignored(p.rel, p.isDir); got != g {
					t.Errorf("Ignored(%q, dir=%v) = %v, git says %v (rules %q)", p.rel, p.isDir, got, g, tc.lines)
				}
			}
		})
	}
}
