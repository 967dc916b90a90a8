package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/lafssync/lafssync/grid/storage"
)

// Corruption advisories are kept for the operator, but any client may
// send them, so they are bounded: at most maxAdvisories files and
// maxAdvisoryBytes in all (the oldest are dropped to make room), each
// reason cut to maxAdvisoryReason bytes, and none written into
// reserved_space.
const (
	maxAdvisories     = 500
	maxAdvisoryBytes  = 4 << 20
	maxAdvisoryReason = 32765 // Tahoe's limit
	maxLoggedReason   = 200
)

// advisories is what corruption-advisories/ holds, oldest first (names
// start with the time).
type advisories struct {
	mu    sync.Mutex // guards files, bytes and the directory
	files []advisoryFile
	bytes int64
}

type advisoryFile struct {
	name string
	size int64
}

func (s *Store) advisoryDir() string { return filepath.Join(s.dir, "corruption-advisories") }

func (s *Store) loadAdvisories() error {
	ents, err := os.ReadDir(s.advisoryDir())
	if err != nil {
		return err
	}
	a := &s.adv
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			a.files = append(a.files, advisoryFile{e.Name(), info.Size()})
			a.bytes += info.Size()
		}
	}
	slices.SortFunc(a.files, func(x, y advisoryFile) int { return strings.Compare(x.name, y.name) })
	s.dropAdvisories(0)
	return nil
}

// dropAdvisories removes the oldest until one more of size bytes fits.
// s.adv.mu must be held.
func (s *Store) dropAdvisories(size int64) {
	a := &s.adv
	for len(a.files) > 0 && (len(a.files)+1 > maxAdvisories || a.bytes+size > maxAdvisoryBytes) {
		old := a.files[0]
		if err := os.Remove(filepath.Join(s.advisoryDir(), old.name)); err != nil && !os.IsNotExist(err) {
			s.log.Warn("cannot drop an old corruption advisory", "name", old.name, "err", err)
			return
		}
		a.files = a.files[1:]
		a.bytes -= old.size
	}
}

// AdviseCorrupt implements storage.Server: the report is logged and kept
// in corruption-advisories/ for the operator, within the bounds above.
func (s *Store) AdviseCorrupt(ctx context.Context, kind storage.Kind, si storage.SI, sh int, reason string) error {
	if len(reason) > maxAdvisoryReason {
		reason = reason[:maxAdvisoryReason]
	}
	logged := reason
	if len(logged) > maxLoggedReason {
		logged = logged[:maxLoggedReason] + "…"
	}
	s.log.Warn("client reports a corrupt share", "kind", kind.String(), "si", si.String(), "share", sh, "reason", logged)
	body := fmt.Sprintf("report: %s share corruption\nstorage_index: %s\nshare_number: %d\n\n%s\n", kind, si, sh, reason)
	size := int64(len(body))

	a := &s.adv
	a.mu.Lock()
	defer a.mu.Unlock()
	s.dropAdvisories(size)
	s.mu.Lock()
	avail := s.available()
	s.mu.Unlock()
	if uint64(size) > avail {
		return fmt.Errorf("corruption advisory for %s/%d not kept: %w", si, sh, storage.ErrNoSpace)
	}
	name := fmt.Sprintf("%s-%06d--%s-%d", s.opts.Now().UTC().Format("20060102T150405.000000000Z"), s.seq.Add(1)%1_000_000, si, sh)
	f, err := os.OpenFile(filepath.Join(s.advisoryDir(), name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("corruption advisory for %s/%d: %w", si, sh, err)
	}
	_, err = f.WriteString(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("corruption advisory for %s/%d: %w", si, sh, diskErr(err))
	}
	a.files = append(a.files, advisoryFile{name, size})
	a.bytes += size
	return nil
}
