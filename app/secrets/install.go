package secrets

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
)

// Stores hands out one Store per node directory and item, so that calls
// for one item share its keyring gate (a keyring that hangs is waited for
// once, not once per call). It implements config.AliasStore and
// client.TokenStore: Install puts it behind the node packages.
type Stores struct {
	o Options

	mu sync.Mutex // guards m
	m  map[string]*Store
}

var (
	_ config.AliasStore = (*Stores)(nil)
	_ client.TokenStore = (*Stores)(nil)
)

// NewStores returns the stores of every node with options o.
func NewStores(o Options) *Stores { return &Stores{o: o, m: map[string]*Store{}} }

// Store is the store of item of the node in nodeDir (one of Items).
func (s *Stores) Store(nodeDir string, item func(string) Item) *Store {
	it := item(nodeDir)
	abs, err := filepath.Abs(nodeDir)
	if err != nil {
		abs = filepath.Clean(nodeDir)
	}
	k := it.Name + "\x00" + abs
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[k]
	if st == nil {
		st = NewItem(nodeDir, it, s.o)
		s.m[k] = st
	}
	return st
}

// Install makes the node packages keep every node's aliases and web API
// token in the OS keyring (with the fallback files of the package doc):
// config.LoadAliases, config.SaveAliases, client.ReadToken and
// webapi.LoadToken go through the returned Stores. restore puts back what
// was installed before (tests).
func Install(o Options) (st *Stores, restore func()) {
	st = NewStores(o)
	oldA := config.SetAliasStore(st)
	oldT := client.SetTokenStore(st)
	return st, func() {
		config.SetAliasStore(oldA)
		client.SetTokenStore(oldT)
	}
}

// LoadAliases implements config.AliasStore.
func (s *Stores) LoadAliases(dir string) (map[string]string, error) {
	st := s.Store(dir, Aliases)
	b, err := st.Load()
	if err != nil {
		return nil, err
	}
	where := st.item.File
	if st.Mode() == ModeKeyring {
		where = fmt.Sprintf("the aliases in the OS keyring (service %q, account %q)", st.service, st.Account())
	}
	return config.ParseAliases(b, where)
}

// SaveAliases implements config.AliasStore.
func (s *Stores) SaveAliases(dir string, aliases map[string]string) error {
	return s.Store(dir, Aliases).Save(config.FormatAliases(aliases))
}

// Token implements client.TokenStore.
func (s *Stores) Token(dir string) (string, error) {
	b, err := s.Store(dir, APIToken).Load()
	return strings.TrimSpace(string(b)), err
}

// SetToken implements client.TokenStore.
func (s *Stores) SetToken(dir, tok string) error {
	return s.Store(dir, APIToken).Save([]byte(tok + "\n"))
}
