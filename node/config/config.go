// Package config reads and writes a node directory: tahoe.cfg (Tahoe's INI
// format and key names where the meaning is the same), the node's
// long-term keys and secrets under private/, and Tahoe's static server
// list private/servers.yaml.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"

	"github.com/lafssync/lafssync/internal/atomicfile"
)

// Config is the part of tahoe.cfg this version uses.
type Config struct {
	Nickname string
	// TubPort is where the node listens, Tahoe style: "tcp:PORT" or
	// "tcp:PORT:interface=ADDR".
	TubPort string
	// TubLocation is how others reach it: comma-separated "tcp:HOST:PORT".
	TubLocation string
	WebPort     string

	StorageEnabled bool
	ReadOnly       bool
	ReservedSpace  uint64

	SharesNeeded, SharesHappy, SharesTotal int

	// KeepAlive is [node] timeout.keepalive (Tahoe's key, in seconds): how
	// often idle connections are pinged. Zero means the default.
	KeepAlive time.Duration

	// IntroducerFURL is [client] introducer.furl: Tahoe's older way to name
	// one introducer (petname "default"); ours holds a lafs:// address.
	IntroducerFURL string

	// Introducer makes the node run an introducer ([introducer] enabled,
	// written by create-introducer).
	Introducer bool
	// OutboundOnly says the node cannot be dialed (behind NAT): it
	// announces no addresses and others use the connections it opens
	// ([node] reachability = outbound-only; ours, not Tahoe's).
	OutboundOnly bool
	// Reachability is [node] reachability: "auto" (absent: the node
	// announces the addresses dial-back confirms, docs/reachability.md),
	// "public" (tub.location as written) or "outbound-only" (with
	// OutboundOnly; OutboundOnly wins when the two disagree).
	Reachability string
}

// Default is a fresh node's configuration.
func Default() Config {
	return Config{SharesNeeded: 3, SharesHappy: 7, SharesTotal: 10}
}

// File is tahoe.cfg's name inside a node directory.
const File = "tahoe.cfg"

// Error names the file, section and key of a bad setting.
type Error struct {
	Path, Section, Key, Value, Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: [%s] %s = %q: %s", e.Path, e.Section, e.Key, e.Value, e.Reason)
}

// Load reads DIR/tahoe.cfg.
func Load(dir string) (Config, error) {
	c := Default()
	path := filepath.Join(dir, File)
	f, err := ini.LoadSources(ini.LoadOptions{AllowBooleanKeys: false}, path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return c, fmt.Errorf("%s does not exist: create the node with 'lafs create-node %s'", path, dir)
		}
		return c, fmt.Errorf("%s: %w", path, err)
	}
	get := func(sec, key string) string { return strings.TrimSpace(f.Section(sec).Key(key).String()) }
	boolean := func(sec, key string, dst *bool) error {
		v := get(sec, key)
		if v == "" {
			return nil
		}
		switch strings.ToLower(v) {
		case "true", "yes", "on", "1":
			*dst = true
		case "false", "no", "off", "0":
			*dst = false
		default:
			return &Error{path, sec, key, v, "want true or false"}
		}
		return nil
	}
	integer := func(sec, key string, dst *int) error {
		v := get(sec, key)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			return &Error{path, sec, key, v, "want a whole number from 1 to 256"}
		}
		*dst = n
		return nil
	}
	c.Nickname = get("node", "nickname")
	c.TubPort = get("node", "tub.port")
	c.TubLocation = get("node", "tub.location")
	c.WebPort = get("node", "web.port")
	if v := get("node", "timeout.keepalive"); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil || secs < 1 || secs > 86400 {
			return c, &Error{path, "node", "timeout.keepalive", v, "want a number of seconds from 1 to 86400"}
		}
		c.KeepAlive = time.Duration(secs) * time.Second
	}
	c.IntroducerFURL = get("client", "introducer.furl")
	if c.IntroducerFURL == "None" {
		c.IntroducerFURL = "" // Tahoe writes None for "no introducer"
	}
	switch v := get("node", "reachability"); v {
	case "", "auto":
		c.Reachability = "auto"
	case "public":
		c.Reachability = v
	case "outbound-only":
		c.Reachability, c.OutboundOnly = v, true
	default:
		return c, &Error{path, "node", "reachability", v, "want auto, public or outbound-only"}
	}
	if c.TubPort != "" {
		if _, _, err := ParseTubPort(c.TubPort); err != nil {
			return c, &Error{path, "node", "tub.port", c.TubPort, err.Error()}
		}
	}
	for _, e := range []error{
		boolean("storage", "enabled", &c.StorageEnabled),
		boolean("storage", "readonly", &c.ReadOnly),
		boolean("introducer", "enabled", &c.Introducer),
		integer("client", "shares.needed", &c.SharesNeeded),
		integer("client", "shares.happy", &c.SharesHappy),
		integer("client", "shares.total", &c.SharesTotal),
	} {
		if e != nil {
			return c, e
		}
	}
	if v := get("storage", "reserved_space"); v != "" {
		n, err := ParseSize(v)
		if err != nil {
			return c, &Error{path, "storage", "reserved_space", v, err.Error()}
		}
		c.ReservedSpace = n
	}
	if !(c.SharesNeeded <= c.SharesHappy && c.SharesHappy <= c.SharesTotal) {
		return c, &Error{path, "client", "shares.happy", strconv.Itoa(c.SharesHappy),
			fmt.Sprintf("need shares.needed (%d) <= shares.happy <= shares.total (%d)", c.SharesNeeded, c.SharesTotal)}
	}
	return c, nil
}

