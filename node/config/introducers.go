package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// IntroducersFile is Tahoe's private/introducers.yaml: introducers by
// petname. Ours hold lafs:// addresses in the furl key.
type IntroducersFile struct {
	Introducers map[string]struct {
		FURL string `yaml:"furl"`
	} `yaml:"introducers"`
}

// IntroducersPath is where a node lists its introducers.
func IntroducersPath(dir string) string { return filepath.Join(dir, "private", "introducers.yaml") }

// LoadIntroducers returns the node's introducer addresses by petname:
// those of private/introducers.yaml, and tahoe.cfg's [client]
// introducer.furl as petname "default" (Tahoe's rule; naming "default" in
// both places is an error).
func LoadIntroducers(dir string) (map[string]string, error) {
	out := map[string]string{}
	if c, err := Load(dir); err == nil && c.IntroducerFURL != "" {
		out["default"] = c.IntroducerFURL
	}
	b, err := os.ReadFile(IntroducersPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	var f IntroducersFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", IntroducersPath(dir), err)
	}
	if _, ok := f.Introducers["default"]; ok && out["default"] != "" {
		return nil, fmt.Errorf("introducer \"default\" is named both in %s ([client] introducer.furl) and in %s: keep one", filepath.Join(dir, File), IntroducersPath(dir))
	}
	for pet, e := range f.Introducers {
		if e.FURL == "" {
			return nil, fmt.Errorf("%s: introducer %q has no furl", IntroducersPath(dir), pet)
		}
		out[pet] = e.FURL
	}
	return out, nil
}

// SaveIntroducers writes the node's introducers.
func SaveIntroducers(dir string, byPetname map[string]string) error {
	var f IntroducersFile
	f.Introducers = map[string]struct {
		FURL string `yaml:"furl"`
	}{}
	for pet, u := range byPetname {
		f.Introducers[pet] = struct {
			FURL string `yaml:"furl"`
		}{u}
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o700); err != nil {
		return err
	}
	return os.WriteFile(IntroducersPath(dir), b, 0o600)
}
