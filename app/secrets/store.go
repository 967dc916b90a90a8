package secrets

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/zalando/go-keyring"

	"github.com/lafssync/lafssync/syncer"
)

// Service is the keyring service every item of LAFS Sync is stored under.
const Service = "LAFS Sync"

const (
	// chunkSize is the most bytes of an item in one keyring entry: base64
	// makes 2,048 characters of it, under Windows' 2,560-byte limit and,
	// with macOS' own base64 on top, under the 4,096-byte command line of
	// /usr/bin/security.
	chunkSize = 1536
	// maxChunks bounds every loop over chunks (a 1.5 MB item).
	maxChunks = 1024
	// DefaultTimeout is how long one Load or Save waits for the keyring.
	DefaultTimeout = 3 * time.Second
	manifestMagic  = "lafs-secrets"
)

// Mode says where a Store keeps its item.
type Mode string

const (
	ModeKeyring Mode = "keyring" // in the OS keyring
	ModeFile    Mode = "file"    // in the item's 0600 fallback file (Item.File)
)

// EnvKeyring is the environment variable that, set to "off", keeps every
// item in its file and leaves the OS keyring alone (tests run on a
// developer's desktop, users who do not want it).
const EnvKeyring = "LAFSSYNC_KEYRING"

// Options are a Store's settings; the zero value is the real OS keyring.
type Options struct {
	Service string        // "" = Service
	Timeout time.Duration // 0 = DefaultTimeout
	Keyring Keyring       // nil = OSKeyring
	Log     *slog.Logger  // nil = discard
}

// Store keeps one Item of a node in the OS keyring with a 0600 file as
// the fallback (see the package doc). The folder list's Store is a
// syncer.SecretStore. It is safe for concurrent use.
type Store struct {
	item    Item
	file    syncer.FileStore
	export  string // ExportPath of the node
	service string
	key     string // account prefix for this node
	kr      Keyring
	gate    *gate
	log     *slog.Logger

	mu   sync.Mutex // serializes Load and Save; guards mode and why
	mode Mode
	why  string // in ModeFile, why the keyring is not used
}

var _ syncer.SecretStore = (*Store)(nil)

// FilePath is the folder list's fallback file of the node in nodeDir.
func FilePath(nodeDir string) string { return filepath.Join(nodeDir, "private", "sync-folders.json") }

// MarkerPath is the non-secret file saying the node's folder list is in
// the keyring.
func MarkerPath(nodeDir string) string {
	return filepath.Join(nodeDir, "private", "sync-folders.keyring")
}

// ExportPath is the non-secret file saying the user asked for Tahoe's
// files (lafs secrets export-tahoe): while it exists, the Exportable
// items are kept in their files too, beside the keyring copy.
func ExportPath(nodeDir string) string {
	return filepath.Join(nodeDir, "private", "tahoe-export")
}

// Key is the account-name prefix of the node in nodeDir: the directory's
// base name (at most 40 bytes) and 12 hex digits of the SHA-256 of its
// absolute path, so two nodes of one user never share items.
func Key(nodeDir string) string {
	abs, err := filepath.Abs(nodeDir)
	if err != nil {
		abs = filepath.Clean(nodeDir)
	}
	sum := sha256.Sum256([]byte(abs))
	base := filepath.Base(abs)
	for len(base) > 40 {
		_, n := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-n]
	}
	return base + "-" + hex.EncodeToString(sum[:6])
}

// New returns the folder list's store of the node in nodeDir. It touches
// neither the keyring nor the disk until Load or Save.
func New(nodeDir string, o Options) *Store { return NewItem(nodeDir, Folders(nodeDir), o) }

// NewItem returns the store of item of the node in nodeDir. It touches
// neither the keyring nor the disk until Load or Save.
func NewItem(nodeDir string, item Item, o Options) *Store {
	if o.Service == "" {
		o.Service = Service
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Keyring == nil {
		switch {
		case os.Getenv(EnvKeyring) == "off":
			o.Keyring = offKeyring{}
		case !busOffered():
			o.Keyring = noBusKeyring{}
		default:
			o.Keyring = OSKeyring{}
		}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Store{
		item:    item,
		file:    syncer.FileStore(item.File),
		export:  ExportPath(nodeDir),
		service: o.Service,
		key:     Key(nodeDir),
		kr:      o.Keyring,
		gate:    &gate{timeout: o.Timeout},
		log:     o.Log,
	}
}

// Item is what the store keeps.
func (s *Store) Item() Item { return s.item }

// Mode is where the last Load or Save kept the item ("" before either).
func (s *Store) Mode() Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// Warning is, in ModeFile, what to tell the user about it; "" otherwise.
func (s *Store) Warning() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode != ModeFile {
		return ""
	}
	return fmt.Sprintf("No OS keyring is available (%s), so %s %s kept in %s, readable only by you. %s automatically when one is available.",
		s.why, s.item.Kept, s.item.verb(), string(s.file), s.item.move())
}

// Unavailable is, in ModeFile, why the keyring is not used ("" otherwise).
func (s *Store) Unavailable() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode != ModeFile {
		return ""
	}
	return s.why
}

