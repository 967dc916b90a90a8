package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"
)

// Relay is tahoe.cfg's [relay] section (ours, not Tahoe's; docs/relay.md).
// Zero limits mean node/relay's defaults.
type Relay struct {
	// Enabled is [relay] enabled: "auto" (absent: a relay on a storage
	// node that is not outbound-only), "true" or "false".
	Enabled string
	// Reservations, Circuits and CircuitsPerPeer are [relay]
	// reservations, circuits and circuits_per_peer.
	Reservations, Circuits, CircuitsPerPeer int
	// Rate is [relay] rate, bytes a second each way per circuit (a size:
	// "8MiB"; "unlimited" is -1).
	Rate int64
	// MaxDuration and MaxBytes are [relay] max_duration ("24h", or
	// seconds) and max_bytes (a size); "unlimited" is -1.
	MaxDuration time.Duration
	MaxBytes    int64
}

// Serves says whether a node with this section serves as a relay.
func (r Relay) Serves(storage, outboundOnly bool) bool {
	switch r.Enabled {
	case "true":
		return true
	case "false":
		return false
	}
	return storage && !outboundOnly
}

// LoadRelay reads DIR/tahoe.cfg's [relay] section.
func LoadRelay(dir string) (Relay, error) {
	r := Relay{Enabled: "auto"}
	path := filepath.Join(dir, File)
	f, err := ini.LoadSources(ini.LoadOptions{Loose: true}, path)
	if err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	get := func(key string) string { return strings.TrimSpace(f.Section("relay").Key(key).String()) }
	bad := func(key, v, reason string) error { return &Error{path, "relay", key, v, reason} }
	switch v := strings.ToLower(get("enabled")); v {
	case "", "auto":
	case "true", "yes", "on", "1":
		r.Enabled = "true"
	case "false", "no", "off", "0":
		r.Enabled = "false"
	default:
		return r, bad("enabled", v, "want auto, true or false")
	}
	for key, dst := range map[string]*int{"reservations": &r.Reservations, "circuits": &r.Circuits, "circuits_per_peer": &r.CircuitsPerPeer} {
		if v := get(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100000 {
				return r, bad(key, v, "want a whole number from 1 to 100000")
			}
			*dst = n
		}
	}
	for key, dst := range map[string]*int64{"rate": &r.Rate, "max_bytes": &r.MaxBytes} {
		if v := get(key); v == "unlimited" {
			*dst = -1
		} else if v != "" {
			n, err := ParseSize(v)
			if err != nil || n == 0 {
				return r, bad(key, v, "want a size such as 8MiB, or unlimited")
			}
			*dst = int64(n)
		}
	}
	switch v := get("max_duration"); v {
	case "":
	case "unlimited":
		r.MaxDuration = -1
	default:
		d, err := time.ParseDuration(v)
		if secs, serr := strconv.Atoi(v); serr == nil {
			d, err = time.Duration(secs)*time.Second, nil
		}
		if err != nil || d < time.Minute {
			return r, bad("max_duration", v, "want a duration of at least a minute (24h, 3600), or unlimited")
		}
		r.MaxDuration = d
	}
	return r, nil
}
