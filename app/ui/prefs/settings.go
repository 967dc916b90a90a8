package prefs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/node/config"
)

// Storage is what the node's storage server does.
type Storage string

// Storage server modes ([storage] enabled and readonly).
const (
	StorageOff      Storage = "off"
	StorageOn       Storage = "on"
	StorageReadOnly Storage = "read-only"
)

// Settings are the node settings the window edits, as tahoe.cfg holds
// them.
type Settings struct {
	// K, Happy and N are [client] shares.needed, shares.happy and
	// shares.total.
	K, Happy, N int
	// Helper is [client] helper: config.HelperAuto, config.HelperOff or a
	// helper's node ID.
	Helper  string
	Storage Storage
	// Reserved is [storage] reserved_space, in bytes.
	Reserved uint64
}

// MaxShares is the most shares a file can be cut into (Tahoe's limit,
// node/config's too).
const MaxShares = 256

// Validate says in plain words what is wrong with s, if anything.
func Validate(s Settings) error {
	switch {
	case s.K < 1:
		return fmt.Errorf("shares needed (k) is %d: it must be at least 1", s.K)
	case s.N > MaxShares:
		return fmt.Errorf("total shares (n) is %d: it can be at most %d", s.N, MaxShares)
	case s.Happy < s.K:
		return fmt.Errorf("servers of happiness (%d) cannot be less than shares needed (%d): an upload must at least place the shares that rebuild the file", s.Happy, s.K)
	case s.N < s.Happy:
		return fmt.Errorf("total shares (n = %d) cannot be less than servers of happiness (%d): each of those servers must get a share", s.N, s.Happy)
	}
	switch s.Storage {
	case StorageOff, StorageOn, StorageReadOnly:
	default:
		return fmt.Errorf("storage server %q: choose off, on or read-only", s.Storage)
	}
	if s.Helper != config.HelperAuto && s.Helper != config.HelperOff && !isNodeID(s.Helper) {
		return fmt.Errorf("helper %q is not a node ID: paste the helper's ID (v0- followed by 52 letters and digits), or choose automatic or off", s.Helper)
	}
	return nil
}

// isNodeID is node/config's rule for [client] helper, plus base32.
func isNodeID(s string) bool {
	if !strings.HasPrefix(s, "v0-") || len(s) != 3+52 {
		return false
	}
	_, err := base32.Decode(s[3:])
	return err == nil
}

// Changes are the tahoe.cfg keys to set to turn old into new: only those
// whose meaning differs.
func Changes(old, new Settings) []config.Setting {
	var out []config.Setting
	set := func(sec, key, val string) { out = append(out, config.Setting{Section: sec, Key: key, Value: val}) }
	if old.K != new.K {
		set("client", "shares.needed", strconv.Itoa(new.K))
	}
	if old.Happy != new.Happy {
		set("client", "shares.happy", strconv.Itoa(new.Happy))
	}
	if old.N != new.N {
		set("client", "shares.total", strconv.Itoa(new.N))
	}
	if old.Helper != new.Helper {
		set("client", "helper", new.Helper)
	}
	if (old.Storage == StorageOff) != (new.Storage == StorageOff) {
		set("storage", "enabled", strconv.FormatBool(new.Storage != StorageOff))
	}
	// Read-only means something only with storage on; off leaves the key
	// alone, and turning storage on says it (an "off" node may still
	// have readonly = true written).
	if new.Storage != StorageOff && (old.Storage == StorageOff || (old.Storage == StorageReadOnly) != (new.Storage == StorageReadOnly)) {
		set("storage", "readonly", strconv.FormatBool(new.Storage == StorageReadOnly))
	}
	if old.Reserved != new.Reserved {
		set("storage", "reserved_space", config.FormatSize(new.Reserved))
	}
	return out
}
