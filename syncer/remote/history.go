package remote

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"path"
	"strings"
	"time"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
)

// Retention defaults, and the bound on versions kept per file whatever
// the retention says (it bounds a history entry's metadata).
const (
	DefaultVersions = 10
	DefaultMaxAge   = 30 * 24 * time.Hour
	MaxVersions     = 1000
)

// histVersion is one previous version as history stores it.
type histVersion struct {
	Cap      string
	Meta     FileMeta
	Replaced float64 // float seconds
	Deleted  bool
}

// archiveItem is a version to add to a file's history, and for a delete
// the tombstone.
type archiveItem struct {
	name string
	v    histVersion
	tomb *Tombstone
}

func (it archiveItem) key() string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%t", it.name, it.v.Cap, it.v.Meta.Ver, it.tomb != nil)
}

// shardName is the history shard of a folder directory: a short hash of
// its path, so that names of any length and depth fit.
func shardName(dir string) string {
	h := sha256.Sum256([]byte("lafssync history shard\x00" + strings.Trim(dir, "/")))
	return base32.Encode(h[:10])
}

func unixFloat(f float64) time.Time {
	if f <= 0 || math.IsNaN(f) || f > 253402300799 {
		return time.Time{}
	}
	return time.UnixMicro(int64(math.Round(f * 1e6)))
}

// shard opens the history shard of dir, making it when create is set;
// nil (and no error) when there is none.
func (f *Folder) shard(ctx context.Context, h *hiddenCaps, dir string, create bool) (*dirnode.Directory, error) {
	f.mu.Lock()
	c := f.shards[dir]
	f.mu.Unlock()
	if c != "" {
		return f.open(c)
	}
	if h == nil || h.history == "" {
		if create {
			return nil, fmt.Errorf("the folder's %s has no history directory; the folder was set up by a broken writer", StateName)
		}
		return nil, nil
	}
	hd, err := f.open(h.history)
	if err != nil {
		return nil, err
	}
	name := shardName(dir)
	e, err := get(ctx, hd, name)
	if errors.Is(err, dirnode.ErrNotFound) && create {
		sub, mkErr := f.newDir(ctx)
		if mkErr != nil {
			return nil, mkErr
		}
		_, linkErr := hd.Link(ctx, name, sub.Cap(), map[string]any{"lafssync": map[string]any{"v": int64(metaVersion), "dir": dir}}, dirnode.ReplaceNothing)
		if linkErr == nil {
			f.rememberShard(dir, sub.Cap().String())
			return sub, nil
		}
		if !errors.Is(linkErr, dirnode.ErrExists) {
			return nil, linkErr
		}
		e, err = get(ctx, hd, name) // another device made it meanwhile
	}
	if errors.Is(err, dirnode.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !isMutableDir(e) {
		return nil, fmt.Errorf("history shard %s is not a directory", name)
	}
	c = f.childCap(e)
	f.rememberShard(dir, c)
	return f.open(c)
}

func (f *Folder) rememberShard(dir, c string) {
	f.mu.Lock()
	if f.shards == nil {
		f.shards = map[string]string{}
	}
	f.shards[dir] = c
	f.mu.Unlock()
}

// archive adds versions (and tombstones) to the history of dir's files in
// one publish of its shard, pruning to r.
func (f *Folder) archive(ctx context.Context, h *hiddenCaps, dir string, items []archiveItem, r Retention) error {
	sd, err := f.shard(ctx, h, dir, true)
	if err != nil {
		return err
	}
	if r.Versions <= 0 {
		r.Versions = DefaultVersions
	}
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultMaxAge
	}
	return sd.Modify(ctx, func(es dirnode.Entries) error {
		now := f.now()
		for _, it := range items {
			old := es[it.name]
			vs, _ := decodeHistory(old)
			if len(vs) == 0 || vs[0].Cap != it.v.Cap || vs[0].Meta.Ver.String() != it.v.Meta.Ver.String() || vs[0].Meta.Hash != it.v.Meta.Hash {
				vs = append([]histVersion{it.v}, vs...)
			} else if it.v.Deleted {
				vs[0].Deleted = true
			}
			vs = prune(vs, r, now)
			// A Delete sets the tombstone; a replacing Put clears an old one.
			es[it.name] = historyEntry(old, vs, it.tomb, now)
		}
		return nil
	})
}

// prune keeps a version if it is among the r.Versions newest or younger
// than r.MaxAge, and never more than MaxVersions.
func prune(vs []histVersion, r Retention, now float64) []histVersion {
	out := vs[:0:0]
	for i, v := range vs {
		young := now-v.Replaced < r.MaxAge.Seconds()
		if i < MaxVersions && (i < r.Versions || young) {
			out = append(out, v)
		}
	}
	return out
}

