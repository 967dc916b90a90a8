package prefs

import (
	"github.com/lafssync/lafssync/node/config"
)

// NodeDir is the node directory dir's tahoe.cfg as the window's Config:
// read with node/config's loaders, written with config.Edit (validated,
// tahoe.cfg.bak, atomic).
func NodeDir(dir string) Config { return nodeDir(dir) }

type nodeDir string

func (d nodeDir) Load() (Settings, error) {
	c, err := config.Load(string(d))
	if err != nil {
		return Settings{}, err
	}
	h, err := config.LoadHelper(string(d))
	if err != nil {
		return Settings{}, err
	}
	s := Settings{K: c.SharesNeeded, Happy: c.SharesHappy, N: c.SharesTotal, Helper: h.Use, Storage: StorageOn, Reserved: c.ReservedSpace}
	switch {
	case !c.StorageEnabled:
		s.Storage = StorageOff
	case c.ReadOnly:
		s.Storage = StorageReadOnly
	}
	return s, nil
}

// Save sets only the keys whose meaning differs between old (what the
// window loaded) and new, so a change made to the file meanwhile to
// another key (lafs reachability --apply) is kept.
func (d nodeDir) Save(old, new Settings) ([]config.Setting, error) {
	return config.Edit(string(d), Changes(old, new))
}
