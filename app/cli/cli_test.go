package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := run("--version")
	if code != 0 || !strings.Contains(out, "LAFS Sync") {
		t.Errorf("--version: %d %q", code, out)
	}
	code, out, _ = run("--help")
	if code != 0 || !strings.Contains(out, "debug") || !strings.Contains(out, "daemon") {
		t.Errorf("--help: %d %q", code, out)
	}
	code, _, errs := run("frobnicate")
	if code == 0 || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %q", code, errs)
	}
}

func TestDebugCap(t *testing.T) {
	chk := "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56"
	code, out, _ := run("debug", "cap", chk)
	for _, want := range []string{"kind:          CHK", "i5nhq74zw2crkop634ra4hrvzm", "1-of-1", "56 bytes", "URI:CHK-Verifier:"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("debug cap: missing %q in %q", want, out)
		}
	}
	code, out, _ = run("debug", "cap", "--json", "URI:DIR2:n6x24zd3seu725yluj75q5boaa:mm6yoqjhl6ueh7iereldqxue4nene4wl7rqfjfybqrehdqmqskvq")
	var in map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &in) != nil || in["kind"] != "DIR2" ||
		in["read_cap"] != "URI:DIR2-RO:b7sr5qsifnicca7cbk3rhrhbvq:mm6yoqjhl6ueh7iereldqxue4nene4wl7rqfjfybqrehdqmqskvq" {
		t.Errorf("debug cap --json: %d %s", code, out)
	}
	code, _, errs := run("debug", "cap", "URI:CHK:abc")
	if code == 0 || !strings.Contains(errs, "malformed CHK cap: want 5 fields") {
		t.Errorf("bad cap: %d %q", code, errs)
	}
}

func TestDebugVectors(t *testing.T) {
	code, out, _ := run("debug", "vectors", "../../testdata/vectors/tahoe/vectors.yaml")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if code != 0 || last != "288 passed, 0 failed" {
		t.Fatalf("exit %d, last line %q", code, last)
	}
	if !strings.Contains(out, "  0 chk         56 URI:CHK:yzxcoagbetwet65ltjpbqyli3m:") {
		t.Errorf("first vector line missing: %q", lines[0])
	}
	// A vector whose expected cap is wrong is a mismatch and exit 1.
	raw, _ := os.ReadFile("../../testdata/vectors/tahoe/vectors.yaml")
	bad := strings.Replace(string(raw), "6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56", "6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:57", 1)
	path := t.TempDir() + "/bad.yaml"
	os.WriteFile(path, []byte(bad), 0o600)
	code, out, _ = run("debug", "vectors", "--short", path)
	if code != 1 || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, "1 failed") {
		t.Errorf("mismatch: exit %d", code)
	}
	code, _, errs := run("debug", "vectors", "/nonexistent.yaml")
	if code == 0 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: %d %q", code, errs)
	}
}