// Account is the keyring account of the item's manifest (for messages).
func (s *Store) Account() string { return s.manifestAccount() }

func (s *Store) manifestAccount() string { return s.key + "/" + s.item.Name }
func (s *Store) chunkAccount(gen string, i int) string {
	return s.key + "/" + s.item.Name + "/" + gen + "/" + strconv.Itoa(i)
}

// exported says the user wants the item's file kept for Tahoe too.
func (s *Store) exported() bool { return s.item.Exportable && exists(s.export) }

func (s *Store) setMode(m Mode, why string) {
	if m == s.mode && why == s.why {
		return
	}
	s.mode, s.why = m, why
	if m == ModeKeyring {
		s.log.Info(s.item.What+" is kept in the OS keyring", "service", s.service, "account", s.manifestAccount())
	} else {
		s.log.Warn("no OS keyring: "+s.item.What+" is kept in a file readable only by you", "file", string(s.file), "why", why)
	}
}

func unavailable(err error) (*unavailableError, bool) {
	var u *unavailableError
	ok := errors.As(err, &u)
	return u, ok
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Load returns the item: from the file if there is one (moving it into
// the keyring when that works, merged with the keyring copy when the item
// has a Merge), else from the keyring. nil means nothing was saved.
func (s *Store) Load() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.item
	file, err := s.file.Load()
	if err != nil {
		return nil, fmt.Errorf("cannot read %s in %s: %w (check its permissions)", it.What, string(s.file), err)
	}
	var kb []byte
	var found bool
	err = s.gate.run(func() error {
		var err error
		kb, found, err = s.read()
		return err
	})
	if u, ok := unavailable(err); ok {
		if file != nil {
			s.setMode(ModeFile, u.Why)
			return file, nil
		}
		if exists(it.Marker) && !it.Remakeable {
			return nil, fmt.Errorf("%s is in the OS keyring (service %q, account %q), but %s: unlock the keyring (log in to the desktop session, or start gnome-keyring) and try again; if that keyring is gone for good, delete %s to start with %s", it.What, s.service, s.manifestAccount(), u.Why, it.Marker, it.None)
		}
		s.setMode(ModeFile, u.Why)
		return nil, nil
	}
	if err != nil && file == nil {
		if it.Remakeable {
			// A damaged token: the caller makes a new one, whose save
			// overwrites it.
			s.log.Warn(it.What+" in the OS keyring is damaged; a new one is made", "service", s.service, "account", s.manifestAccount())
			return nil, nil
		}
		return nil, err
	}
	if file != nil {
		// The file is newer than anything in the keyring (see Save), and
		// replaces a damaged keyring copy too.
		b := file
		if it.Merge != nil && err == nil && found {
			if b, err = it.Merge(file, kb); err != nil {
				return nil, fmt.Errorf("cannot merge %s of %s with the copy in the OS keyring: %w", it.What, string(s.file), err)
			}
		}
		if err == nil && found && bytes.Equal(kb, b) {
			// The keyring holds it already (an exported file, or a crash
			// before the file was removed).
		} else if err := s.put(b); err != nil {
			why := "the keyring did not keep " + it.What + ": " + err.Error()
			if u, ok := unavailable(err); ok {
				why = u.Why
			}
			s.setMode(ModeFile, why)
			if !bytes.Equal(b, file) {
				// Keep what the keyring added in the file, the newest copy.
				if err := s.file.Save(b); err != nil {
					return nil, fmt.Errorf("cannot write %s: %w", string(s.file), err)
				}
			}
			return b, nil
		}
		if err := s.commitKeyring(b, file); err != nil {
			return nil, err
		}
		if !s.exported() {
			s.log.Info(it.What+" moved from its file into the OS keyring", "file", string(s.file))
		}
		return b, nil
	}
	if !found && exists(it.Marker) && !it.Remakeable {
		return nil, fmt.Errorf("the OS keyring answers but holds no %s for this node (service %q, account %q), though %s says it should: if the keyring was reset on purpose, delete that file to start with %s", strings.TrimPrefix(it.What, "the "), s.service, s.manifestAccount(), it.Marker, it.None)
	}
	if found && s.exported() {
		// Exported, and the file is gone: write it again for Tahoe.
		if err := s.file.Save(kb); err != nil {
			return nil, fmt.Errorf("cannot write %s for Tahoe (lafs secrets export-tahoe): %w", string(s.file), err)
		}
	}
	s.setMode(ModeKeyring, "")
	return kb, nil
}

// Save stores b in the keyring, or in the file when no keyring works.
func (s *Store) Save(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inFile := exists(string(s.file)) || s.exported()
	if inFile {
		// Keep the file the newest copy until the keyring holds this one.
		if err := s.file.Save(b); err != nil {
			return fmt.Errorf("cannot write %s: %w", string(s.file), err)
		}
	}
	if err := s.put(b); err != nil {
		why := "the keyring did not keep " + s.item.What + ": " + err.Error()
		if u, ok := unavailable(err); ok {
			why = u.Why
		}
		if !inFile {
			if err := s.file.Save(b); err != nil {
				return fmt.Errorf("the OS keyring cannot be used (%s) and %s cannot be written: %w", why, string(s.file), err)
			}
		}
		s.setMode(ModeFile, why)
		return nil
	}
	return s.commitKeyring(b, b)
}

// commitKeyring records that the item is in the keyring, after a put of
// b that was read back and matched, and removes the file if it still
// holds fileWas (another program may have written it since: the next Load
// moves that). When the item is exported for Tahoe, the file is kept and
// made to hold b instead.
func (s *Store) commitKeyring(b, fileWas []byte) error {
	it := s.item
	if !exists(it.Marker) {
		note := fmt.Sprintf("%s of this node %s in the OS keyring: service %q, account %q. No secret is in this file.\n", upper(it.What), it.verb(), s.service, s.manifestAccount())
		if err := writeFile(it.Marker, []byte(note)); err != nil {
			return fmt.Errorf("cannot write %s: %w", it.Marker, err)
		}
	}
	s.setMode(ModeKeyring, "")
	if s.exported() {
		if !bytes.Equal(b, fileWas) {
			if err := s.file.Save(b); err != nil {
				return fmt.Errorf("cannot write %s for Tahoe (lafs secrets export-tahoe): %w", string(s.file), err)
			}
		}
		return nil
	}
	if now, err := s.file.Load(); err == nil && now != nil && !bytes.Equal(now, fileWas) {
		return nil
	}
	if err := os.Remove(string(s.file)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s is now in the OS keyring, but its old file %s cannot be removed: %w (remove it yourself)", it.What, string(s.file), err)
	}
	return nil
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return syncer.FileStore(path).Save(b)
}

// manifest is the parsed manifest item.
type manifest struct {
	gen    string
	chunks int
	size   int
	sum    string // hex SHA-256 of the whole list
}

func (m manifest) String() string {
	return fmt.Sprintf("%s v1 gen=%s chunks=%d size=%d sha256=%s", manifestMagic, m.gen, m.chunks, m.size, m.sum)
}

func parseManifest(v string) (manifest, error) {
	f := strings.Fields(v)
	if len(f) != 6 || f[0] != manifestMagic || f[1] != "v1" {
		return manifest{}, errors.New("unknown manifest")
	}
	var m manifest
	for _, kv := range f[2:] {
		k, val, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "gen":
			m.gen = val
		case "chunks":
			m.chunks, err = strconv.Atoi(val)
		case "size":
			m.size, err = strconv.Atoi(val)
		case "sha256":
			m.sum = val
		default:
			err = errors.New("unknown field " + k)
		}
		if err != nil {
			return manifest{}, err
		}
	}
	if (m.gen != "a" && m.gen != "b") || m.chunks < 0 || m.chunks > maxChunks || m.size < 0 || m.size > m.chunks*chunkSize || len(m.sum) != 64 {
		return manifest{}, errors.New("manifest out of range")
	}
	return m, nil
}

