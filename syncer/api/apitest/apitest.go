// Package apitest is an in-memory api.Manager for the tests of the
// handler, the client and the lafs sync commands. Tests only.
package apitest

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/syncer/api"
)

// Fake is an in-memory Manager: folders by name; every change is
// recorded in Calls.
type Fake struct {
	mu      sync.Mutex
	folders map[string]*api.FolderStatus
	order   []string
	calls   []string
	subs    map[int]chan api.Event
	nextSub int
	// NoGrid makes Add fail with api.ErrNoGrid.
	NoGrid bool
	// MakeDirs makes Add make the folder's directory, as the node does
	// (for tests whose folders are in a temporary directory).
	MakeDirs bool
}

// New returns a Fake with folders of these names, up to date, under /home/u.
func New(names ...string) *Fake {
	m := &Fake{folders: map[string]*api.FolderStatus{}, subs: map[int]chan api.Event{}}
	for _, n := range names {
		m.folders[n] = &api.FolderStatus{Name: n, Path: "/home/u/" + n, Mode: "sync", State: api.UpToDate,
			Conflicts: []api.Conflict{}, Errors: []api.FileError{}, Skipped: []api.Skipped{}}
		m.order = append(m.order, n)
	}
	return m
}

// Set replaces folder name's status (its Name is kept).
func (m *Fake) Set(name string, st api.FolderStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st.Name = name
	if _, ok := m.folders[name]; !ok {
		m.order = append(m.order, name)
	}
	m.folders[name] = &st
}

func (m *Fake) record(format string, args ...any) {
	m.calls = append(m.calls, fmt.Sprintf(format, args...))
}

// find resolves a name or local path; m.mu held.
func (m *Fake) find(f string) (*api.FolderStatus, error) {
	for _, n := range m.order {
		if st := m.folders[n]; st.Name == f || st.Path == f {
			return st, nil
		}
	}
	return nil, fmt.Errorf("folder %q: %w", f, api.ErrNoFolder)
}

func (m *Fake) List() []api.FolderStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []api.FolderStatus
	for _, n := range m.order {
		out = append(out, *m.folders[n])
	}
	return out
}

func (m *Fake) Add(ctx context.Context, r api.AddRequest) (api.FolderStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("add %s name=%s to=%t follow=%t", r.Path, r.Name, r.To != "", r.Follow != "")
	if m.NoGrid {
		return api.FolderStatus{}, fmt.Errorf("make the folder's directory: %w", api.ErrNoGrid)
	}
	name := r.Name
	if name == "" {
		name = path.Base(r.Path)
	}
	if _, ok := m.folders[name]; ok {
		return api.FolderStatus{}, fmt.Errorf("folder %q: %w", name, api.ErrExists)
	}
	if m.MakeDirs {
		if err := os.MkdirAll(r.Path, 0o755); err != nil {
			return api.FolderStatus{}, err
		}
	}
	mode := "sync"
	if r.Follow != "" {
		mode = "follow"
	}
	st := &api.FolderStatus{Name: name, Path: r.Path, Mode: mode, State: api.Starting, Conflicts: []api.Conflict{}, Errors: []api.FileError{}, Skipped: []api.Skipped{}}
	m.folders[name] = st
	m.order = append(m.order, name)
	return *st, nil
}

func (m *Fake) Status(f string) (api.FolderStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.find(f)
	if err != nil {
		return api.FolderStatus{}, err
	}
	return *st, nil
}

func (m *Fake) Remove(ctx context.Context, f string, keepRemote bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.find(f)
	if err != nil {
		return err
	}
	m.record("remove %s keep=%t", st.Name, keepRemote)
	delete(m.folders, st.Name)
	for i, n := range m.order {
		if n == st.Name {
			m.order = append(m.order[:i], m.order[i+1:]...)
			break
		}
	}
	return nil
}

func (m *Fake) Pause(f string, d time.Duration) error {
	if f == api.Every {
		m.mu.Lock()
		names := append([]string(nil), m.order...)
		m.mu.Unlock()
		for _, n := range names {
			if err := m.Pause(n, d); err != nil {
				return err
			}
		}
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.find(f)
	if err != nil {
		return err
	}
	m.record("pause %s %v", st.Name, d)
	st.State = api.Paused
	if d > 0 {
		t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)
		st.PausedUntil = &t
	}
	return nil
}

