package ignore

import (
	"fmt"
	"strings"

	gitignore "github.com/sabhiram/go-gitignore"
	"golang.org/x/text/unicode/norm"
)

// rule is one compiled line of an ignore list.
type rule struct {
	line    int    // 1-based line in .lafsignore; 0 for a default
	text    string // the line as written
	negate  bool   // "!pattern": re-include
	dirOnly bool   // "pattern/": directories only
	// A pattern without a slash is matched against the last element only
	// (git does so; the parents are the caller's to check). The common
	// shapes "name", "*.ext" and "prefix*" are compared as strings,
	// which is some 50 times faster than the regular expression.
	base bool
	kind matchKind
	lit  string
	m    *gitignore.GitIgnore
}

type matchKind uint8

const (
	byRegexp matchKind = iota
	exact
	prefix
	suffix
)

// parseLine turns one gitignore line into a rule. ok is false for blank
// lines and comments; err says why a line is malformed.
//
// go-gitignore builds a regular expression from the line but passes most
// characters through unescaped, treats "?" as a literal, and anchors a
// pattern with a slash in the middle only in some cases. So the line is
// first rewritten into the subset it handles exactly: every literal
// character that is special to regular expressions becomes a \xHH escape,
// "?" becomes [^\x2f], bracket expressions are checked and translated,
// and a pattern with a slash is given the leading "/" that anchors it to
// the root, as git does. Negation and "dir/" are handled here, one
// GitIgnore per line, so that the order of lines decides (last match wins).
func parseLine(text string) (r rule, ok bool, err error) {
	line := strings.TrimSuffix(text, "\r")
	line = norm.NFC.String(line)
	if line == "" || line[0] == '#' {
		return rule{}, false, nil
	}
	line = trimTrailingSpaces(line)
	if line == "" {
		return rule{}, false, nil
	}
	if line[0] == '!' {
		r.negate = true
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") && !strings.HasSuffix(line, `\/`) {
		r.dirOnly = true
		line = strings.TrimRight(line, "/")
	}
	if line == "" {
		return rule{}, false, nil
	}
	expr, err := translate(line)
	if err != nil {
		return rule{}, false, err
	}
	if strings.HasSuffix(expr, "/**") {
		// git: "dir/**" is what is inside dir, not dir itself; the
		// library's "/**" would match dir too.
		expr += "/*"
	}
	if strings.Contains(line, "/") && !strings.HasPrefix(line, "/") {
		expr = "/" + expr // a slash anywhere but the end anchors to the root
	}
	r.text = text
	r.base = !strings.Contains(line, "/")
	if r.base && !strings.ContainsAny(line, `?[\`) {
		switch n := strings.Count(line, "*"); {
		case n == 0:
			r.kind, r.lit = exact, line
		case n == 1 && line[0] == '*':
			r.kind, r.lit = suffix, line[1:]
		case n == 1 && line[len(line)-1] == '*':
			r.kind, r.lit = prefix, line[:len(line)-1]
		}
	}
	if r.kind == byRegexp {
		r.m = gitignore.CompileIgnoreLines(expr)
	}
	return r, true, nil
}

// trimTrailingSpaces removes trailing spaces not escaped with a backslash.
func trimTrailingSpaces(s string) string {
	for strings.HasSuffix(s, " ") {
		t := s[:len(s)-1]
		// An odd number of backslashes before the space escapes it.
		n := 0
		for i := len(t) - 1; i >= 0 && t[i] == '\\'; i-- {
			n++
		}
		if n%2 == 1 {
			return s
		}
		s = t
	}
	return s
}

// translate rewrites a pattern (without its "!" and trailing "/") into
// what go-gitignore turns into the right regular expression.
func translate(p string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 == len(p) {
				return "", fmt.Errorf("ends with a lone backslash")
			}
			i++
			b.WriteString(literal(p[i]))
		case c == '*' || c == '/':
			b.WriteByte(c)
		case c == '?':
			b.WriteString(`[^\x2f]`)
		case c == '[':
			n, class, err := bracket(p[i:])
			if err != nil {
				return "", err
			}
			b.WriteString(class)
			i += n - 1
		default:
			b.WriteString(literal(c))
		}
	}
	return b.String(), nil
}

// literal is byte c matched literally: ASCII letters, digits and bytes of
// multi-byte characters as they are, anything else as \xHH.
func literal(c byte) string {
	if c >= 0x80 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
		return string([]byte{c}) // not string(c): that would be the rune U+00c
	}
	return fmt.Sprintf(`\x%02x`, c)
}

var posixClasses = map[string]bool{
	"alnum": true, "alpha": true, "blank": true, "cntrl": true, "digit": true, "graph": true,
	"lower": true, "print": true, "punct": true, "space": true, "upper": true, "xdigit": true,
}

// bracket translates the bracket expression at the start of p ("[a-z]",
// "[!0-9]", "[[:alpha:]_]") and returns how many bytes of p it used.
func bracket(p string) (int, string, error) {
	var b strings.Builder
	b.WriteByte('[')
	i := 1
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		b.WriteByte('^')
		i++
	}
	first := true
	var prev string // the last single character written, for ranges
	for ; i < len(p); i++ {
		c := p[i]
		switch {
		case c == ']' && !first:
			if b.Len() == 1 || b.String() == "[^" {
				return 0, "", fmt.Errorf("empty [ ]")
			}
			b.WriteByte(']')
			return i + 1, b.String(), nil
		case c == '[' && i+1 < len(p) && p[i+1] == ':':
			end := strings.Index(p[i+2:], ":]")
			if end < 0 {
				return 0, "", fmt.Errorf("unclosed [: in a bracket expression")
			}
			name := p[i+2 : i+2+end]
			if !posixClasses[name] {
				return 0, "", fmt.Errorf("unknown character class [:%s:]", name)
			}
			b.WriteString("[:" + name + ":]")
			i += 2 + end + 1
			prev = ""
		case c == '-' && prev != "" && i+1 < len(p) && p[i+1] != ']':
			hi := p[i+1]
			j := i + 1
			if hi == '\\' {
				if j+1 == len(p) {
					return 0, "", fmt.Errorf("ends with a lone backslash")
				}
				j++
				hi = p[j]
			}
			if hi >= 0x80 || prev[0] >= 0x80 {
				return 0, "", fmt.Errorf("a range in [ ] must be of ASCII characters")
			}
			if hi < prev[0] {
				return 0, "", fmt.Errorf("range %c-%c is backwards", prev[0], hi)
			}
			b.WriteString("-" + classLiteral(hi))
			i = j
			prev = ""
		default:
			if c == '\\' {
				if i+1 == len(p) {
					return 0, "", fmt.Errorf("ends with a lone backslash")
				}
				i++
				c = p[i]
			}
			if c >= 0x80 {
				// A multi-byte character: copy it whole.
				j := i + 1
				for j < len(p) && p[j]&0xc0 == 0x80 {
					j++
				}
				b.WriteString(p[i:j])
				i = j - 1
				prev = ""
			} else {
				b.WriteString(classLiteral(c))
				prev = string(c)
			}
		}
		first = false
	}
	return 0, "", fmt.Errorf("unclosed [")
}

// classLiteral is c inside a bracket expression.
func classLiteral(c byte) string {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return string(c)
	}
	return fmt.Sprintf(`\x%02x`, c)
}

// matches says whether r matches rel (a path relative to the root).
func (r *rule) matches(rel string, isDir bool) bool {
	if r.dirOnly && !isDir {
		return false
	}
	if r.base {
		rel = rel[strings.LastIndexByte(rel, '/')+1:]
	}
	switch r.kind {
	case exact:
		return rel == r.lit
	case prefix:
		return strings.HasPrefix(rel, r.lit)
	case suffix:
		return strings.HasSuffix(rel, r.lit)
	}
	return r.m.MatchesPath(rel)
}
