package ignore

import (
	"strings"
	"testing"
)

// FuzzMatcher: any ignore file and any path never panic, a literal name
// written as a pattern matches itself, and the ignore file is never
// ignored.
func FuzzMatcher(f *testing.F) {
	for _, s := range []struct{ file, rel string }{
		{"*.log\n!keep.log\n", "a/keep.log"},
		{"[abc\n\\\n[z-a]\n", "x"},
		{"a/**/b\n/**/c/\n**\n", "a/x/b"},
		{"[[:alpha:]]\n[!\\]]\n", "q"},
		{"#$~\n(\n)\n+\n", "(x)"},
		{"é\u0301\n[é-z]\n", "é"},
		{"foo/\n", "foo/bar"},
	} {
		f.Add(s.file, s.rel, false)
	}
	f.Fuzz(func(t *testing.T, file, rel string, isDir bool) {
		m, _ := NewFromLines(strings.Split(file, "\n"))
		m.Ignored(rel, isDir)
		m.BadName(rel)
		if m.Ignored(FileName, false) {
			t.Fatal(".lafsignore ignored")
		}
		// A plain name (no special characters) ignores itself.
		if rel != "" && rel != "." && rel != ".." && !strings.ContainsAny(rel, "/\\*?[!# \r\n") && strings.TrimSpace(rel) == rel {
			m2, err := NewFromLines([]string{rel})
			if err != nil {
				t.Fatalf("plain name %q rejected: %v", rel, err)
			}
			if rel != FileName && !m2.Ignored(rel, isDir) {
				t.Fatalf("pattern %q does not match itself", rel)
			}
		}
	})
}
