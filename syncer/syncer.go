// Package syncer keeps local folders and grid directories in step: the
// Manager owns the folders of one node (their list and caps in the node's
// secret store, one engine per folder from syncer/folder) and implements
// syncer/api.Manager, which the web API serves. It never opens sockets: it
// reaches the grid through remote.Grid, which the app builds over the
// running node.
package syncer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lafssync/lafssync/internal/atomicfile"
	"github.com/lafssync/lafssync/internal/clock"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/db"
	"github.com/lafssync/lafssync/syncer/folder"
	"github.com/lafssync/lafssync/syncer/remote"
)

// Config is what a Manager needs.
type Config struct {
	// NodeDir is the node's directory: the database is
	// NodeDir/private/sync.db and, without Secrets, the folder list
	// NodeDir/private/sync-folders.json.
	NodeDir string
	// Device identifies this install in version vectors and conflict
	// names (the first 10 characters of the node ID after "v0-").
	Device string
	Grid   remote.Grid
	// Secrets keeps the folder list and caps; nil: a 0600 file under
	// NodeDir/private.
	Secrets SecretStore
	Log     *slog.Logger
	Clock   clock.Clock // nil: clock.Real
	// PollEvery is each folder's grid poll period (default 10 s).
	PollEvery time.Duration
	// Retention is how much history each file keeps (defaults: 10
	// versions or 30 days).
	Retention remote.Retention
}

// SecretStore keeps the folder list with its caps. The tray app moves it
// to the OS keyring; the default is a 0600 file.
type SecretStore interface {
	Load() ([]byte, error) // nil, nil when nothing was saved yet
	Save([]byte) error
}

// FileStore is the default SecretStore: a 0600 file written atomically.
type FileStore string

// Load reads the file (nil, nil if it does not exist).
func (p FileStore) Load() ([]byte, error) {
	b, err := os.ReadFile(string(p))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Save replaces the file through a temporary file and a rename.
func (p FileStore) Save(b []byte) error {
	if err := os.MkdirAll(filepath.Dir(string(p)), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(string(p), b, 0o600)
}

// folderConf is one folder in the secret store. Cap is a secret (the
// write cap of a synced folder): never logged.
type folderConf struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Path string `json:"path"`
	Mode string `json:"mode"` // "sync" or "follow"
	Cap  string `json:"cap"`
}

type storeDoc struct {
	V       int          `json:"v"`
	Folders []folderConf `json:"folders"`
	// Removed keeps the caps of folders removed with --keep-remote, so
	// they can be added back (lafs sync add DIR --to CAP).
	Removed []folderConf `json:"removed,omitempty"`
}

// Manager is the folder sync of one node. It implements api.Manager.
type Manager struct {
	cfg Config
	log *slog.Logger
	db  *db.DB

	mu      sync.Mutex // guards the fields below
	doc     storeDoc
	running map[string]*running // by folder ID
	ctx     context.Context     // Run's; nil before Run
	wg      sync.WaitGroup
	subs    map[*subscriber]bool
}

// running is one folder's engine and the goroutine that runs it.
type running struct {
	conf   folderConf
	cancel context.CancelFunc // nil until started; guarded by Manager.mu
	done   chan struct{}

	mu     sync.Mutex // guards engine, remote and why
	engine *folder.Folder
	remote *remote.Folder
	why    string // why the engine is not running yet
}

var _ api.Manager = (*Manager)(nil)

// New opens the database and the folder list; Run starts the folders.
func New(cfg Config) (*Manager, error) {
	if cfg.NodeDir == "" || cfg.Device == "" || cfg.Grid == nil {
		return nil, errors.New("syncer: NodeDir, Device and Grid are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Secrets == nil {
		cfg.Secrets = FileStore(filepath.Join(cfg.NodeDir, "private", "sync-folders.json"))
	}
	if err := os.MkdirAll(filepath.Join(cfg.NodeDir, "private"), 0o700); err != nil {
		return nil, err
	}
	d, err := db.Open(filepath.Join(cfg.NodeDir, "private", "sync.db"))
	if err != nil {
		return nil, fmt.Errorf("folder sync database: %w", err)
	}
	m := &Manager{cfg: cfg, log: cfg.Log.With("component", "sync"), db: d, running: map[string]*running{}, subs: map[*subscriber]bool{}}
	b, err := cfg.Secrets.Load()
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("folder list: %w", err)
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m.doc); err != nil {
			d.Close()
			return nil, fmt.Errorf("the folder list is damaged (%v); move it away to start with no folders", err)
		}
	}
	m.doc.V = 1
	for _, c := range m.doc.Folders {
		m.running[c.ID] = &running{conf: c, why: "starting", done: make(chan struct{})}
	}
	return m, nil
}

