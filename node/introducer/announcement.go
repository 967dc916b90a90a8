// Package introducer is how nodes find each other: servers publish signed
// announcements to an introducer, clients subscribe and verify them.
//
// The announcement body and its signature are Tahoe-LAFS's: the UTF-8 JSON
// of the announcement dict, signed with the node's Ed25519 key, carried as
// (msg, "v0-"+base32(signature), "v0-"+base32(public key)). Tahoe's
// introducer speaks only Foolscap, so the exchange itself is ours: HTTP
// over the node transport (see Server). Our own fields are prefixed
// "lafssync-"; Tahoe ignores them.
package introducer

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/internal/version"
	"github.com/lafssync/lafssync/node/config"
)

// Service names.
const (
	// ServiceStorage is a storage server (Tahoe's name).
	ServiceStorage = "storage"
	// ServicePeer is a node that offers no storage but can be called back
	// (a public client that NATted servers should dial).
	ServicePeer = "lafssync-peer"
)

// Reachability values.
const (
	Public       = "public"        // others can dial the announced addresses
	OutboundOnly = "outbound-only" // behind NAT: it dials, others use its connection
)

// Announcement is the signed dict.
type Announcement struct {
	ServiceName     string   `json:"service-name" yaml:"service-name"`
	Nickname        string   `json:"nickname" yaml:"nickname"`
	Seqnum          int64    `json:"seqnum" yaml:"seqnum"`
	Nonce           string   `json:"nonce" yaml:"nonce"`
	Version         int      `json:"version" yaml:"version"`
	MyVersion       string   `json:"my-version" yaml:"my-version"`
	OldestSupported string   `json:"oldest-supported" yaml:"oldest-supported"`
	AppVersions     []string `json:"app-versions" yaml:"app-versions"`

	FURL            string   `json:"anonymous-storage-FURL,omitempty" yaml:"anonymous-storage-FURL,omitempty"`
	NURLs           []string `json:"anonymous-storage-NURLs,omitempty" yaml:"anonymous-storage-NURLs,omitempty"`
	PermutationSeed string   `json:"permutation-seed-base32,omitempty" yaml:"permutation-seed-base32,omitempty"`

	// Addresses are where the node's transport listens (host:port).
	Addresses    []string `json:"lafssync-addresses,omitempty" yaml:"lafssync-addresses,omitempty"`
	Reachability string   `json:"lafssync-reachability,omitempty" yaml:"lafssync-reachability,omitempty"`
	Helper       bool     `json:"lafssync-helper,omitempty" yaml:"lafssync-helper,omitempty"`
	Relay        bool     `json:"lafssync-relay,omitempty" yaml:"lafssync-relay,omitempty"`
	// Relays are the relays (node IDs) holding a reservation for this
	// node: others that cannot dial it connect through one of them
	// (docs/relay.md). Tahoe ignores the key.
	Relays []string `json:"lafssync-relays,omitempty" yaml:"lafssync-relays,omitempty"`
}

// New fills the fields every announcement carries.
func New(service, nickname string, seqnum int64) Announcement {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	return Announcement{ServiceName: service, Nickname: nickname, Seqnum: seqnum, Nonce: base32.Encode(nonce),
		MyVersion: "lafssync/" + version.Version, OldestSupported: "1.0.0", AppVersions: []string{}}
}

// Storage is the part a storage client needs, as Tahoe's servers.yaml has it.
func (a Announcement) Storage() config.Announcement {
	return config.Announcement{Nickname: a.Nickname, FURL: a.FURL, NURLs: a.NURLs, PermutationSeed: a.PermutationSeed}
}

// Signed is an announcement on the wire: Tahoe's (msg, sig, key).
type Signed struct {
	Msg string `json:"ann" yaml:"ann"`
	Sig string `json:"sig" yaml:"sig"`
	Key string `json:"key" yaml:"key"`
}

// MaxSize bounds an announcement's JSON.
const MaxSize = 64 << 10

// Sign signs a with key.
func Sign(a Announcement, key ed25519.PrivateKey) (Signed, error) {
	msg, err := json.Marshal(a)
	if err != nil {
		return Signed{}, err
	}
	return Signed{Msg: string(msg), Sig: "v0-" + base32.Encode(ed25519.Sign(key, msg)),
		Key: "v0-" + base32.Encode(key.Public().(ed25519.PublicKey))}, nil
}

// ErrBadSignature means an announcement is not signed by the key it names.
var ErrBadSignature = errors.New("announcement signature does not verify")

// Verify checks the signature and decodes the announcement. The returned
// string is the signer's node ID ("v0-…").
func Verify(s Signed) (Announcement, string, error) {
	var a Announcement
	if len(s.Msg) > MaxSize {
		return a, "", fmt.Errorf("announcement is %d bytes, more than %d", len(s.Msg), MaxSize)
	}
	kt, ok := strings.CutPrefix(s.Key, "v0-")
	if !ok {
		return a, "", fmt.Errorf("announcement key %.12q does not start with v0-", s.Key)
	}
	pub, err := base32.DecodeFixed(kt, ed25519.PublicKeySize)
	if err != nil {
		return a, "", fmt.Errorf("announcement key: %w", err)
	}
	st, ok := strings.CutPrefix(s.Sig, "v0-")
	if !ok {
		return a, "", fmt.Errorf("announcement signature does not start with v0-")
	}
	sig, err := base32.DecodeFixed(st, ed25519.SignatureSize)
	if err != nil {
		return a, "", fmt.Errorf("announcement signature: %w", err)
	}
	if !ed25519.Verify(pub, []byte(s.Msg), sig) {
		return a, "", ErrBadSignature
	}
	if err := json.Unmarshal([]byte(s.Msg), &a); err != nil {
		return a, "", fmt.Errorf("announcement body: %w", err)
	}
	if a.ServiceName == "" {
		return a, "", errors.New("announcement has no service-name")
	}
	return a, s.Key, nil
}
