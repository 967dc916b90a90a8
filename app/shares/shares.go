// Package shares keeps, on this computer, the list of whom each folder was
// shared with: a name the user typed ("Alice"), the folder, how (read-cap,
// frozen snapshot, invite code) and when. It is a reminder for the user,
// not a secret store and not an access list: it never holds a cap (a
// read-cap cannot be revoked, so the list cannot take anything back), and
// nothing is sent anywhere.
//
// The file is NodeDir/private/shared-with.json, a small JSON document
// written atomically (temporary file, then rename) with mode 0600, since
// names of friends are private:
//
//	{"v": 1, "entries": [{"folder": "Docs", "name": "Alice", "kind": "read", "time": "2026-12-02T14:03:00Z"}]}
package shares

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// How a folder was shared.
const (
	KindRead     = "read"     // the folder's read-cap (live, read-only)
	KindSnapshot = "snapshot" // a frozen immutable copy
	KindInvite   = "invite"   // the read-cap, sent with an invite code
)

// Bounds: the file is read whole, so it stays small.
const (
	MaxName    = 64      // characters of a name
	MaxEntries = 1000    // the oldest entries go first
	maxFile    = 1 << 20 // bytes read from the file
)

// FileName is the list's file under the node directory's private/.
const FileName = "shared-with.json"

// Entry is one share: whom, which folder, how, when. There is no cap in it
// on purpose.
type Entry struct {
	Folder string    `json:"folder"`
	Name   string    `json:"name"`
	Kind   string    `json:"kind"`
	Time   time.Time `json:"time"`
}

// Describe is the kind in the user's words.
func Describe(kind string) string {
	switch kind {
	case KindRead:
		return "read-cap"
	case KindSnapshot:
		return "frozen snapshot"
	case KindInvite:
		return "invite code"
	}
	return kind
}

type doc struct {
	V       int     `json:"v"`
	Entries []Entry `json:"entries"`
}

// Store is the list in one file. Its methods are safe for concurrent use.
type Store struct {
	path string
	mu   sync.Mutex // serialises read-modify-write of the file
}

// Open is the store of the node in nodeDir (NodeDir/private/shared-with.json).
// The file is made on the first Add.
func Open(nodeDir string) *Store { return At(filepath.Join(nodeDir, "private", FileName)) }

// At is a store in the file path.
func At(path string) *Store { return &Store{path: path} }

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// ErrBadName is returned by Add for a name that is empty or not one short line.
var ErrBadName = fmt.Errorf("a name is one line of at most %d characters (like Alice)", MaxName)

// CleanName trims a typed name and checks it: one line, no control
// characters, at most MaxName characters.
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxName || strings.ContainsFunc(name, unicode.IsControl) {
		return "", ErrBadName
	}
	return name, nil
}

// List returns folder's entries, newest first ("" : every folder's).
func (s *Store) List(folder string) ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.load()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for i := len(d.Entries) - 1; i >= 0; i-- {
		if e := d.Entries[i]; folder == "" || e.Folder == folder {
			out = append(out, e)
		}
	}
	return out, nil
}

// Add records a share (Time zero: now).
func (s *Store) Add(e Entry) error {
	name, err := CleanName(e.Name)
	if err != nil {
		return err
	}
	e.Name = name
	if e.Folder == "" {
		return errors.New("shares: an entry needs its folder")
	}
	if e.Kind != KindRead && e.Kind != KindSnapshot && e.Kind != KindInvite {
		return fmt.Errorf("shares: unknown kind %q", e.Kind)
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.load()
	if err != nil {
		return err
	}
	d.Entries = append(d.Entries, e)
	if n := len(d.Entries) - MaxEntries; n > 0 {
		d.Entries = slices.Delete(d.Entries, 0, n)
	}
	return s.save(d)
}

// load reads the file; s.mu held.
func (s *Store) load() (doc, error) {
	var d doc
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("read the shared-with list: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return d, fmt.Errorf("read the shared-with list %s: %w", s.path, err)
	}
	if len(b) > maxFile {
		return d, fmt.Errorf("the shared-with list %s is larger than %d bytes: move it away to start a new one", s.path, maxFile)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("the shared-with list %s is damaged (%v): move it away to start a new one", s.path, err)
	}
	return d, nil
}

// save replaces the file through a temporary file and a rename; s.mu held.
func (s *Store) save(d doc) error {
	d.V = 1
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save the shared-with list: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".shared-with-*")
	if err != nil {
		return fmt.Errorf("save the shared-with list: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(append(b, '\n'))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("save the shared-with list %s: %w", s.path, err)
	}
	return nil
}