// historyEntry is a file's history entry: its cap the most recent previous
// version (so stock Tahoe can fetch it), size/mtime/mode of that version,
// and under "lafssync" every kept version, newest first, and the
// tombstone.
func historyEntry(old *dirnode.Entry, vs []histVersion, tomb *Tombstone, now float64) *dirnode.Entry {
	list := make([]any, 0, len(vs))
	for _, v := range vs {
		m := map[string]any{
			"cap":      v.Cap,
			"size":     v.Meta.Size,
			"mtime":    encodeTime(v.Meta.Mtime),
			"mode":     int64(writtenMode(v.Meta.Mode)),
			"ver":      encodeVector(v.Meta.Ver),
			"by":       v.Meta.By,
			"hash":     base32.Encode(v.Meta.Hash[:]),
			"replaced": v.Replaced,
		}
		if v.Deleted {
			m["deleted"] = true
		}
		list = append(list, m)
	}
	ls := map[string]any{"v": int64(metaVersion), "versions": list}
	if tomb != nil {
		ls["deleted"] = map[string]any{
			"time": encodeTime(tomb.Time),
			"by":   tomb.By,
			"ver":  encodeVector(tomb.Ver),
			"hash": base32.Encode(tomb.Hash[:]),
		}
	}
	md := map[string]any{"lafssync": ls}
	if len(vs) > 0 {
		md["size"] = vs[0].Meta.Size
		md["mtime"] = encodeTime(vs[0].Meta.Mtime)
	}
	e := &dirnode.Entry{Metadata: md}
	c := cap.ParseChild(vs[0].Cap)
	if c.Kind() != cap.KindUnknown {
		e.ReadCap = c.String()
	} else {
		e.ReadCap = vs[0].Cap
	}
	crtime := now
	if old != nil {
		if t, ok := old.Metadata["tahoe"].(map[string]any); ok {
			if c, ok := t["linkcrtime"].(float64); ok {
				crtime = c
			}
		}
	}
	md["tahoe"] = map[string]any{"linkcrtime": crtime, "linkmotime": now}
	return e
}

// decodeHistory reads a history entry leniently: versions that cannot be
// read are skipped, a tombstone that cannot be read is none.
func decodeHistory(e *dirnode.Entry) ([]histVersion, *Tombstone) {
	if e == nil {
		return nil, nil
	}
	ls, _ := e.Metadata["lafssync"].(map[string]any)
	if ls == nil {
		return nil, nil
	}
	list, _ := ls["versions"].([]any)
	var vs []histVersion
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			continue
		}
		c, ok := m["cap"].(string)
		if !ok || c == "" {
			continue
		}
		v := histVersion{Cap: c}
		v.Meta, _ = DecodeMeta(map[string]any{"size": m["size"], "mtime": m["mtime"], "mode": m["mode"]})
		if ver, ok := decodeVector(m["ver"]); ok {
			v.Meta.Ver = ver
		}
		v.Meta.By, _ = m["by"].(string)
		v.Meta.Hash = decodeHash(m["hash"])
		v.Replaced, _ = m["replaced"].(float64)
		v.Deleted, _ = m["deleted"].(bool)
		vs = append(vs, v)
	}
	var tomb *Tombstone
	if d, ok := ls["deleted"].(map[string]any); ok {
		tomb = &Tombstone{Hash: decodeHash(d["hash"])}
		tomb.Ver, _ = decodeVector(d["ver"])
		tomb.By, _ = d["by"].(string)
		tomb.Time, _ = decodeTime(d["time"])
	}
	return vs, tomb
}

func decodeHash(x any) (h [32]byte) {
	if s, ok := x.(string); ok {
		if b, err := base32.DecodeFixed(s, 32); err == nil {
			copy(h[:], b)
		}
	}
	return h
}

// historyOf reads the history entry of a file path.
func (f *Folder) historyOf(ctx context.Context, p string) ([]histVersion, *Tombstone, error) {
	parts, err := splitPath(p)
	if err != nil || len(parts) == 0 {
		return nil, nil, fmt.Errorf("history of %q: not a file path in the folder: %w", p, ErrNotFound)
	}
	p = strings.Join(parts, "/")
	dir, name := path.Split(p)
	dir = strings.Trim(dir, "/")
	h, err := f.findHidden(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("history of %q: %w", p, err)
	}
	sd, err := f.shard(ctx, h, dir, false)
	if err != nil {
		return nil, nil, fmt.Errorf("history of %q: read the history: %w", p, err)
	}
	if sd == nil {
		return nil, nil, nil
	}
	e, err := get(ctx, sd, name)
	if errors.Is(err, dirnode.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("history of %q: read the history: %w", p, err)
	}
	vs, tomb := decodeHistory(e)
	return vs, tomb, nil
}

// History lists the previous versions of path (a slash-separated file
// path), newest first; a deleted file's history starts with its last
// version (Deleted set). ErrNotFound if there is none.
func (f *Folder) History(ctx context.Context, p string) ([]Version, error) {
	vs, _, err := f.historyOf(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("%q has no previous versions in the folder's history (never replaced or deleted, or pruned): %w", strings.Trim(p, "/"), ErrNotFound)
	}
	out := make([]Version, len(vs))
	for i, v := range vs {
		out[i] = Version{N: i + 1, Cap: v.Cap, Meta: v.Meta, Replaced: unixFloat(v.Replaced), Deleted: v.Deleted}
	}
	return out, nil
}

// Tombstone says whether path was deleted and which version was (nil,
// nil: no tombstone).
//
// A tombstone holds while the file is absent: once the file is there
// again (re-created by any writer), Tombstone returns nil, and the next
// replacing Put or Delete of it rewrites the stored one. A directory of
// the same name is not the file: the tombstone holds (a file replaced by
// a directory). Checking costs a
// read of the file's directory besides its history.
func (f *Folder) Tombstone(ctx context.Context, p string) (*Tombstone, error) {
	_, tomb, err := f.historyOf(ctx, p)
	if err != nil || tomb == nil {
		return nil, err
	}
	dir, name := path.Split(strings.Trim(p, "/"))
	es, err := f.List(ctx, dir)
	if errors.Is(err, ErrNotFound) {
		return tomb, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tombstone of %q: %w", strings.Trim(p, "/"), err)
	}
	if e, exists := es[dirnode.Normalize(name)]; exists && !e.Dir {
		return nil, nil // re-created: the tombstone is stale
	}
	return tomb, nil // (a directory of that name does not re-create the file)
}
