package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/fullnode/fullnodetest"
)

// mustIn returns a runner of lafs commands against the node in dir that
// fails the test when one fails, and returns its standard output.
// startLocalGrid runs what `make run` runs for dir until the test ends.
func startLocalGrid(t *testing.T, dir string) { fullnodetest.StartLocalGrid(t, dir) }

// failsIn returns a runner of lafs -d dir that expects the command to fail
// with an error containing want.
func failsIn(t *testing.T, dir string) func(want string, args ...string) {
	return func(want string, args ...string) {
		t.Helper()
		code, out, errs := run(append([]string{"-d", dir}, args...)...)
		if code == 0 || !strings.Contains(errs, want) {
			t.Errorf("lafs %v: exit %d, %q %q; want an error with %q", args, code, out, errs, want)
		}
	}
}

func mustIn(t *testing.T, dir string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		code, out, errs := run(append([]string{"-d", dir}, args...)...)
		if code != 0 {
			t.Fatalf("lafs %v: exit %d: %s%s", args, code, out, errs)
		}
		return out
	}
}

// lsEntry is one child in ls --json.
type lsEntry struct {
	Name     string
	Type     string         // "file", "dir" or "unknown"
	ReadCap  string         `json:"ro_uri"`
	Metadata map[string]any `json:"metadata"`
}

// lsJSONOf reads ls --json (Tahoe's ["dirnode", {"children": ...}]).
func lsJSONOf(t *testing.T, out string) map[string]lsEntry {
	t.Helper()
	var top []json.RawMessage
	var body struct {
		Children map[string][]json.RawMessage `json:"children"`
	}
	if err := json.Unmarshal([]byte(out), &top); err != nil || len(top) != 2 || string(top[0]) != `"dirnode"` {
		t.Fatalf("ls --json: %v in %q", err, out)
	}
	if err := json.Unmarshal(top[1], &body); err != nil {
		t.Fatalf("ls --json: %v in %q", err, out)
	}
	m := map[string]lsEntry{}
	for name, pair := range body.Children {
		var kind string
		var e lsEntry
		if len(pair) != 2 || json.Unmarshal(pair[0], &kind) != nil || json.Unmarshal(pair[1], &e) != nil {
			t.Fatalf("ls --json: child %q is %s", name, pair)
		}
		e.Name, e.Type = name, map[string]string{"filenode": "file", "dirnode": "dir"}[kind]
		if e.Type == "" {
			e.Type = kind
		}
		m[name] = e
	}
	return m
}