// Save writes c to DIR/tahoe.cfg, keeping any other keys and comments
// already in the file.
func Save(dir string, c Config) error {
	path := filepath.Join(dir, File)
	f, err := ini.LoadSources(ini.LoadOptions{Loose: true}, path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	set := func(sec, key, val string) { f.Section(sec).Key(key).SetValue(val) }
	set("node", "nickname", c.Nickname)
	set("node", "tub.port", c.TubPort)
	set("node", "tub.location", c.TubLocation)
	if c.WebPort != "" {
		set("node", "web.port", c.WebPort)
	}
	switch {
	case c.OutboundOnly:
		set("node", "reachability", "outbound-only")
	case c.Reachability == "auto" && f.Section("node").HasKey("reachability"):
		set("node", "reachability", "auto")
	case c.Reachability == "public" || f.Section("node").HasKey("reachability"):
		set("node", "reachability", "public") // also: outbound-only turned off
	}
	if c.Introducer {
		set("introducer", "enabled", "true")
	}
	set("storage", "enabled", strconv.FormatBool(c.StorageEnabled))
	set("storage", "readonly", strconv.FormatBool(c.ReadOnly))
	set("storage", "reserved_space", FormatSize(c.ReservedSpace))
	set("client", "shares.needed", strconv.Itoa(c.SharesNeeded))
	set("client", "shares.happy", strconv.Itoa(c.SharesHappy))
	set("client", "shares.total", strconv.Itoa(c.SharesTotal))
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	return atomicfile.Write(path, buf.Bytes(), mode)
}

// ParseSize reads Tahoe's size syntax: "10G", "1GiB", "100MB", "5000",
// "2.5T" (decimal units; the "i" forms are binary).
func ParseSize(s string) (uint64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "B")
	mult := float64(1)
	if strings.HasSuffix(t, "I") {
		t = strings.TrimSuffix(t, "I")
		if len(t) == 0 {
			return 0, fmt.Errorf("%q is not a size", s)
		}
		units := map[byte]float64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}
		u, ok := units[t[len(t)-1]]
		if !ok {
			return 0, fmt.Errorf("%q is not a size", s)
		}
		mult, t = u, t[:len(t)-1]
	} else if len(t) > 0 {
		units := map[byte]float64{'K': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12}
		if u, ok := units[t[len(t)-1]]; ok {
			mult, t = u, t[:len(t)-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*mult > 1<<62 {
		return 0, fmt.Errorf("%q is not a size (examples: 5000, 100MB, 10G, 1GiB)", s)
	}
	return uint64(v * mult), nil
}

// FormatSize writes a size ParseSize reads back exactly.
func FormatSize(n uint64) string {
	for _, u := range []struct {
		s string
		v uint64
	}{{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}} {
		if n >= u.v && n%u.v == 0 {
			return strconv.FormatUint(n/u.v, 10) + u.s
		}
	}
	return strconv.FormatUint(n, 10)
}

// ParseTubPort reads "tcp:PORT[:interface=ADDR]" into a listen address.
func ParseTubPort(s string) (host string, port int, err error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || parts[0] != "tcp" {
		return "", 0, errors.New(`want "tcp:PORT" or "tcp:PORT:interface=ADDR"`)
	}
	port, err = strconv.Atoi(parts[1])
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", parts[1])
	}
	for _, p := range parts[2:] {
		if v, ok := strings.CutPrefix(p, "interface="); ok {
			host = v
		}
	}
	return host, port, nil
}

// ParseLocation reads the first "tcp:HOST:PORT" hint of tub.location.
func ParseLocation(s string) (string, int, error) {
	for _, hint := range strings.Split(s, ",") {
		hint = strings.TrimSpace(hint)
		rest, ok := strings.CutPrefix(hint, "tcp:")
		if !ok {
			continue
		}
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			continue
		}
		port, err := strconv.Atoi(rest[i+1:])
		if err != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("tub.location hint %q: bad port", hint)
		}
		return strings.Trim(rest[:i], "[]"), port, nil
	}
	return "", 0, fmt.Errorf("tub.location %q has no tcp:HOST:PORT hint", s)
}