func (m *Fake) Resume(f string) error {
	if f == api.Every {
		m.mu.Lock()
		names := append([]string(nil), m.order...)
		m.mu.Unlock()
		for _, n := range names {
			if err := m.Resume(n); err != nil {
				return err
			}
		}
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.find(f)
	if err != nil {
		return err
	}
	m.record("resume %s", st.Name)
	st.State, st.PausedUntil = api.UpToDate, nil
	return nil
}

func (m *Fake) Share(ctx context.Context, f, kind string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.find(f)
	if err != nil {
		return "", err
	}
	if kind == api.ShareWrite && st.Mode == "follow" {
		return "", fmt.Errorf("folder %q: %w", st.Name, api.ErrReadOnly)
	}
	return map[string]string{api.ShareRead: "URI:DIR2-RO:aaaa:bbbb", api.ShareWrite: "URI:DIR2:cccc:dddd", api.ShareSnapshot: "URI:DIR2-CHK:eeee:ffff:1:1:100"}[kind], nil
}

func (m *Fake) History(ctx context.Context, f, p string) ([]api.Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.find(f); err != nil {
		return nil, err
	}
	if p != "a.txt" {
		return nil, fmt.Errorf("%s: %w", p, api.ErrNoFolder)
	}
	t := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return []api.Version{{N: 0, Size: 3, Mtime: t, By: "devA"}, {N: 1, Size: 2, Mtime: t.Add(-time.Hour), By: "devB", Replaced: t}}, nil
}

// Deleted lists gone.txt and old/notes.md (deleted by devB) under "" and
// old/notes.md under "old"; "many" has many/big.bin and is truncated; any
// other directory has none.
func (m *Fake) Deleted(ctx context.Context, f, dir string) (api.DeletedList, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.find(f); err != nil {
		return api.DeletedList{}, err
	}
	t := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	all := []api.DeletedFile{
		{Path: "old/notes.md", Deleted: t, By: "devB", Size: 1500, Mtime: t.Add(-time.Hour), Versions: 2},
		{Path: "gone.txt", Deleted: t.Add(-24 * time.Hour), By: "devB", Size: 12, Mtime: t.Add(-48 * time.Hour), Versions: 1},
	}
	l := api.DeletedList{Dir: dir, Files: []api.DeletedFile{}, Limit: 1000}
	if dir == "many" {
		l.Files, l.Truncated = []api.DeletedFile{{Path: "many/big.bin", Deleted: t, By: "devA", Size: 1 << 30, Versions: 1}}, true
		return l, nil
	}
	for _, d := range all {
		if dir == "" || strings.HasPrefix(d.Path, dir+"/") {
			l.Files = append(l.Files, d)
		}
	}
	return l, nil
}

func (m *Fake) Restore(ctx context.Context, f string, r api.RestoreRequest) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.find(f)
	if err != nil {
		return "", err
	}
	m.record("restore %s %s v%d to=%s", st.Name, r.Path, r.Version, r.To)
	if r.To != "" {
		return r.To, nil
	}
	return st.Path + "/" + r.Path, nil
}

func (m *Fake) Subscribe() (<-chan api.Event, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan api.Event, 4)
	id := m.nextSub
	m.nextSub++
	m.subs[id] = ch
	return ch, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, ok := m.subs[id]; ok {
			delete(m.subs, id)
			close(ch)
		}
	}
}

// Emit sends ev to every subscriber, dropping it for one whose channel
// is full (as the real Manager may drop intermediate status events).
func (m *Fake) Emit(ev api.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ch := range m.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

// Subscribers counts the live subscriptions.
func (m *Fake) Subscribers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs)
}

// CloseAll ends every subscription, as a stopping Manager does.
func (m *Fake) CloseAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, ch := range m.subs {
		delete(m.subs, id)
		close(ch)
	}
}

// Calls is what was done, in order.
func (m *Fake) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}
