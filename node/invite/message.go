package invite

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/introducer"
)

// Invite is what the inviting side sends: Tahoe's `tahoe invite`
// configuration, plus our keys (prefixed "lafssync-").
type Invite struct {
	// Nickname is the new node's nickname ("nickname"); empty: the joiner
	// keeps its own.
	Nickname string
	// Introducer is the grid's introducer ("introducer"; Tahoe sends a pb://
	// fURL, we send a lafs:// address).
	Introducer string
	// Introducers are all the inviter's introducers by petname
	// ("lafssync-introducers"); Introducer is one of them.
	Introducers map[string]string
	// SharesNeeded, SharesHappy and SharesTotal are the grid's encoding
	// ("shares-needed", "shares-happy", "shares-total"); zero: not sent.
	SharesNeeded, SharesHappy, SharesTotal int
	// Folder is a folder to sync, if the invite carries one
	// ("lafssync-folder").
	Folder *Folder
}

// Folder is one folder's cap in an invite.
type Folder struct {
	// Name is the folder's name on the inviting device.
	Name string `json:"name"`
	// Cap is the folder's read cap (a friend follows it) or, with Write,
	// its write cap (the user's own other device joins it). A secret.
	Cap string `json:"cap"`
	// Write says Cap is the write cap.
	Write bool `json:"write"`
}

// maxMessage bounds every message of the exchange (an invite is a few
// hundred bytes; Tahoe's too).
const maxMessage = 16 << 10

// MarshalJSON writes Tahoe's keys as `tahoe invite` does (the share counts
// as strings) and ours beside them.
func (inv Invite) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if inv.Nickname != "" {
		m["nickname"] = inv.Nickname
	}
	if inv.Introducer != "" {
		m["introducer"] = inv.Introducer
	}
	if len(inv.Introducers) > 0 {
		m["lafssync-introducers"] = inv.Introducers
	}
	for k, v := range map[string]int{"shares-needed": inv.SharesNeeded, "shares-happy": inv.SharesHappy, "shares-total": inv.SharesTotal} {
		if v != 0 {
			m[k] = strconv.Itoa(v)
		}
	}
	if inv.Folder != nil {
		m["lafssync-folder"] = inv.Folder
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads an invite from Tahoe or from us: share counts as
// numbers or strings, unknown keys ignored (Tahoe's rule: the joiner takes
// only the keys it knows). It checks types, not meaning: see Validate.
func (inv *Invite) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("the invite is not a JSON object: %w", err)
	}
	var out Invite
	str := func(key string, dst *string) error {
		if raw, ok := m[key]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return fmt.Errorf("invite key %q: want a string", key)
			}
		}
		return nil
	}
	count := func(key string, dst *int) error {
		raw, ok := m[key]
		if !ok || string(raw) == "null" {
			return nil
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("invite key %q: want a whole number", key)
		}
		*dst = n
		return nil
	}
	for _, err := range []error{
		str("nickname", &out.Nickname), str("introducer", &out.Introducer),
		count("shares-needed", &out.SharesNeeded), count("shares-happy", &out.SharesHappy), count("shares-total", &out.SharesTotal),
	} {
		if err != nil {
			return err
		}
	}
	if raw, ok := m["lafssync-introducers"]; ok {
		if err := json.Unmarshal(raw, &out.Introducers); err != nil {
			return errors.New(`invite key "lafssync-introducers": want an object of strings`)
		}
	}
	if raw, ok := m["lafssync-folder"]; ok && string(raw) != "null" {
		var f Folder
		if err := json.Unmarshal(raw, &f); err != nil {
			return errors.New(`invite key "lafssync-folder": want {"name", "cap", "write"}`)
		}
		out.Folder = &f
	}
	*inv = out
	return nil
}

// ErrTahoeGrid is the error for an invite to a Tahoe-LAFS grid whose
// introducer is a Foolscap pb:// fURL, which LAFS Sync does not speak.
var ErrTahoeGrid = errors.New("this invite is to a Tahoe-LAFS grid whose introducer speaks Foolscap (pb://), which LAFS Sync cannot join; ask for the grid's storage servers (servers.yaml) instead")

// Validate checks what a joiner would act on: the introducer addresses
// parse, the encoding is possible, the folder's cap is a directory cap of
// the kind it claims. Its errors never quote a cap.
func (inv *Invite) Validate() error {
	if inv.Introducer == "" && len(inv.Introducers) == 0 {
		return errors.New("the invite names no introducer")
	}
	check := func(what, u string) error {
		if strings.HasPrefix(strings.TrimSpace(u), "pb://") {
			return ErrTahoeGrid
		}
		if _, err := introducer.ParseURL(u); err != nil {
			return fmt.Errorf("the invite's %s is not a lafs:// introducer address", what)
		}
		return nil
	}
	if inv.Introducer != "" {
		if err := check("introducer", inv.Introducer); err != nil {
			return err
		}
	}
	pets := make([]string, 0, len(inv.Introducers))
	for p := range inv.Introducers {
		pets = append(pets, p)
	}
	sort.Strings(pets)
	for _, p := range pets {
		if p == "" || len(p) > 64 || strings.ContainsAny(p, "\x00\n\r:/\\") {
			return errors.New("the invite has an introducer petname that is not a plain name")
		}
		if err := check(fmt.Sprintf("introducer %q", p), inv.Introducers[p]); err != nil {
			return err
		}
	}
	k, h, n := inv.SharesNeeded, inv.SharesHappy, inv.SharesTotal
	if k != 0 || h != 0 || n != 0 {
		if !(1 <= k && k <= n && n <= 256 && 1 <= h && h <= n) {
			return fmt.Errorf("the invite's encoding (needed %d, happy %d, total %d) is impossible: want 1 ≤ needed ≤ total ≤ 256 and 1 ≤ happy ≤ total", k, h, n)
		}
	}
	if len(inv.Nickname) > 256 || strings.ContainsAny(inv.Nickname, "\x00\n\r") {
		return errors.New("the invite's nickname is not one line of at most 256 bytes")
	}
	if f := inv.Folder; f != nil {
		if f.Name == "" || len(f.Name) > 255 || strings.ContainsAny(f.Name, "/\\\x00\n\r") || f.Name == "." || f.Name == ".." {
			return errors.New("the invite's folder name is not a plain name")
		}
		c, err := cap.Parse(f.Cap)
		if err != nil {
			return fmt.Errorf("the invite's cap for folder %q is not a valid cap", f.Name)
		}
		switch {
		case !c.IsDir():
			return fmt.Errorf("the invite's cap for folder %q is not a directory cap", f.Name)
		case f.Write && (c.IsReadOnly() || !c.IsMutable()):
			return fmt.Errorf("the invite says folder %q is shared for writing, but its cap is read-only", f.Name)
		case !f.Write && !c.IsReadOnly():
			// A write cap sent as a read share would give the joiner more
			// than the inviter meant: refuse rather than downgrade silently.
			return fmt.Errorf("the invite shares folder %q read-only, but carries its write cap", f.Name)
		}
	}
	return nil
}

// abilities is the first message of Tahoe's exchange.
type abilities struct {
	Abilities map[string]json.RawMessage `json:"abilities"`
}

// Ability names: Tahoe's, and ours beside them.
const (
	abilityServer = "server-v1"
	abilityClient = "client-v1"
	abilityLAFS   = "lafssync-v1"
)

func abilitiesOf(names ...string) abilities {
	a := abilities{Abilities: map[string]json.RawMessage{}}
	for _, n := range names {
		a.Abilities[n] = json.RawMessage("{}")
	}
	return a
}
