package ignore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type probe struct {
	rel   string
	isDir bool
	want  bool
}

type ignoreCase struct {
	name   string
	lines  []string
	probes []probe
}

var ignoreCases = []ignoreCase{
	{"defaults", nil, []probe{
		{".DS_Store", false, true},
		{"a/b/.DS_Store", false, true},
		{"Thumbs.db", false, true},
		{"x/desktop.ini", false, true},
		{"~$report.docx", false, true},
		{"notes.tmp", false, true},
		{"big.iso.part", false, true},
		{".main.go.swp", false, true},
		{".~lock.sheet.ods#", false, true},
		{"report.docx", false, false},
		{"tmp", false, false},
		{"a.tmpx", false, false},
		{"x~$y", false, false},
	}},
	{"engine temp files and the ignore file", []string{"*", ".*"}, []probe{
		{".lafsignore", false, false},
		{"d/.lafsignore", false, true},
		{".lafssync-tmp-123", false, true},
	}},
	{"temp prefix without rules", nil, []probe{
		{".lafssync-tmp-abc", false, true},
		{"d/.lafssync-tmp-abc", false, true},
		{".lafssync-tmp-dir/inner", false, true},
		{".lafssync-tmpx", false, false},
	}},
	{"basename patterns match at any depth", []string{"*.log", "build"}, []probe{
		{"x.log", false, true},
		{"a/b/x.log", false, true},
		{"a/log", false, false},
		{"build", true, true},
		{"build", false, true},
		{"src/build", true, true},
		{"src/build/out.o", false, true},
		{"builds", true, false},
	}},
	{"directory-only patterns", []string{"cache/"}, []probe{
		{"cache", true, true},
		{"cache", false, false},
		{"a/cache", true, true},
		{"a/cache/x", false, true},
		{"a/cache/x/y", true, true},
	}},
	{"anchored patterns", []string{"/root.txt", "doc/frotz", "/out/"}, []probe{
		{"root.txt", false, true},
		{"a/root.txt", false, false},
		{"doc/frotz", false, true},
		{"a/doc/frotz", false, false},
		{"doc/frotz/x", false, true},
		{"out", true, true},
		{"out/x.bin", false, true},
		{"a/out", true, false},
	}},
	{"negation, last match wins", []string{"*.txt", "!keep.txt", "!*.tmp", "again.tmp"}, []probe{
		{"a.txt", false, true},
		{"keep.txt", false, false},
		{"d/keep.txt", false, false},
		{"x.tmp", false, false},
		{"again.tmp", false, true},
	}},
	{"no re-including inside an ignored directory", []string{"logs/", "!logs/important.log"}, []probe{
		{"logs/important.log", false, true},
		{"logs", true, true},
	}},
	{"question mark and brackets", []string{"file?.c", "[abc].h", "x[!0-9].o", "[[:digit:]]*.dat"}, []probe{
		{"file1.c", false, true},
		{"file.c", false, false},
		{"file12.c", false, false},
		{"a/file/x.c", false, false},
		{"a.h", false, true},
		{"d.h", false, false},
		{"xa.o", false, true},
		{"x5.o", false, false},
		{"7z.dat", false, true},
		{"z7.dat", false, false},
	}},
	{"double star", []string{"**/foo", "a/**/b", "big/**", "x**y"}, []probe{
		{"foo", false, true},
		{"q/r/foo", false, true},
		{"a/b", false, true},
		{"a/x/y/b", false, true},
		{"c/a/b", false, false},
		{"big/1/2", false, true},
		{"big", false, false},
		{"xzzy", false, true},
	}},
	{"regexp characters are literal", []string{"a+b", "(x)", "c{1}", "p|q", "^s$", "1.5"}, []probe{
		{"a+b", false, true},
		{"aab", false, false},
		{"(x)", false, true},
		{"x", false, false},
		{"c{1}", false, true},
		{"c", false, false},
		{"p|q", false, true},
		{"p", false, false},
		{"^s$", false, true},
		{"1.5", false, true},
		{"125", false, false},
	}},
	{"escapes, comments, spaces", []string{"# comment", `\#hash`, `\!bang`, "trail   ", `sp\ `, "  lead", `star\*`, "\r", "crlf\r"}, []probe{
		{"# comment", false, false},
		{"#hash", false, true},
		{"!bang", false, true},
		{"trail", false, true},
		{"trail   ", false, false},
		{"sp ", false, true},
		{"sp", false, false},
		{"  lead", false, true},
		{"lead", false, false},
		{"star*", false, true},
		{"starry", false, false},
		{"crlf", false, true},
	}},
	{"unicode normalized to NFC", []string{"caf\u0065\u0301.txt"}, []probe{
		{"caf\u00e9.txt", false, true},
	}},
	{"a re-included directory's files are not ignored by its pattern", []string{"x", "!x/"}, []probe{
		{"x", true, false},
		{"x", false, true},
		{"x/y", false, false},
	}},
	{"re-include a default", []string{"!*.tmp"}, []probe{
		{"x.tmp", false, false},
		{".DS_Store", false, true},
		{".lafssync-tmp-x", false, true},
	}},
}

func TestIgnored(t *testing.T) {
	for _, tc := range ignoreCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewFromLines(tc.lines)
			if err != nil {
				t.Fatalf("NewFromLines: %v", err)
			}
			for _, p := range tc.probes {
				if got := m.Ignored(p.rel, p.isDir); got != p.want {
					t.Errorf("Ignored(%q, dir=%v) = %v, want %v (rules %q)", p.rel, p.isDir, got, p.want, tc.lines)
				}
			}
		})
	}
}