// getManifest reads the manifest; found is false when there is none.
func (s *Store) getManifest() (m manifest, found bool, err error) {
	v, err := s.kr.Get(s.service, s.manifestAccount())
	if errors.Is(err, keyring.ErrNotFound) {
		return manifest{}, false, nil
	}
	if err != nil {
		return manifest{}, false, classify(err)
	}
	m, err = parseManifest(v)
	if err != nil {
		return manifest{}, false, s.damaged(err)
	}
	return m, true, nil
}

func (s *Store) damaged(err error) error {
	return fmt.Errorf("%s in the OS keyring (service %q, account %q) is damaged (%v): delete those items (e.g. with Seahorse or secret-tool) and %s to start with %s", s.item.What, s.service, s.manifestAccount(), err, s.item.Marker, s.item.None)
}

// read returns the item the manifest names. Runs inside the gate.
func (s *Store) read() ([]byte, bool, error) {
	m, found, err := s.getManifest()
	if err != nil || !found {
		return nil, false, err
	}
	b, err := s.readGen(m)
	return b, err == nil, err
}

func (s *Store) readGen(m manifest) ([]byte, error) {
	var buf bytes.Buffer
	for i := range m.chunks {
		v, err := s.kr.Get(s.service, s.chunkAccount(m.gen, i))
		if errors.Is(err, keyring.ErrNotFound) {
			return nil, s.damaged(fmt.Errorf("chunk %d of %d is missing", i+1, m.chunks))
		}
		if err != nil {
			return nil, classify(err)
		}
		c, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(c) > chunkSize {
			return nil, s.damaged(fmt.Errorf("chunk %d of %d is not what this program wrote", i+1, m.chunks))
		}
		buf.Write(c)
	}
	sum := sha256.Sum256(buf.Bytes())
	if buf.Len() != m.size || hex.EncodeToString(sum[:]) != m.sum {
		return nil, s.damaged(errors.New("its chunks do not match their checksum"))
	}
	return append([]byte{}, buf.Bytes()...), nil // non-nil: an empty item was saved
}

