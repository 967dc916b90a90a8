//go:build !windows && !darwin

package autostart

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
)

// entryFile is the autostart entry's path ($XDG_CONFIG_HOME/autostart).
func entryFile() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "autostart", "lafssync.desktop"), nil
}

// parseEntry reads the .desktop entry at p; a desktop's own switch,
// X-GNOME-Autostart-enabled=false or Hidden=true, counts as off.
func parseEntry(p string, b []byte) (Status, error) {
	st := Status{Where: p, Enabled: true}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch k {
		case "Hidden":
			if v == "true" {
				st.Enabled = false
			}
		case "X-GNOME-Autostart-enabled":
			if v == "false" {
				st.Enabled = false
			}
		case "Exec":
			st.Program = unquoteExec(v)
		}
	}
	return st, nil
}

// encodeEntry is the .desktop file for e (Desktop Entry Specification 1.5;
// Exec arguments quoted with its rules).
func encodeEntry(e Entry) ([]byte, error) {
	args := []string{quoteExec(e.Program)}
	for _, a := range e.Args {
		args = append(args, quoteExec(a))
	}
	return []byte("[Desktop Entry]\n" +
		"Type=Application\n" +
		"Version=1.4\n" +
		"Name=" + Name + "\n" +
		"Comment=Start LAFS Sync's tray app when you log in\n" +
		"Exec=" + strings.Join(args, " ") + "\n" +
		"Icon=lafssync\n" +
		"Terminal=false\n" +
		"NoDisplay=true\n" +
		"X-GNOME-Autostart-enabled=true\n"), nil
}

// quoteExec quotes one Exec argument: inside double quotes, `"`, "`", "$"
// and "\" are escaped with a backslash, and "%" is doubled (a field code
// otherwise). The .desktop file's own escaping doubles each backslash again.
func quoteExec(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\><~|&;$*?#()`%=") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '`', '$':
			b.WriteString(`\\`)
			b.WriteRune(r)
		case '\\':
			b.WriteString(`\\\\`)
		case '%':
			b.WriteString("%%")
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// unquoteExec returns the program (first argument) of an Exec line.
func unquoteExec(v string) string {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, `"`) {
		prog, _, _ := strings.Cut(v, " ")
		return prog
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			return b.String()
		case c == '\\' && strings.HasPrefix(v[i:], `\\\\`):
			b.WriteByte('\\')
			i += 3
		case c == '\\' && strings.HasPrefix(v[i:], `\\`) && i+2 < len(v):
			b.WriteByte(v[i+2])
			i += 2
		case c == '%' && i+1 < len(v) && v[i+1] == '%':
			b.WriteByte('%')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
