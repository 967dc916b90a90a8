package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/syncer/api"
)

// KitVersion is the version of the kit's contents (the JSON inside the
// encryption); FormatVersion is the file's.
const KitVersion = 1

// Folder modes, as the folder sync names them (api.FolderStatus.Mode).
const (
	ModeSync   = "sync"   // read-write: the kit holds the write cap
	ModeFollow = "follow" // a friend's folder, read-only: the read cap
)

// Kit is what a user needs to get their folders back on a new computer.
// Every cap in it is a secret: Kit's String and LogValue redact them.
type Kit struct {
	V       int       `json:"v"`
	Created time.Time `json:"created"`
	// Node is the nickname of the node the kit was made on ("" if none).
	Node    string            `json:"node,omitempty"`
	Grid    Grid              `json:"grid"`
	Folders []Folder          `json:"folders"`
	Aliases map[string]string `json:"aliases"` // private/aliases: name → dircap
}

// Grid is how the node reached its grid.
type Grid struct {
	// Introducers are the introducer addresses (lafs://…) by petname.
	Introducers map[string]string `json:"introducers"`
	// Local says the node ran on its own embedded local grid (petname
	// "local"): that grid lived on the old computer's disk, so its
	// folders come back only where that grid can be reached.
	Local        bool `json:"local,omitempty"`
	SharesNeeded int  `json:"shares_needed"`
	SharesHappy  int  `json:"shares_happy"`
	SharesTotal  int  `json:"shares_total"`
}

// Folder is one synced folder: its name, where it was on disk, and its
// root cap (write cap for ModeSync, read cap for ModeFollow).
type Folder struct {
	Name string `json:"name"`
	Path string `json:"path"`
	Mode string `json:"mode"`
	Cap  string `json:"cap"`
}

// String describes the kit without a cap.
func (k *Kit) String() string {
	return fmt.Sprintf("recovery kit of %s (%d folders, %d aliases)", k.Created.UTC().Format(time.RFC3339), len(k.Folders), len(k.Aliases))
}

// LogValue redacts the caps.
func (k *Kit) LogValue() slog.Value {
	return slog.GroupValue(slog.Time("created", k.Created), slog.Int("folders", len(k.Folders)), slog.Int("aliases", len(k.Aliases)))
}

// Limits on what a kit may hold: a kit is small, and one that is not was
// not made by LAFS Sync.
const (
	maxFolders = 10000
	maxAliases = 10000
	maxField   = 4096 // bytes in one name, path, cap or address
)

// validate checks a kit read from a file (authenticated, but perhaps made
// by a newer or a broken program): every field is what restore can use.
func (k *Kit) validate() error {
	if k.V != KitVersion {
		return fmt.Errorf("%w: its contents are version %d; this version of LAFS Sync reads version %d: update LAFS Sync and try again", ErrVersion, k.V, KitVersion)
	}
	if len(k.Folders) > maxFolders || len(k.Aliases) > maxAliases || len(k.Grid.Introducers) > maxAliases {
		return fmt.Errorf("%w: it lists too many folders, aliases or introducers", ErrContents)
	}
	names := map[string]bool{}
	for i, f := range k.Folders {
		if err := checkFolder(f); err != nil {
			return fmt.Errorf("%w: folder %d: %v", ErrContents, i+1, err)
		}
		if names[f.Name] {
			return fmt.Errorf("%w: two folders are named %q", ErrContents, f.Name)
		}
		names[f.Name] = true
	}
	for name, c := range k.Aliases {
		if err := checkAlias(name, c); err != nil {
			return fmt.Errorf("%w: %v", ErrContents, err)
		}
	}
	for pet, u := range k.Grid.Introducers {
		if !oneLine(pet) || !oneLine(u) || pet == "" || u == "" {
			return fmt.Errorf("%w: an introducer's name or address is empty, too long or not one line", ErrContents)
		}
	}
	g := k.Grid
	if g.SharesNeeded != 0 || g.SharesHappy != 0 || g.SharesTotal != 0 {
		if !(1 <= g.SharesNeeded && g.SharesNeeded <= g.SharesHappy && g.SharesHappy <= g.SharesTotal && g.SharesTotal <= 256) {
			return fmt.Errorf("%w: encoding %d-of-%d with happiness %d is not possible", ErrContents, g.SharesNeeded, g.SharesTotal, g.SharesHappy)
		}
	}
	return nil
}

func oneLine(s string) bool {
	return len(s) <= maxField && !strings.ContainsAny(s, "\r\n\x00")
}

