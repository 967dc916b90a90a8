package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

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

// AliasesMarkerPath is the non-secret file that says the node's aliases
// are in the OS keyring (app/secrets writes it). The file-only default
// store refuses to start an empty private/aliases next to it: a program
// without keyring access would otherwise write a file holding only its
// new alias, which then looks newer than the keyring's.
func AliasesMarkerPath(dir string) string { return privPath(dir, "aliases.keyring") }

// AliasStore keeps a node's aliases. The default is FileAliases;
// programs with an OS keyring install theirs with SetAliasStore (the node
// packages never import the app that provides it).
type AliasStore interface {
	LoadAliases(dir string) (map[string]string, error)
	SaveAliases(dir string, aliases map[string]string) error
}

var aliasStore atomic.Pointer[AliasStore]

// SetAliasStore makes s the store LoadAliases and SaveAliases use (nil:
// FileAliases) and returns the one it replaces. Call it at start-up,
// before any alias is read.
func SetAliasStore(s AliasStore) AliasStore {
	var old *AliasStore
	if s == nil {
		old = aliasStore.Swap(nil)
	} else {
		old = aliasStore.Swap(&s)
	}
	if old == nil {
		return FileAliases{}
	}
	return *old
}

func currentAliasStore() AliasStore {
	if p := aliasStore.Load(); p != nil {
		return *p
	}
	return FileAliases{}
}

// LoadAliases returns the node's aliases from the installed AliasStore
// (no aliases: an empty map).
func LoadAliases(dir string) (map[string]string, error) {
	return currentAliasStore().LoadAliases(dir)
}

// SaveAliases replaces the node's aliases in the installed AliasStore.
func SaveAliases(dir string, aliases map[string]string) error {
	return currentAliasStore().SaveAliases(dir, aliases)
}

// ErrAliasesElsewhere is returned by FileAliases when the aliases are in
// the OS keyring and private/aliases does not exist.
var ErrAliasesElsewhere = errors.New("the aliases are in the OS keyring")

// FileAliases keeps the aliases in private/aliases, as Tahoe does.
type FileAliases struct{}

// LoadAliases reads private/aliases (no file: no aliases).
func (FileAliases) LoadAliases(dir string) (map[string]string, error) {
	b, err := os.ReadFile(AliasesPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		if fileExists(AliasesMarkerPath(dir)) {
			return nil, aliasesElsewhere(dir)
		}
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseAliases(b, AliasesPath(dir))
}

// SaveAliases writes private/aliases (mode 0600: the caps are secrets).
func (FileAliases) SaveAliases(dir string, aliases map[string]string) error {
	if !fileExists(AliasesPath(dir)) && fileExists(AliasesMarkerPath(dir)) {
		return aliasesElsewhere(dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(AliasesPath(dir), FormatAliases(aliases), 0o600)
}

func aliasesElsewhere(dir string) error {
	return fmt.Errorf("%w (%s says so), which this program does not read: use lafs or the LAFS Sync app, or run 'lafs secrets export-tahoe' to write %s",
		ErrAliasesElsewhere, AliasesMarkerPath(dir), AliasesPath(dir))
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// ParseAliases parses Tahoe's aliases format; name is the file (or
// keyring item) for errors, which never quote a line (it holds a cap).
func ParseAliases(b []byte, name string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		alias, c, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(alias) == "" {
			return nil, fmt.Errorf("%s line %d: want \"alias: cap\"", name, n)
		}
		out[strings.TrimSpace(alias)] = strings.TrimSpace(c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// FormatAliases is aliases in Tahoe's format, sorted by name.
func FormatAliases(aliases map[string]string) []byte {
	names := make([]string, 0, len(aliases))
	for n := range aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s: %s\n", n, aliases[n])
	}
	return b.Bytes()
}