// put writes b into the keyring as described in the package doc, within
// the gate's timeout.
func (s *Store) put(b []byte) error {
	return s.gate.run(func() error { return s.write(b) })
}

func (s *Store) write(b []byte) error {
	if len(b) > maxChunks*chunkSize {
		return fmt.Errorf("%s is %d bytes, more than the %d this store keeps", s.item.What, len(b), maxChunks*chunkSize)
	}
	old, hadOld, err := s.getManifest()
	if _, ok := unavailable(err); ok {
		return err
	}
	if err != nil {
		hadOld = false // damaged: overwrite it
	}
	gen := "a"
	if hadOld && old.gen == "a" {
		gen = "b"
	}
	sum := sha256.Sum256(b)
	m := manifest{gen: gen, chunks: (len(b) + chunkSize - 1) / chunkSize, size: len(b), sum: hex.EncodeToString(sum[:])}
	for i := range m.chunks {
		c := b[i*chunkSize : min(len(b), (i+1)*chunkSize)]
		if err := s.kr.Set(s.service, s.chunkAccount(gen, i), base64.StdEncoding.EncodeToString(c)); err != nil {
			return classify(err)
		}
	}
	// Leftovers of an interrupted longer save of this generation.
	if err := s.deleteFrom(gen, m.chunks); err != nil {
		return err
	}
	if got, err := s.readGen(m); err != nil || !bytes.Equal(got, b) {
		if err == nil {
			err = errors.New("the chunks read back differ from those written")
		}
		return err
	}
	// The switch: from here on the new generation is the item.
	if err := s.kr.Set(s.service, s.manifestAccount(), m.String()); err != nil {
		return classify(err)
	}
	got, found, err := s.read()
	if err != nil {
		return err
	}
	if !found || !bytes.Equal(got, b) {
		return fmt.Errorf("%s read back from the keyring differs from the one written", s.item.What)
	}
	if hadOld && old.gen != gen {
		if err := s.deleteFrom(old.gen, 0); err != nil {
			// Harmless: the next save of that generation overwrites them.
			s.log.Debug("old chunks left in the keyring", "account", s.manifestAccount(), "generation", old.gen, "err", err)
		}
	}
	return nil
}

// deleteFrom deletes chunks from..maxChunks of gen, stopping at the
// first that does not exist.
func (s *Store) deleteFrom(gen string, from int) error {
	for i := from; i < maxChunks; i++ {
		err := s.kr.Delete(s.service, s.chunkAccount(gen, i))
		if errors.Is(err, keyring.ErrNotFound) {
			return nil
		}
		if err != nil {
			return classify(err)
		}
	}
	return nil
}
