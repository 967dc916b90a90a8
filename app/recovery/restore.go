package recovery

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/syncer/api"
)

// AliasResult is what RestoreAliases did, by alias name.
type AliasResult struct {
	Added     []string // new in private/aliases
	Same      []string // there already with the kit's cap
	Different []string // there already with another cap: kept as it was
}

// RestoreAliases adds the kit's aliases to private/aliases of the node in
// nodeDir. An alias the node already has with another cap is kept as it
// is (and listed in Different): restoring never overwrites a cap.
func RestoreAliases(nodeDir string, k *Kit) (AliasResult, error) {
	var r AliasResult
	have, err := config.LoadAliases(nodeDir)
	if err != nil {
		return r, fmt.Errorf("read the node's aliases: %w", err)
	}
	for _, name := range sortedKeys(k.Aliases) {
		c := k.Aliases[name]
		switch old, ok := have[name]; {
		case !ok:
			have[name] = c
			r.Added = append(r.Added, name)
		case old == c:
			r.Same = append(r.Same, name)
		default:
			r.Different = append(r.Different, name)
		}
	}
	if len(r.Added) > 0 {
		if err := config.SaveAliases(nodeDir, have); err != nil {
			return r, fmt.Errorf("write the node's aliases: %w", err)
		}
	}
	return r, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Requests are the folder sync requests that bring the kit's folders
// back: a synced folder is joined with its write cap, a followed one
// followed with its read cap. into "" puts each folder where it was;
// otherwise into/NAME.
func (k *Kit) Requests(into string) []api.AddRequest {
	out := make([]api.AddRequest, 0, len(k.Folders))
	for _, f := range k.Folders {
		r := api.AddRequest{Path: f.Path, Name: f.Name}
		if into != "" || r.Path == "" {
			r.Path = filepath.Join(into, f.Name)
		}
		if f.Mode == ModeFollow {
			r.Follow = f.Cap
		} else {
			r.To = f.Cap
		}
		out = append(out, r)
	}
	return out
}

// FolderAdder adds folders: an api.Client (a running node) or an
// api.Manager (the tray app's, in this process).
type FolderAdder interface {
	Add(ctx context.Context, r api.AddRequest) (api.FolderStatus, error)
}

// FolderResult is what restoring one folder did.
type FolderResult struct {
	Name, Path, Mode string
	// Exists says a folder of that name or place was there already (it
	// was left alone); Err is any other failure.
	Exists bool
	Err    error
}

// RestoreFolders adds every folder of the kit through a (see Requests
// for into), going on after a failure: the results say what happened to
// each.
func RestoreFolders(ctx context.Context, a FolderAdder, k *Kit, into string) []FolderResult {
	var out []FolderResult
	for _, r := range k.Requests(into) {
		res := FolderResult{Name: r.Name, Path: r.Path, Mode: ModeSync}
		if r.Follow != "" {
			res.Mode = ModeFollow
		}
		st, err := a.Add(ctx, r)
		switch {
		case errors.Is(err, api.ErrExists):
			res.Exists, res.Err = true, err
		case err != nil:
			res.Err = err
		default:
			res.Path = st.Path
		}
		out = append(out, res)
	}
	return out
}
