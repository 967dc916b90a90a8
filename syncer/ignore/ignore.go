// Package ignore decides which paths of a folder are not synced: a
// .lafsignore file at the folder root in gitignore syntax, a built-in list
// of files no one wants synced (.DS_Store, Thumbs.db, desktop.ini, ~$*,
// *.tmp, *.part, *.swp, .~lock.*), the engine's own temp files, and names
// that cannot exist on another device's filesystem (Windows- or
// macOS-invalid names), which are skipped with a reason.
//
// The .lafsignore syntax is git's (https://git-scm.com/docs/gitignore):
// "#" comments, "!" re-includes, a trailing "/" matches directories only, a
// slash at the start or in the middle anchors a pattern to the folder root,
// "*", "?", "[a-z]", "[!a-z]" and "**" as in git. The defaults come first,
// so a "!" line in .lafsignore can re-include, say, *.tmp. As in git, a
// path inside an ignored directory is ignored whatever later lines say.
// Patterns are matched against NFC-normalized paths and are themselves
// normalized to NFC, so a file written on macOS matches.
//
// What it deliberately does not do: .lafsignore files in subdirectories
// (one file at the root, like Syncthing's .stignore), case-insensitive
// matching, and reading the file system beyond the one .lafsignore file.
// Symbolic links, special and unreadable files are the scanner's to skip.
//
// CONTRACT (written by the coordinator before the implementation; the
// implementer may add to it but must keep these signatures and meanings).
package ignore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/text/unicode/norm"
)

// FileName is the ignore file at a folder's root.
const FileName = ".lafsignore"

// TempPrefix starts the names of the engine's own temporary files
// (downloads in progress): always ignored, never uploaded.
const TempPrefix = ".lafssync-tmp-"

// Defaults are the built-in patterns.
var Defaults = []string{".DS_Store", "Thumbs.db", "desktop.ini", "~$*", "*.tmp", "*.part", "*.swp", ".~lock.*"}

// maxFileSize bounds what is read of .lafsignore: a larger file is an
// error, not a reason to hold it all in memory.
const maxFileSize = 1 << 20

// Matcher is the rules of one folder. It is safe for concurrent use;
// Reload swaps the rules atomically.
type Matcher struct {
	root  string
	rules atomic.Pointer[ruleSet]
}

// ruleSet is one immutable generation of rules, with a cache of the
// verdicts on directories (the scan asks about every file, and every file
// asks about its ancestors).
type ruleSet struct {
	rules []rule
	mu    sync.Mutex      // guards dirs
	dirs  map[string]bool // directory rel → ignored (by itself or an ancestor)
}

// maxCachedDirs bounds ruleSet.dirs; when full it is emptied.
const maxCachedDirs = 1 << 16

// LineError is one malformed line of .lafsignore.
type LineError struct {
	Line   int    // 1-based
	Text   string // the line as written
	Reason string // e.g. `unclosed [`
}

// SyntaxError lists the malformed lines of a .lafsignore; the other lines
// apply. The folder's status shows it.
type SyntaxError struct {
	File  string // path of the .lafsignore
	Lines []LineError
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	for i, l := range e.Lines {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Lines)-3)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "line %d %q: %s", l.Line, l.Text, l.Reason)
	}
	return fmt.Sprintf("%s: %s (these lines are not used; the other lines apply: fix the lines to use them)", e.File, b.String())
}

// New reads root/.lafsignore (absent is fine) over the defaults.
//
// If some lines are malformed, New returns the Matcher with the other
// lines in force and a *SyntaxError. If .lafsignore exists but cannot be
// read, New returns nil and the error: syncing without the user's rules
// could upload what they meant to keep off the grid.
func New(root string) (*Matcher, error) {
	m := &Matcher{root: root}
	err := m.Reload()
	var se *SyntaxError
	if err != nil && !errors.As(err, &se) {
		return nil, err
	}
	return m, err
}