// Run syncs every folder until ctx ends, then closes the database.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	m.ctx = ctx
	for _, r := range m.running {
		m.startLocked(r)
	}
	m.mu.Unlock()
	<-ctx.Done()
	m.mu.Lock()
	for _, r := range m.running {
		if r.cancel != nil {
			r.cancel()
		}
	}
	m.mu.Unlock()
	m.wg.Wait()
	return m.db.Close()
}

// startLocked starts a folder's goroutine; m.mu held, Run started.
func (m *Manager) startLocked(r *running) {
	ctx, cancel := context.WithCancel(m.ctx)
	r.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(r.done)
		m.runFolder(ctx, r)
	}()
}

// runFolder opens the folder on the grid (retrying while the grid is
// away) and runs its engine until ctx ends.
func (m *Manager) runFolder(ctx context.Context, r *running) {
	log := m.log.With("folder", r.conf.Name)
	delay := time.Second
	for {
		rf, err := remote.Open(ctx, m.cfg.Grid, r.conf.Cap, m.cfg.Device)
		if err == nil {
			eng, err := folder.New(folder.Config{
				Name: r.conf.Name, Root: r.conf.Path, Device: m.cfg.Device, Remote: rf,
				DB: m.db.Folder(r.conf.ID), Grid: m.cfg.Grid, Retention: m.cfg.Retention,
				PollEvery: m.cfg.PollEvery, Log: m.cfg.Log, Clock: m.cfg.Clock, OnEvent: m.publish,
			})
			if err != nil {
				log.Error("folder engine", "err", err)
				return
			}
			r.mu.Lock()
			r.engine, r.remote, r.why = eng, rf, ""
			r.mu.Unlock()
			if err := eng.Run(ctx); err != nil {
				log.Error("folder stopped", "err", err)
				r.mu.Lock()
				r.why = err.Error()
				r.engine = nil
				r.mu.Unlock()
				m.publishStatus(r)
			}
			return
		}
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		r.why = "cannot open the folder on the grid: " + err.Error()
		r.mu.Unlock()
		m.publishStatus(r)
		log.Info("folder not opened yet", "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, time.Minute)
	}
}

// statusOf is a folder's status, also before its engine runs.
func (r *running) status() api.FolderStatus {
	r.mu.Lock()
	eng, why := r.engine, r.why
	r.mu.Unlock()
	if eng != nil {
		return eng.Status()
	}
	s := api.FolderStatus{Name: r.conf.Name, Path: r.conf.Path, Mode: r.conf.Mode, State: api.Starting, Detail: why,
		Conflicts: []api.Conflict{}, Errors: []api.FileError{}, Skipped: []api.Skipped{}}
	if why != "starting" && why != "" {
		s.State = api.Offline
	}
	return s
}

func (m *Manager) publishStatus(r *running) {
	s := r.status()
	m.publish(api.Event{Type: "status", Folder: r.conf.Name, Status: &s})
}

// find resolves a folder by name or local path; m.mu held.
func (m *Manager) findLocked(f string) (*running, error) {
	if f == "" {
		return nil, fmt.Errorf("%w: say which folder (its name or local path)", api.ErrBadInput)
	}
	p := ""
	if filepath.IsAbs(f) {
		p = filepath.Clean(f)
	}
	for _, r := range m.running {
		if r.conf.Name == f || (p != "" && r.conf.Path == p) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%w %q: lafs sync list shows the folders", api.ErrNoFolder, f)
}

func (m *Manager) find(f string) (*running, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.findLocked(f)
}

// List is every folder's status, by name.
func (m *Manager) List() []api.FolderStatus {
	m.mu.Lock()
	rs := make([]*running, 0, len(m.running))
	for _, r := range m.running {
		rs = append(rs, r)
	}
	m.mu.Unlock()
	out := make([]api.FolderStatus, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Status is one folder's status.
func (m *Manager) Status(f string) (api.FolderStatus, error) {
	r, err := m.find(f)
	if err != nil {
		return api.FolderStatus{}, err
	}
	return r.status(), nil
}

// Add adds a folder: a new grid folder, an existing one (To, a write
// cap), or a friend's to follow (Follow, a read cap).
func (m *Manager) Add(ctx context.Context, req api.AddRequest) (api.FolderStatus, error) {
	if req.Path == "" || !filepath.IsAbs(req.Path) {
		return api.FolderStatus{}, fmt.Errorf("%w: the local folder must be an absolute path (got %q)", api.ErrBadInput, req.Path)
	}
	if req.To != "" && req.Follow != "" {
		return api.FolderStatus{}, fmt.Errorf("%w: give either a write cap to join or a read cap to follow, not both", api.ErrBadInput)
	}
	p := filepath.Clean(req.Path)
	name := req.Name
	if name == "" {
		name = filepath.Base(p)
	}
	if name == "" || name == "*" || strings.ContainsAny(name, "/\\") || filepath.IsAbs(name) {
		return api.FolderStatus{}, fmt.Errorf("%w: %q cannot be a folder name (no slashes, not \"*\")", api.ErrBadInput, name)
	}
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return api.FolderStatus{}, fmt.Errorf("%w: %s is a file, not a folder", api.ErrBadInput, p)
	}
	m.mu.Lock()
	for _, r := range m.running {
		switch {
		case r.conf.Name == name:
			m.mu.Unlock()
			return api.FolderStatus{}, fmt.Errorf("%w: a folder named %q exists (syncing %s); choose another name with --name", api.ErrExists, name, r.conf.Path)
		case r.conf.Path == p, within(p, r.conf.Path), within(r.conf.Path, p):
			m.mu.Unlock()
			return api.FolderStatus{}, fmt.Errorf("%w: %s overlaps the synced folder %q (%s); a folder cannot be inside another", api.ErrExists, p, r.conf.Name, r.conf.Path)
		}
	}
	m.mu.Unlock()

	c := folderConf{ID: newID(), Name: name, Path: p, Mode: "sync"}
	switch {
	case req.Follow != "":
		rf, err := remote.Open(ctx, m.cfg.Grid, req.Follow, m.cfg.Device)
		if err != nil {
			return api.FolderStatus{}, addError(err)
		}
		c.Mode, c.Cap = "follow", rf.ReadCap()
	case req.To != "":
		rf, err := remote.Open(ctx, m.cfg.Grid, req.To, m.cfg.Device)
		if err != nil {
			return api.FolderStatus{}, addError(err)
		}
		if rf.ReadOnly() {
			return api.FolderStatus{}, fmt.Errorf("%w: that is a read-only cap; to mirror a folder shared with you, use lafs sync follow", api.ErrBadInput)
		}
		c.Cap = rf.WriteCap()
	default:
		rf, err := remote.Create(ctx, m.cfg.Grid, m.cfg.Device)
		if err != nil {
			return api.FolderStatus{}, addError(err)
		}
		c.Cap = rf.WriteCap()
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return api.FolderStatus{}, fmt.Errorf("%w: cannot make %s: %v", api.ErrBadInput, p, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.doc.Folders = append(m.doc.Folders, c)
	if err := m.saveLocked(); err != nil {
		m.doc.Folders = m.doc.Folders[:len(m.doc.Folders)-1]
		return api.FolderStatus{}, err
	}
	r := &running{conf: c, why: "starting", done: make(chan struct{})}
	m.running[c.ID] = r
	if m.ctx != nil {
		m.startLocked(r)
	}
	m.log.Info("folder added", "folder", name, "path", p, "mode", c.Mode)
	return r.status(), nil
}

func addError(err error) error {
	switch {
	case errors.Is(err, remote.ErrNoFolder):
		return fmt.Errorf("%w: %v", api.ErrBadInput, err)
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("%w: %v", api.ErrNoGrid, err)
}

// within says whether p is inside dir.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..")
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (m *Manager) saveLocked() error {
	b, err := json.MarshalIndent(m.doc, "", "  ")
	if err != nil {
		return err
	}
	if err := m.cfg.Secrets.Save(b); err != nil {
		return fmt.Errorf("cannot save the folder list: %w", err)
	}
	return nil
}

// Remove stops syncing a folder. Local files stay. The grid copy stays
// too (a Tahoe grid deletes nothing; unrenewed leases expire): with
// keepRemote the folder's caps are kept so it can be added back.
func (m *Manager) Remove(ctx context.Context, f string, keepRemote bool) error {
	m.mu.Lock()
	r, err := m.findLocked(f)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	delete(m.running, r.conf.ID)
	i := slices.IndexFunc(m.doc.Folders, func(c folderConf) bool { return c.ID == r.conf.ID })
	if i >= 0 {
		m.doc.Folders = slices.Delete(m.doc.Folders, i, i+1)
	}
	if keepRemote {
		m.doc.Removed = append(m.doc.Removed, r.conf)
	}
	err = m.saveLocked()
	started := r.cancel != nil
	m.mu.Unlock()
	if started {
		r.cancel()
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err != nil {
		return err
	}
	if err := m.db.DropFolder(r.conf.ID); err != nil {
		m.log.Warn("drop folder records", "err", err)
	}
	m.log.Info("folder removed", "folder", r.conf.Name, "keep_remote", keepRemote)
	m.publish(api.Event{Type: "removed", Folder: r.conf.Name})
	return nil
}

// each runs fn on the folder f, or on every folder for "*".
func (m *Manager) each(f string, fn func(*folder.Folder)) error {
	var rs []*running
	if f == "*" {
		m.mu.Lock()
		for _, r := range m.running {
			rs = append(rs, r)
		}
		m.mu.Unlock()
	} else {
		r, err := m.find(f)
		if err != nil {
			return err
		}
		rs = []*running{r}
	}
	for _, r := range rs {
		r.mu.Lock()
		eng, why := r.engine, r.why
		r.mu.Unlock()
		if eng == nil {
			if f != "*" {
				return fmt.Errorf("%w: folder %q is not running yet (%s)", api.ErrNoGrid, r.conf.Name, why)
			}
			continue
		}
		fn(eng)
	}
	return nil
}

// Pause pauses a folder ("*": every folder) for d (0: until resumed).
func (m *Manager) Pause(f string, d time.Duration) error {
	var until time.Time
	if d > 0 {
		until = clock.Or(m.cfg.Clock).Now().Add(d)
	}
	return m.each(f, func(e *folder.Folder) { e.Pause(until) })
}

// Resume resumes a folder ("*": every folder).
func (m *Manager) Resume(f string) error {
	return m.each(f, func(e *folder.Folder) { e.Resume() })
}

// Kick makes every folder check the grid now (the node reconnected).
func (m *Manager) Kick() {
	_ = m.each("*", func(e *folder.Folder) { e.Kick() })
}

func (m *Manager) remoteOf(f string) (*running, *remote.Folder, error) {
	r, err := m.find(f)
	if err != nil {
		return nil, nil, err
	}
	// why is written by runFolder: read it under the same lock.
	r.mu.Lock()
	rf, why := r.remote, r.why
	r.mu.Unlock()
	if rf == nil {
		return nil, nil, fmt.Errorf("%w: folder %q is not open on the grid yet (%s)", api.ErrNoGrid, r.conf.Name, why)
	}
	return r, rf, nil
}

// Share returns the cap to share: read (the default), write (full
// control, for the user's own devices) or a snapshot (a frozen copy).
func (m *Manager) Share(ctx context.Context, f, kind string) (string, error) {
	r, rf, err := m.remoteOf(f)
	if err != nil {
		// The caps are known even before the folder is open.
		if r, ferr := m.find(f); ferr == nil && (kind == "write" || kind == "read" || kind == "") {
			if kind == "write" && r.conf.Mode == "follow" {
				return "", fmt.Errorf("%w: %q is a folder you follow; you have only its read cap", api.ErrReadOnly, r.conf.Name)
			}
			if kind == "write" {
				return r.conf.Cap, nil
			}
		}
		return "", err
	}
	switch kind {
	case "", "read":
		return rf.ReadCap(), nil
	case "write":
		if rf.ReadOnly() {
			return "", fmt.Errorf("%w: %q is a folder you follow; you have only its read cap", api.ErrReadOnly, r.conf.Name)
		}
		return rf.WriteCap(), nil
	case "snapshot":
		c, err := rf.Snapshot(ctx)
		if err != nil {
			return "", fmt.Errorf("%w: making the snapshot: %v", api.ErrNoGrid, err)
		}
		return c, nil
	}
	return "", fmt.Errorf("%w: share kind %q (read, write or snapshot)", api.ErrBadInput, kind)
}

// relPath turns a path given by the user (absolute, or relative to the
// folder) into the folder's slash path.
func relPath(r *running, p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("%w: say which file", api.ErrBadInput)
	}
	if filepath.IsAbs(p) {
		rel, err := filepath.Rel(r.conf.Path, filepath.Clean(p))
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			return "", fmt.Errorf("%w: %s is not inside the folder %q (%s)", api.ErrBadInput, p, r.conf.Name, r.conf.Path)
		}
		p = rel
	}
	p = filepath.ToSlash(filepath.Clean(p))
	if p == "." || strings.HasPrefix(p, "../") || p == ".." {
		return "", fmt.Errorf("%w: %q is not a path inside the folder", api.ErrBadInput, p)
	}
	return p, nil
}

// History lists a file's versions: the current one first (N = 0, when
// the file exists), then the previous ones (N = 1 is the most recent).
func (m *Manager) History(ctx context.Context, f, p string) ([]api.Version, error) {
	r, rf, err := m.remoteOf(f)
	if err != nil {
		return nil, err
	}
	rel, err := relPath(r, p)
	if err != nil {
		return nil, err
	}
	var out []api.Version
	dir, name := path2(rel)
	if ents, err := rf.List(ctx, dir); err == nil {
		if e := ents[name]; e != nil && !e.Dir {
			out = append(out, api.Version{N: 0, Size: e.Meta.Size, Mtime: e.Meta.Mtime, By: e.Meta.By})
		}
	} else if !errors.Is(err, remote.ErrNotFound) {
		return nil, fmt.Errorf("%w: %v", api.ErrNoGrid, err)
	}
	vs, err := rf.History(ctx, rel)
	if err != nil && !errors.Is(err, remote.ErrNotFound) {
		return nil, fmt.Errorf("%w: %v", api.ErrNoGrid, err)
	}
	for _, v := range vs {
		out = append(out, api.Version{N: v.N, Size: v.Meta.Size, Mtime: v.Meta.Mtime, By: v.Meta.By, Replaced: v.Replaced, Deleted: v.Deleted})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s has no versions on the grid (never synced?)", api.ErrNoFolder, rel)
	}
	return out, nil
}

// Deleted lists the deleted files the grid keeps under dir, a directory
// of the folder (absolute, or relative to the folder; "" or ".": the
// whole folder), newest delete first. At most remote.MaxDeleted are
// listed; Truncated says there may be more.
func (m *Manager) Deleted(ctx context.Context, f, dir string) (api.DeletedList, error) {
	r, rf, err := m.remoteOf(f)
	if err != nil {
		return api.DeletedList{}, err
	}
	rel, err := relDir(r, dir)
	if err != nil {
		return api.DeletedList{}, err
	}
	files, truncated, err := rf.Deleted(ctx, rel, remote.MaxDeleted)
	switch {
	case errors.Is(err, remote.ErrNotFound):
		return api.DeletedList{}, fmt.Errorf("%w: %v", api.ErrNoFolder, err)
	case err != nil:
		return api.DeletedList{}, fmt.Errorf("%w: %v", api.ErrNoGrid, err)
	}
	out := api.DeletedList{Dir: rel, Files: make([]api.DeletedFile, 0, len(files)), Truncated: truncated, Limit: remote.MaxDeleted}
	for _, d := range files {
		out.Files = append(out.Files, api.DeletedFile{Path: d.Path, Deleted: d.Time, By: d.By, Size: d.Size, Mtime: d.Mtime, Versions: d.Versions})
	}
	return out, nil
}

// relDir is relPath for a directory, where "" and "." are the folder's
// root ("").
func relDir(r *running, dir string) (string, error) {
	if dir == "" || dir == "." {
		return "", nil
	}
	if filepath.IsAbs(dir) && filepath.Clean(dir) == r.conf.Path {
		return "", nil
	}
	return relPath(r, dir)
}

func path2(rel string) (dir, name string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

// Restore writes a previous version of a file (version 0 or 1: the most
// recent previous one) to req.To or the file's own path. An existing file
// there is kept as a conflict copy, never overwritten; the folder then
// syncs the restored file as a new version.
func (m *Manager) Restore(ctx context.Context, f string, req api.RestoreRequest) (string, error) {
	r, rf, err := m.remoteOf(f)
	if err != nil {
		return "", err
	}
	rel, err := relPath(r, req.Path)
	if err != nil {
		return "", err
	}
	vs, err := rf.History(ctx, rel)
	if errors.Is(err, remote.ErrNotFound) || (err == nil && len(vs) == 0) {
		return "", fmt.Errorf("%w: %s has no previous versions", api.ErrNoFolder, rel)
	} else if err != nil {
		return "", fmt.Errorf("%w: %v", api.ErrNoGrid, err)
	}
	n := max(req.Version, 1)
	i := slices.IndexFunc(vs, func(v remote.Version) bool { return v.N == n })
	if i < 0 {
		return "", fmt.Errorf("%w: %s has %d previous versions; version %d is not one of them", api.ErrBadInput, rel, len(vs), n)
	}
	v := vs[i]
	dest := req.To
	if dest == "" {
		dest = filepath.Join(r.conf.Path, filepath.FromSlash(rel))
	} else if !filepath.IsAbs(dest) {
		return "", fmt.Errorf("%w: --to must be an absolute path", api.ErrBadInput)
	}
	if err := restoreTo(ctx, rf, v, dest, m.cfg.Device, clock.Or(m.cfg.Clock).Now()); err != nil {
		return "", err
	}
	m.log.Info("restored", "folder", r.conf.Name, "path", rel, "version", n)
	return dest, nil
}

// restoreTo downloads v to a temporary file beside dest, then renames it
// into place, first moving an existing dest aside as a conflict copy.
func restoreTo(ctx context.Context, rf *remote.Folder, v remote.Version, dest, device string, now time.Time) error {
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%w: cannot make %s: %v", api.ErrBadInput, dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".lafssync-tmp-*")
	if err != nil {
		return fmt.Errorf("%w: cannot write in %s: %v", api.ErrBadInput, dir, err)
	}
	defer os.Remove(tmp.Name())
	if err := rf.Download(ctx, v.Cap, tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("%w: downloading the version: %v", api.ErrNoGrid, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if !v.Meta.Mtime.IsZero() {
		_ = os.Chtimes(tmp.Name(), v.Meta.Mtime, v.Meta.Mtime)
	}
	_ = os.Chmod(tmp.Name(), 0o644|(v.Meta.Mode&0o111))
	if _, err := os.Lstat(dest); err == nil {
		ext := filepath.Ext(dest)
		aside := strings.TrimSuffix(dest, ext) + ".sync-conflict-" + now.UTC().Format("20060102-150405") + "-" + device + ext
		if err := os.Rename(dest, aside); err != nil {
			return fmt.Errorf("cannot move the current %s aside: %w", dest, err)
		}
	}
	return os.Rename(tmp.Name(), dest)
}

// LeaseRoots are the caps of every synced folder, for the node's lease
// renewal (everything reachable from them, history included, is kept).
func (m *Manager) LeaseRoots() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.doc.Folders)+len(m.doc.Removed))
	for _, c := range m.doc.Folders {
		out = append(out, c.Cap)
	}
	// Folders removed with --keep-remote stay alive on the grid.
	for _, c := range m.doc.Removed {
		out = append(out, c.Cap)
	}
	return out
}
