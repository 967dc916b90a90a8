package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"gopkg.in/yaml.v3"

	"github.com/lafssync/lafssync/grid/base32"
)

// Announcement is the part of a storage server's announcement a client
// needs, with Tahoe's key names.
type Announcement struct {
	Nickname        string   `yaml:"nickname"`
	FURL            string   `yaml:"anonymous-storage-FURL"`
	NURLs           []string `yaml:"anonymous-storage-NURLs"`
	PermutationSeed string   `yaml:"permutation-seed-base32"`
}

// ServersFile is Tahoe's private/servers.yaml.
type ServersFile struct {
	Storage map[string]struct {
		Ann Announcement `yaml:"ann"`
	} `yaml:"storage"`
}

var furlTubID = regexp.MustCompile(`^pb://([a-z2-7]+)@`)

// LeaseSeed is the 20-byte tub ID in the FURL, which Tahoe clients use to
// derive lease and write-enabler secrets for this server.
func (a Announcement) LeaseSeed() ([20]byte, error) {
	var seed [20]byte
	m := furlTubID.FindStringSubmatch(a.FURL)
	if m == nil {
		return seed, fmt.Errorf("anonymous-storage-FURL %q has no pb://TUBID@", a.FURL)
	}
	b, err := base32.Decode(m[1])
	if err != nil || len(b) != 20 {
		return seed, fmt.Errorf("anonymous-storage-FURL tub ID is not 20 bytes of base32")
	}
	copy(seed[:], b)
	return seed, nil
}

// ServersPath is private/servers.yaml in a node directory.
func ServersPath(dir string) string { return filepath.Join(dir, "private", "servers.yaml") }

// LoadServers reads private/servers.yaml (no file: no servers).
func LoadServers(dir string) (map[string]Announcement, error) {
	b, err := os.ReadFile(ServersPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Announcement{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f ServersFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", ServersPath(dir), err)
	}
	out := map[string]Announcement{}
	for id, e := range f.Storage {
		out[id] = e.Ann
	}
	return out, nil
}

// MarshalServers renders a servers.yaml document for the given servers.
func MarshalServers(servers map[string]Announcement) ([]byte, error) {
	var f ServersFile
	f.Storage = map[string]struct {
		Ann Announcement `yaml:"ann"`
	}{}
	for id, a := range servers {
		f.Storage[id] = struct {
			Ann Announcement `yaml:"ann"`
		}{a}
	}
	return yaml.Marshal(f)
}