// NewFromLines is a Matcher of the defaults and the given .lafsignore
// lines, reading nothing (for tests and for rules not kept in a file).
func NewFromLines(lines []string) (*Matcher, error) {
	m := &Matcher{}
	rs, se := compile(lines, "(rules)")
	m.rules.Store(rs)
	if se != nil {
		return m, se
	}
	return m, nil
}

// Reload re-reads .lafsignore (after it changed); a malformed line is
// reported in the error but the other lines still apply. If the file
// cannot be read, the previous rules stay in force and the error says so.
func (m *Matcher) Reload() error {
	file := filepath.Join(m.root, FileName)
	data, err := readFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = nil
	case err != nil:
		if m.rules.Load() == nil {
			return fmt.Errorf("read the ignore file %s: %w (fix its permissions or remove it)", file, err)
		}
		return fmt.Errorf("read the ignore file %s: %w (the rules read before still apply; fix its permissions or remove it)", file, err)
	}
	rs, se := compile(strings.Split(string(data), "\n"), file)
	m.rules.Store(rs)
	if se != nil {
		return se
	}
	return nil
}

func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("is a directory, not a file")
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("is larger than %d bytes", maxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("is larger than %d bytes", maxFileSize)
	}
	return data, nil
}

// compile builds the rules: the defaults, then the file's lines.
func compile(lines []string, file string) (*ruleSet, *SyntaxError) {
	rs := &ruleSet{dirs: make(map[string]bool)}
	for _, d := range Defaults {
		r, ok, err := parseLine(d)
		if ok && err == nil {
			rs.rules = append(rs.rules, r)
		}
	}
	var se *SyntaxError
	for i, l := range lines {
		r, ok, err := parseLine(l)
		if err != nil {
			if se == nil {
				se = &SyntaxError{File: file}
			}
			se.Lines = append(se.Lines, LineError{Line: i + 1, Text: strings.TrimSuffix(l, "\r"), Reason: err.Error()})
			continue
		}
		if ok {
			r.line = i + 1
			rs.rules = append(rs.rules, r)
		}
	}
	return rs, se
}

// Ignored says whether rel (slash-separated, relative to the root) is
// ignored. .lafsignore itself is synced (not ignored).
//
// rel is ignored when it or one of its parent directories is: an element
// starting with TempPrefix, or matched by the last rule that matches it
// being a pattern rather than a "!" re-include.
func (m *Matcher) Ignored(rel string, isDir bool) bool {
	rel = strings.Trim(rel, "/")
	if !norm.NFC.IsNormalString(rel) {
		rel = norm.NFC.String(rel) // the patterns are NFC too
	}
	if rel == "" || rel == "." {
		return false
	}
	if rel == FileName {
		return false
	}
	rs := m.rules.Load()
	if rs == nil {
		return false
	}
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		if rs.dirIgnored(rel[:i]) {
			return true
		}
	}
	return rs.self(rel, isDir)
}

// self is the verdict on rel by itself, its parents not considered.
func (rs *ruleSet) self(rel string, isDir bool) bool {
	base := rel[strings.LastIndexByte(rel, '/')+1:]
	if strings.HasPrefix(base, TempPrefix) {
		return true
	}
	ignored := false
	for i := range rs.rules {
		r := &rs.rules[i]
		if r.negate != ignored {
			continue // cannot change the verdict
		}
		if r.matches(rel, isDir) {
			ignored = !r.negate
		}
	}
	return ignored
}

// dirIgnored is the cached verdict on directory dir and its parents.
func (rs *ruleSet) dirIgnored(dir string) bool {
	rs.mu.Lock()
	v, ok := rs.dirs[dir]
	rs.mu.Unlock()
	if ok {
		return v
	}
	v = false
	if i := strings.LastIndexByte(dir, '/'); i >= 0 {
		v = rs.dirIgnored(dir[:i])
	}
	if !v {
		v = rs.self(dir, true)
	}
	rs.mu.Lock()
	if len(rs.dirs) >= maxCachedDirs {
		clear(rs.dirs)
	}
	rs.dirs[dir] = v
	rs.mu.Unlock()
	return v
}

// BadName is the package function, as a method (scan.Ignorer).
func (m *Matcher) BadName(rel string) string { return BadName(rel) }