func TestLinkCommandsOnLocalGrid(t *testing.T) {
	dir := t.TempDir()
	startLocalGrid(t, dir)
	must := mustIn(t, dir)
	fails := failsIn(t, dir)
	lsJSON := func(target string) map[string]lsEntry { t.Helper(); return lsJSONOf(t, must("ls", "--json", target)) }
	must("create-alias", "home")
	must("create-alias", "work")
	src := filepath.Join(dir, "a.txt")
	data := bytes.Repeat([]byte("ledger line\n"), 3000)
	os.WriteFile(src, data, 0o600)
	fileCap := strings.TrimSpace(must("put", src, "home:docs/a.txt"))

	// ln: a second link to the same file, by path and by cap.
	must("ln", "home:docs/a.txt", "home:backup/a-copy.txt")
	b := lsJSON("home:backup")
	if e, ok := b["a-copy.txt"]; !ok || e.Type != "file" || e.ReadCap != fileCap || e.Metadata["size"] != float64(len(data)) {
		t.Errorf("after ln, home:backup: %+v", b)
	}
	if _, ok := lsJSON("home:docs")["a.txt"]; !ok {
		t.Error("ln removed the source")
	}
	must("ln", fileCap, "home:bycap.txt")
	if out := must("get", "home:bycap.txt"); out != string(data) {
		t.Error("the file linked by cap reads back differently")
	}
	fails("a cap has no name to link it under", "ln", fileCap, "home:")
	fails(`no entry "nope.txt" in home:docs (lafs ls home:docs)`, "ln", "home:docs/nope.txt", "home:x")

	// mv within a directory keeps the link's metadata.
	must("mv", "home:docs/a.txt", "home:docs/b.txt")
	d := lsJSON("home:docs")
	if _, ok := d["a.txt"]; ok || d["b.txt"].ReadCap != fileCap || d["b.txt"].Metadata["size"] != float64(len(data)) {
		t.Errorf("after mv within docs: %+v", d)
	}
	// mv into a directory (TO ends in a slash), made if missing.
	must("mv", "home:docs/b.txt", "home:archive/")
	if out := must("ls", "--json", "home:docs"); len(lsJSONOf(t, out)) != 0 || !strings.Contains(out, `"children": {}`) {
		t.Errorf("empty directory as JSON: %q", out)
	}
	if out := must("ls", "home:archive"); out != "file b.txt\n" {
		t.Errorf("after mv into archive/: %q", out)
	}
	// An existing directory is not replaced; the entry stays where it was.
	must("mkdir", "home:photos")
	fails("home:photos is a directory and is not replaced: to put the link inside it, end TO with a slash (home:photos/)",
		"mv", "home:archive/b.txt", "home:photos")
	if _, ok := lsJSON("home:archive")["b.txt"]; !ok {
		t.Error("a refused mv lost its entry")
	}
	fails("cannot move home:archive into itself", "mv", "home:archive", "home:archive/inner/")
	if h := lsJSON("home:"); h["archive"].Type != "dir" {
		t.Errorf("a refused mv into itself lost the directory: %+v", h)
	}
	// An existing file is replaced (as Tahoe's mv does).
	other := filepath.Join(dir, "other.txt")
	os.WriteFile(other, []byte(strings.Repeat("other\n", 100)), 0o600)
	must("put", other, "home:x.txt")
	must("mv", "home:bycap.txt", "home:x.txt")
	if out := must("get", "home:x.txt"); out != string(data) {
		t.Error("mv onto a file did not replace it")
	}
	if _, ok := lsJSON("home:")["bycap.txt"]; ok {
		t.Error("mv left its source")
	}
	// Between aliases.
	must("mv", "home:archive/b.txt", "work:reports/b.txt")
	if _, ok := lsJSON("home:archive")["b.txt"]; ok {
		t.Error("mv between directories left the source")
	}
	if e := lsJSON("work:reports")["b.txt"]; e.ReadCap != fileCap {
		t.Errorf("mv between directories: work:reports/b.txt is %+v", e)
	}
	fails(`no entry "gone.txt" in work:reports (lafs ls work:reports)`, "mv", "work:reports/gone.txt", "home:y")
	fails("names no link to move", "mv", "home:", "work:z")

	// A read-only source: mv refuses before linking, ln works.
	aliases, _ := config.LoadAliases(dir)
	rc, err := cap.Parse(aliases["work"])
	if err != nil {
		t.Fatal(err)
	}
	aliases["workro"] = rc.ReadOnly().String()
	if err := config.SaveAliases(dir, aliases); err != nil {
		t.Fatal(err)
	}
	fails("workro:reports is read-only", "mv", "workro:reports/b.txt", "home:b.txt")
	if _, ok := lsJSON("home:")["b.txt"]; ok {
		t.Error("a refused mv from a read-only directory linked the target")
	}
	if _, ok := lsJSON("work:reports")["b.txt"]; !ok {
		t.Error("a refused mv from a read-only directory lost the source")
	}
	must("ln", "workro:reports/b.txt", "home:b.txt")
	fails("cannot link \"c.txt\": workro:reports is read-only", "ln", "home:b.txt", "workro:reports/c.txt")

	// rm, and its errors.
	must("rm", "home:backup/a-copy.txt")
	if _, ok := lsJSON("home:backup")["a-copy.txt"]; ok {
		t.Error("rm left the entry")
	}
	fails(`no entry "a-copy.txt" in home:backup (lafs ls home:backup)`, "rm", "home:backup/a-copy.txt")
	fails(`no entry "nodir" in home: (lafs ls home:)`, "rm", "home:nodir/x.txt")
	fails("give alias:path/NAME", "rm", "home:")
	fails("workro:reports is read-only", "rm", "workro:reports/b.txt")
	fails(`unknown alias "nope"`, "rm", "nope:x")
	must("unlink", "home:b.txt")
	if _, ok := lsJSON("home:")["b.txt"]; ok {
		t.Error("unlink left the entry")
	}
	// The file itself outlives its links.
	if out := must("get", fileCap); out != string(data) {
		t.Error("the file is unreadable after rm")
	}

	// list-aliases: sorted, and --json shaped as Tahoe's.
	if out := must("list-aliases"); out != "home:\nwork:\nworkro:\n" {
		t.Errorf("list-aliases: %q", out)
	}
	var hidden map[string]map[string]string
	if err := json.Unmarshal([]byte(must("list-aliases", "--json")), &hidden); err != nil || len(hidden) != 3 || len(hidden["home"]) != 0 {
		t.Errorf("list-aliases --json: %v %v", hidden, err)
	}
	var shown map[string]map[string]string
	json.Unmarshal([]byte(must("list-aliases", "--json", "--show-caps")), &shown)
	if shown["work"]["readwrite"] != aliases["work"] || shown["work"]["readonly"] != aliases["workro"] ||
		shown["workro"]["readonly"] != aliases["workro"] || shown["workro"]["readwrite"] != "" {
		t.Errorf("list-aliases --json --show-caps: %v", shown)
	}

	// check --json is one JSON object.
	var res struct {
		Healthy, Recoverable bool
		Needed, Total        int
		Shares               map[string][]string
	}
	if err := json.Unmarshal([]byte(must("check", "--json", fileCap)), &res); err != nil || !res.Healthy || res.Total != 10 || len(res.Shares) != 10 {
		t.Errorf("check --json: %+v %v", res, err)
	}
}