func checkFolder(f Folder) error {
	if f.Name == "" || !oneLine(f.Name) || strings.ContainsAny(f.Name, `/\`) || f.Name == "*" {
		return fmt.Errorf("the name %q is not a folder name", f.Name)
	}
	if !oneLine(f.Path) {
		return fmt.Errorf("folder %q: its path is too long or not one line", f.Name)
	}
	if !oneLine(f.Cap) {
		return fmt.Errorf("folder %q: its cap is too long or not one line", f.Name)
	}
	c, err := cap.Parse(f.Cap)
	if err != nil {
		return fmt.Errorf("folder %q: %v", f.Name, err)
	}
	if !c.IsDir() {
		return fmt.Errorf("folder %q: its cap is not a directory cap", f.Name)
	}
	switch f.Mode {
	case ModeSync:
		if c.IsReadOnly() {
			return fmt.Errorf("folder %q is synced read-write, but the kit holds only its read cap", f.Name)
		}
	case ModeFollow:
		if !c.IsReadOnly() {
			return fmt.Errorf("folder %q is followed, but the kit holds a write cap for it", f.Name)
		}
	default:
		return fmt.Errorf("folder %q: mode %q (want %q or %q)", f.Name, f.Mode, ModeSync, ModeFollow)
	}
	return nil
}

func checkAlias(name, c string) error {
	if name == "" || !oneLine(name) || strings.ContainsAny(name, ": ") || strings.HasPrefix(name, "#") {
		return fmt.Errorf("%q is not an alias name", name)
	}
	if !oneLine(c) || c == "" {
		return fmt.Errorf("alias %q: its cap is empty, too long or not one line", name)
	}
	return nil
}

// FolderSource is the running folder sync, as the kit reads it: the
// folders and their caps. ClientSource and ManagerSource make one.
type FolderSource interface {
	List(ctx context.Context) ([]api.FolderStatus, error)
	// Share is a folder's cap of the kind api.ShareWrite or api.ShareRead.
	Share(ctx context.Context, folder, kind string) (string, error)
}

// ClientSource reads the folders through a node's web API.
func ClientSource(c *api.Client) FolderSource { return clientSource{c} }

type clientSource struct{ c *api.Client }

func (s clientSource) List(ctx context.Context) ([]api.FolderStatus, error) { return s.c.List(ctx) }
func (s clientSource) Share(ctx context.Context, f, kind string) (string, error) {
	r, err := s.c.Share(ctx, f, kind)
	return r.Cap, err
}

// ManagerSource reads the folders from an api.Manager in this process
// (the tray app's syncer.Manager).
func ManagerSource(m api.Manager) FolderSource { return managerSource{m} }

type managerSource struct{ m api.Manager }

func (s managerSource) List(context.Context) ([]api.FolderStatus, error) { return s.m.List(), nil }
func (s managerSource) Share(ctx context.Context, f, kind string) (string, error) {
	return s.m.Share(ctx, f, kind)
}

// Collect gathers the kit of the node in nodeDir: every folder of src
// with its write cap (its read cap for a followed folder), the node's
// aliases (private/aliases), its introducers and encoding (tahoe.cfg,
// private/introducers.yaml).
func Collect(ctx context.Context, nodeDir string, src FolderSource, now time.Time) (*Kit, error) {
	k := &Kit{V: KitVersion, Created: now.UTC().Truncate(time.Second), Folders: []Folder{}}
	cfg, err := config.Load(nodeDir)
	if err != nil {
		return nil, fmt.Errorf("read the node's settings: %w", err)
	}
	k.Node = cfg.Nickname
	k.Grid.SharesNeeded, k.Grid.SharesHappy, k.Grid.SharesTotal = cfg.SharesNeeded, cfg.SharesHappy, cfg.SharesTotal
	if k.Grid.Introducers, err = config.LoadIntroducers(nodeDir); err != nil {
		return nil, fmt.Errorf("read the node's introducers: %w", err)
	}
	_, k.Grid.Local = k.Grid.Introducers[LocalPetname]
	if k.Aliases, err = config.LoadAliases(nodeDir); err != nil {
		return nil, fmt.Errorf("read the node's aliases: %w", err)
	}
	fs, err := src.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the synced folders: %w", err)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	for _, f := range fs {
		kind := api.ShareWrite
		if f.Mode == ModeFollow {
			kind = api.ShareRead
		}
		c, err := src.Share(ctx, f.Name, kind)
		if err != nil {
			return nil, fmt.Errorf("the cap of folder %q: %w", f.Name, err)
		}
		k.Folders = append(k.Folders, Folder{Name: f.Name, Path: f.Path, Mode: f.Mode, Cap: c})
	}
	if err := k.validate(); err != nil {
		return nil, fmt.Errorf("the kit of this node would not restore: %w", err)
	}
	return k, nil
}

// LocalPetname is the introducer petname of the embedded local grid
// (fullnode.LocalPetname, repeated so this package does not link the
// node; app/cli's tests check they agree).
const LocalPetname = "local"

// ErrContents is a kit that decrypts but holds something restore cannot
// use.
var ErrContents = errors.New("the recovery kit holds something this version of LAFS Sync cannot restore")
