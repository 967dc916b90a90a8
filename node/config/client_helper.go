package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"
)

// Helper is tahoe.cfg's upload-helper settings: [helper] on a node that
// serves as one, [client] helper on a node that uses one (docs/helper.md).
// Zero limits mean node/helper's defaults.
type Helper struct {
	// Enabled is [helper] enabled: serve the helper routes and announce
	// it (Tahoe's key).
	Enabled bool
	// [helper] max_uploads_per_client, max_spool_per_client,
	// max_spool_total, reserved_space (sizes as [storage] reserved_space),
	// idle_timeout (seconds), max_receive_rate (bytes per second per
	// upload, a size).
	MaxUploadsPerClient int
	MaxSpoolPerClient   uint64
	MaxSpoolTotal       uint64
	ReservedSpace       uint64
	IdleTimeout         time.Duration
	MaxReceiveRate      uint64

	// Use is [client] helper: HelperAuto (the default), HelperOff, or the
	// node ID ("v0-…") of the helper to use.
	Use string
}

// [client] helper values besides a node ID.
const (
	HelperAuto = "auto"
	HelperOff  = "off"
)

// LoadHelper reads the helper settings from DIR/tahoe.cfg (none: the
// defaults, helper off and [client] helper = auto).
func LoadHelper(dir string) (Helper, error) {
	h := Helper{Use: HelperAuto}
	path := filepath.Join(dir, File)
	f, err := ini.LoadSources(ini.LoadOptions{AllowBooleanKeys: false}, path)
	if errors.Is(err, os.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return h, err
	}
	get := func(sec, key string) string { return strings.TrimSpace(f.Section(sec).Key(key).String()) }
	switch v := strings.ToLower(get("helper", "enabled")); v {
	case "", "false", "no", "off", "0":
	case "true", "yes", "on", "1":
		h.Enabled = true
	default:
		return h, &Error{path, "helper", "enabled", v, "want true or false"}
	}
	if v := get("helper", "max_uploads_per_client"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return h, &Error{path, "helper", "max_uploads_per_client", v, "want a whole number from 1 to 1000"}
		}
		h.MaxUploadsPerClient = n
	}
	for key, dst := range map[string]*uint64{"max_spool_per_client": &h.MaxSpoolPerClient, "max_spool_total": &h.MaxSpoolTotal, "reserved_space": &h.ReservedSpace, "max_receive_rate": &h.MaxReceiveRate} {
		if v := get("helper", key); v != "" {
			n, err := ParseSize(v)
			if err != nil {
				return h, &Error{path, "helper", key, v, err.Error()}
			}
			*dst = n
		}
	}
	if v := get("helper", "idle_timeout"); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil || secs < 1 || secs > 30*86400 {
			return h, &Error{path, "helper", "idle_timeout", v, "want a number of seconds from 1 to 2592000"}
		}
		h.IdleTimeout = time.Duration(secs) * time.Second
	}
	switch v := get("client", "helper"); {
	case v == "" || strings.EqualFold(v, HelperAuto):
	case strings.EqualFold(v, HelperOff) || strings.EqualFold(v, "none"):
		h.Use = HelperOff
	case strings.HasPrefix(v, "v0-") && len(v) == 3+52:
		h.Use = v
	default:
		return h, &Error{path, "client", "helper", v, "want auto, off, or a helper's node ID (v0-…)"}
	}
	return h, nil
}
