package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/storage"
)

// journalMax is how many records .lafssync/state keeps.
const journalMax = 1000

// stateAttempts bounds the retries of one state update lost to other
// writers.
const stateAttempts = 16

// stateDoc is .lafssync/state (docs/sync-format.md).
type stateDoc struct {
	V          int             `json:"v"`
	Generation uint64          `json:"generation"`
	Journal    []journalRecord `json:"journal"`
}

type journalRecord struct {
	Gen    uint64  `json:"gen"`
	Dir    string  `json:"dir"`
	Device string  `json:"device"`
	Time   float64 `json:"time"`
}

func encodeState(s *stateDoc) []byte {
	if s.Journal == nil {
		s.Journal = []journalRecord{}
	}
	b, _ := json.Marshal(s) // plain structs: cannot fail
	return b
}

// decodeState reads state; ok is false for anything but a version-1
// document whose journal is in generation order and no newer than it.
func decodeState(b []byte) (*stateDoc, bool) {
	var s stateDoc
	if err := json.Unmarshal(b, &s); err != nil || s.V != metaVersion {
		return nil, false
	}
	for i, r := range s.Journal {
		if r.Gen > s.Generation || i > 0 && r.Gen < s.Journal[i-1].Gen {
			return nil, false
		}
	}
	return &s, true
}

// trimJournal keeps the last journalMax records, dropping a generation
// whose records would be only partly kept.
func trimJournal(j []journalRecord) []journalRecord {
	if len(j) <= journalMax {
		return j
	}
	cut := len(j) - journalMax
	for cut < len(j) && j[cut].Gen == j[cut-1].Gen {
		cut++
	}
	return append([]journalRecord(nil), j[cut:]...)
}

func (f *Folder) openState(h *hiddenCaps) (*mutable.File, error) {
	dc := f.g.Dirs()
	return mutable.Open(h.state, dc.Servers, dc.Options)
}

// Poll is the cheap check: it reads .lafssync/state only (a constant number
// of server requests, whatever the tree's size) and returns the current
// generation and the directories (slash-separated paths, "" = root)
// changed after generation since. full is true when the journal does not
// reach back to since (or state is missing or unreadable): the caller walks
// the whole tree. since == gen means nothing changed.
//
// The first Poll of a Folder also reads the root and .lafssync to find
// state (and so does each Poll of a folder that has none yet). A state that
// cannot be fetched (servers unreachable) is an error, with full set; a
// state that is missing or is not valid JSON is full with no error.
func (f *Folder) Poll(ctx context.Context, since uint64) (gen uint64, dirs []string, full bool, err error) {
	h, err := f.findHidden(ctx)
	if err != nil {
		return 0, nil, true, f.withHealth(fmt.Errorf("check the folder for changes: %w", err))
	}
	if h == nil || h.state == "" {
		return 0, nil, true, nil
	}
	sf, err := f.openState(h)
	if err != nil {
		return 0, nil, true, nil
	}
	var data []byte
	err = readRetry(ctx, func() (err error) {
		data, _, err = sf.Read(ctx)
		return err
	})
	if f.missing(err) {
		return 0, nil, true, nil
	}
	if err != nil {
		return 0, nil, true, f.withHealth(fmt.Errorf("check the folder for changes: read .lafssync/state: %w", err))
	}
	s, ok := decodeState(data)
	if !ok {
		return 0, nil, true, nil
	}
	gen = s.Generation
	switch {
	case since == gen:
		return gen, nil, false, nil
	case since > gen, len(s.Journal) == 0, s.Journal[0].Gen > since+1:
		return gen, nil, true, nil
	}
	set := map[string]bool{}
	for _, r := range s.Journal {
		if r.Gen > since && !set[r.Dir] {
			set[r.Dir] = true
			dirs = append(dirs, r.Dir)
		}
	}
	sort.Strings(dirs)
	return gen, dirs, false, nil
}

// missing says whether a read error means the file is really not on the
// grid: not found, with servers connected and none of them failing to
// answer (with none connected, "not found" means nothing).
func (f *Folder) missing(err error) bool {
	return errors.Is(err, mutable.ErrNotFound) && !errors.Is(err, storage.ErrUnavailable) && f.g.Health().Reachable > 0
}

// bumpState adds one generation naming dirs to state, retrying when
// other writers get in first. A state that is not valid is started again
// (generation 1, an empty journal before this record), which every poller
// sees as "walk the whole tree".
func (f *Folder) bumpState(ctx context.Context, h *hiddenCaps, dirs []string) (uint64, error) {
	sf, err := f.openState(h)
	if err != nil {
		return 0, err
	}
	for attempt := 0; attempt < stateAttempts; attempt++ {
		data, ver, err := sf.Read(ctx)
		if err != nil && !f.missing(err) {
			return 0, err
		}
		s, ok := decodeState(data)
		if !ok {
			s = &stateDoc{V: metaVersion}
		}
		s.Generation++
		now := f.now()
		for _, d := range dirs {
			s.Journal = append(s.Journal, journalRecord{Gen: s.Generation, Dir: d, Device: f.device, Time: now})
		}
		s.Journal = trimJournal(s.Journal)
		_, err = sf.Replace(ctx, encodeState(s), ver)
		if err == nil {
			return s.Generation, nil
		}
		if !errors.Is(err, mutable.ErrUncoordinated) {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Duration(rand.IntN(5+attempt*10)) * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("other devices kept changing .lafssync/state (%d attempts)", stateAttempts)
}