func TestMalformedLinesReportedOthersApply(t *testing.T) {
	for _, tc := range []struct {
		line, reason string
	}{
		{"[abc", "unclosed ["},
		{"x[]", "unclosed ["},
		{`end\`, "lone backslash"},
		{"[z-a]", "backwards"},
		{"[[:nope:]]", "unknown character class"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			m, err := NewFromLines([]string{"*.log", tc.line, "secret/"})
			var se *SyntaxError
			if !errors.As(err, &se) || len(se.Lines) != 1 || se.Lines[0].Line != 2 || !strings.Contains(se.Lines[0].Reason, tc.reason) {
				t.Fatalf("error = %v, want line 2 reported with %q", err, tc.reason)
			}
			if !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "other lines apply") {
				t.Errorf("message %q does not say which line and that the others apply", err)
			}
			if !m.Ignored("a.log", false) || !m.Ignored("secret", true) || m.Ignored("a.txt", false) {
				t.Error("the well-formed lines do not apply")
			}
		})
	}
}

func TestNewAndReload(t *testing.T) {
	root := t.TempDir()
	m, err := New(root)
	if err != nil {
		t.Fatalf("New without .lafsignore: %v", err)
	}
	if !m.Ignored("a.tmp", false) || m.Ignored("a.log", false) {
		t.Fatal("defaults wrong without .lafsignore")
	}
	if err := os.WriteFile(filepath.Join(root, FileName), []byte("*.log\n[bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var se *SyntaxError
	if err := m.Reload(); !errors.As(err, &se) || se.File != filepath.Join(root, FileName) {
		t.Fatalf("Reload of a malformed file: %v", err)
	}
	if !m.Ignored("a.log", false) {
		t.Fatal("Reload: the good line does not apply")
	}
	m2, err := New(root)
	if m2 == nil || !errors.As(err, &se) || !m2.Ignored("x/y.log", false) {
		t.Fatalf("New with a malformed line: %v, %v", m2, err)
	}
	if err := os.Remove(filepath.Join(root, FileName)); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil || m.Ignored("a.log", false) {
		t.Fatalf("Reload after removal: %v, still ignoring", err)
	}

	// An unreadable .lafsignore: New fails, Reload keeps the old rules.
	if err := os.Mkdir(filepath.Join(root, FileName), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := New(root); err == nil || !strings.Contains(err.Error(), FileName) {
		t.Fatalf("New with an unreadable ignore file: %v", err)
	}
	if err := m.Reload(); err == nil || !strings.Contains(err.Error(), "still apply") {
		t.Fatalf("Reload of an unreadable file: %v", err)
	}
	if !m.Ignored("a.tmp", false) {
		t.Fatal("rules lost after a failed Reload")
	}
}

func TestDirectoryCacheFollowsReload(t *testing.T) {
	root := t.TempDir()
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(root, FileName), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("build/\n")
	m, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Ignored("build/a/b.o", false) {
		t.Fatal("not ignored under build/")
	}
	write("other/\n")
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if m.Ignored("build/a/b.o", false) || !m.Ignored("other/x", false) {
		t.Fatal("directory verdicts cached across Reload")
	}
}

func TestBadName(t *testing.T) {
	for _, tc := range []struct{ rel, want string }{
		{"ok.txt", ""},
		{"dir/ok", ""},
		{"", ""},
		{"CON/file.txt", ""}, // only the last element
		{"CON", "reserved device name"},
		{"con", "reserved device name"},
		{"nul.txt", "reserved device name"},
		{"Aux.tar.gz", "reserved device name"},
		{"d/COM1", "reserved device name"},
		{"lpt9.log", "reserved device name"},
		{"COM¹", "reserved device name"},
		{"NUL .txt", "reserved device name"},
		{"COM0", ""},
		{"CONSOLE", ""},
		{"nullable.txt", ""},
		{"a<b", "contains the character <"},
		{"a>b", "contains the character >"},
		{"a:b", "contains the character :"},
		{`a"b`, `contains the character "`},
		{`a\b`, `contains the character \`},
		{"a|b", "contains the character |"},
		{"a?b", "contains the character ?"},
		{"a*b", "contains the character *"},
		{"a\nb", "control character (0x0A)"},
		{"a\x00b", "control character (0x00)"},
		{"a\x1fb", "control character (0x1F)"},
		{"trailing.", "name not valid on Windows: ends with a dot"},
		{"trailing ", "name not valid on Windows: ends with a space"},
		{" leading", ""},
		{".hidden", ""},
		{"..", "not a file name"},
		{strings.Repeat("a", 255), ""},
		{strings.Repeat("a", 256), "too long: 256 bytes"},
		{strings.Repeat("é", 128), "too long: 256 bytes"},
		{"bad\xffutf8", "not valid UTF-8"},
		{"日本語.txt", ""},
	} {
		got := BadName(tc.rel)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("BadName(%q) = %q, want %q", tc.rel, got, tc.want)
		}
	}
	var m Matcher
	if m.BadName("a:b") == "" {
		t.Error("Matcher.BadName differs from BadName")
	}
}

func BenchmarkIgnored(b *testing.B) {
	m, err := NewFromLines([]string{"node_modules/", "*.o", "/build/", "!keep.o"})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		m.Ignored("src/pkg/sub/file.go", false)
	}
}