// runTTY runs lafs with isTerminal answering ttyOut and ttyErr for
// standard output and standard error.
func runTTY(t *testing.T, ttyOut, ttyErr bool, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	old := isTerminal
	isTerminal = func(w io.Writer) bool {
		return (w == &out && ttyOut) || (w == &errb && ttyErr)
	}
	defer func() { isTerminal = old }()
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestProgressBarsOnLocalGrid(t *testing.T) {
	dir := t.TempDir()
	startLocalGrid(t, dir)
	if code, _, errs := run("-d", dir, "create-alias", "home"); code != 0 {
		t.Fatal(errs)
	}
	src := filepath.Join(dir, "big.bin")
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	os.WriteFile(src, data, 0o600)

	code, out, errs := runTTY(t, true, true, "-d", dir, "put", src, "home:big.bin")
	if code != 0 {
		t.Fatal(errs)
	}
	if !strings.HasPrefix(out, "URI:CHK:") || strings.Contains(out, "\r") {
		t.Errorf("put's standard output: %q", out)
	}
	for _, want := range []string{"\rhashing", "\ruploading", "1.0 MiB / 1.0 MiB 100% [========================]"} {
		if !strings.Contains(errs, want) {
			t.Errorf("put on a terminal: no %q in %q", want, errs)
		}
	}
	if !strings.HasSuffix(errs, "\n") {
		t.Errorf("put's bar did not end its line: %q", errs)
	}
	for _, c := range []struct {
		name           string
		ttyOut, ttyErr bool
		args           []string
	}{
		{"put, not a terminal", false, false, []string{"put", src}},
		{"put --quiet", true, true, []string{"put", "--quiet", src}},
		{"put -q", true, true, []string{"put", "-q", src}},
		{"get, not a terminal", false, false, []string{"get", "home:big.bin", filepath.Join(dir, "o1")}},
		{"get -q", false, true, []string{"get", "-q", "home:big.bin", filepath.Join(dir, "o2")}},
		{"get to the terminal", true, true, []string{"get", "home:big.bin"}},
	} {
		code, _, errs := runTTY(t, c.ttyOut, c.ttyErr, append([]string{"-d", dir}, c.args...)...)
		if code != 0 || errs != "" {
			t.Errorf("%s: exit %d, standard error %q; want no bar", c.name, code, errs)
		}
	}
	dst := filepath.Join(dir, "copy.bin")
	code, _, errs = runTTY(t, true, true, "-d", dir, "get", "home:big.bin", dst)
	if code != 0 || !strings.Contains(errs, "\rreceiving 1.0 MiB / 1.0 MiB 100%") {
		t.Errorf("get to a file on a terminal: exit %d, %q", code, errs)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Error("get with a bar wrote different bytes")
	}
	// Piped to a program, the data stays clean and the bar is on the terminal.
	code, out, errs = runTTY(t, false, true, "-d", dir, "get", "home:big.bin")
	if code != 0 || out != string(data) || !strings.Contains(errs, "receiving") {
		t.Errorf("get | program: exit %d, %d bytes out, standard error %q", code, len(out), errs)
	}
}

func TestProgressLine(t *testing.T) {
	for _, c := range []struct {
		total, done int64
		want        string
	}{
		{100, 0, "\rsending   0 B / 100 B   0% [>                       ]"},
		{100, 50, "\rsending   50 B / 100 B  50% [============>           ]"},
		{3 << 20, 3 << 20, "\rsending   3.0 MiB / 3.0 MiB 100% [========================]"},
		{-1, 1536, "\rsending   1.5 KiB"},
	} {
		var b bytes.Buffer
		p := &progress{w: &b, label: "sending", total: c.total, done: c.done, start: time.Now().Add(time.Hour)}
		p.draw()
		if b.String() != c.want {
			t.Errorf("total %d, done %d: %q, want %q", c.total, c.done, b.String(), c.want)
		}
	}
	// A shorter line blanks the tail of the longer one before it.
	var b bytes.Buffer
	p := &progress{w: &b, label: "x", total: -1, done: 5 << 20, start: time.Now().Add(time.Hour)}
	p.draw()
	p.done = 1
	p.draw()
	if want := "\rx         5.0 MiB\rx         1 B    "; b.String() != want {
		t.Errorf("redraw: %q, want %q", b.String(), want)
	}
	if newProgress(&b, false, "x", 1) != nil {
		t.Error("a bar on a buffer that is not a terminal")
	}
}

// Issue 13 item 14: ls --json prints Tahoe's t=json shape; write caps only
// when asked for.
func TestLsJSONTahoeShapeOnLocalGrid(t *testing.T) {
	dir := t.TempDir()
	startLocalGrid(t, dir)
	must := mustIn(t, dir)
	must("create-alias", "home")
	src := filepath.Join(dir, "a.txt")
	os.WriteFile(src, bytes.Repeat([]byte("x"), 5000), 0o600)
	fileCap := strings.TrimSpace(must("put", src, "home:a.txt"))
	must("mkdir", "home:sub")
	type node struct {
		RO       string         `json:"ro_uri"`
		RW       string         `json:"rw_uri"`
		Verify   string         `json:"verify_uri"`
		Mutable  bool           `json:"mutable"`
		Format   string         `json:"format"`
		Size     *int64         `json:"size"`
		Metadata map[string]any `json:"metadata"`
		Children map[string][2]json.RawMessage
	}
	parse := func(out string) (string, node) {
		var pair [2]json.RawMessage
		var kind string
		var n node
		if err := json.Unmarshal([]byte(out), &pair); err != nil || json.Unmarshal(pair[0], &kind) != nil || json.Unmarshal(pair[1], &n) != nil {
			t.Fatalf("ls --json: %v %q", err, out)
		}
		return kind, n
	}
	kind, top := parse(must("ls", "--json", "home:"))
	if kind != "dirnode" || !top.Mutable || !strings.HasPrefix(top.RO, "URI:DIR2-RO:") || !strings.HasPrefix(top.Verify, "URI:DIR2-Verifier:") || top.RW != "" {
		t.Errorf("top: %s %+v", kind, top)
	}
	var k string
	var a, sub node
	json.Unmarshal(top.Children["a.txt"][0], &k)
	json.Unmarshal(top.Children["a.txt"][1], &a)
	if k != "filenode" || a.RO != fileCap || a.Mutable || a.Format != "CHK" || a.Size == nil || *a.Size != 5000 || a.Metadata["tahoe"] == nil {
		t.Errorf("a.txt: %s %+v", k, a)
	}
	json.Unmarshal(top.Children["sub"][0], &k)
	json.Unmarshal(top.Children["sub"][1], &sub)
	if k != "dirnode" || !sub.Mutable || sub.RW != "" || !strings.HasPrefix(sub.RO, "URI:DIR2-RO:") {
		t.Errorf("sub: %s %+v", k, sub)
	}
	_, top = parse(must("ls", "--json", "--write-caps", "home:"))
	json.Unmarshal(top.Children["sub"][1], &sub)
	if !strings.HasPrefix(top.RW, "URI:DIR2:") || !strings.HasPrefix(sub.RW, "URI:DIR2:") {
		t.Errorf("--write-caps: top %q, sub %q", top.RW, sub.RW)
	}
	if kind, f := parse(must("ls", "--json", "home:a.txt")); kind != "filenode" || f.RO != fileCap {
		t.Errorf("ls --json of a file: %s %+v", kind, f)
	}
	if out := must("ls", "home:a.txt"); out != "file a.txt\n" {
		t.Errorf("ls of a file: %q", out)
	}
}
