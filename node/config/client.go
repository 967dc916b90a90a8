package config

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/internal/atomicfile"
)

// ClientSecrets are what a client needs to upload: the lease secret and the
// convergence secret (private/secret, private/convergence, as Tahoe).
type ClientSecrets struct {
	Lease       []byte
	Convergence []byte
}

// LoadClientSecrets reads the client's secrets, creating them (32 random
// bytes each, base32, mode 0600) the first time.
func LoadClientSecrets(dir string) (ClientSecrets, error) {
	var cs ClientSecrets
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o700); err != nil {
		return cs, err
	}
	for name, dst := range map[string]*[]byte{"secret": &cs.Lease, "convergence": &cs.Convergence} {
		p := privPath(dir, name)
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			*dst = random(32)
			if err := os.WriteFile(p, []byte(base32.Encode(*dst)+"\n"), 0o600); err != nil {
				return cs, err
			}
			continue
		}
		if err != nil {
			return cs, err
		}
		if *dst, err = base32.Decode(strings.TrimSpace(string(b))); err != nil {
			return cs, fmt.Errorf("%s: %w", p, err)
		}
	}
	return cs, nil
}

// AliasesPath is Tahoe's private/aliases: one "name: cap" per line.
func AliasesPath(dir string) string { return privPath(dir, "aliases") }

// LoadAliases reads private/aliases (no file: no aliases).
func LoadAliases(dir string) (map[string]string, error) {
	f, err := os.Open(AliasesPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, c, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("%s line %d: want \"alias: cap\"", AliasesPath(dir), n)
		}
		out[strings.TrimSpace(name)] = strings.TrimSpace(c)
	}
	return out, sc.Err()
}

// SaveAliases writes private/aliases (mode 0600: the caps are secrets).
func SaveAliases(dir string, aliases map[string]string) error {
	names := make([]string, 0, len(aliases))
	for n := range aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s: %s\n", n, aliases[n])
	}
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(AliasesPath(dir), []byte(b.String()), 0o600)
}
