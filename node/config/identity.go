package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lafssync/lafssync/grid/base32"
)

// Identity is a node's long-term key material, kept under private/.
// Everything here is secret except what Public* methods return.
type Identity struct {
	// NodeKey signs announcements; its public half is the server ID.
	NodeKey ed25519.PrivateKey
	// TLS holds the PEM certificate and key HTTPS serves with.
	TLS []byte
	// Swissnum authorises clients of this storage server.
	Swissnum string
	// Secret is the client secret lease secrets derive from.
	Secret []byte
	// Convergence is the convergent-encryption secret.
	Convergence []byte
}

// ServerID is Tahoe's "v0-<base32 ed25519 public key>".
func (id *Identity) ServerID() string { return "v0-" + id.PermutationSeedBase32() }

// PermutationSeedBase32 is the announcement's permutation-seed-base32.
func (id *Identity) PermutationSeedBase32() string {
	return base32.Encode(id.NodeKey.Public().(ed25519.PublicKey))
}

func privPath(dir, name string) string { return filepath.Join(dir, "private", name) }

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// CreateIdentity makes new keys and secrets in DIR/private (mode 0700,
// files 0600). newTLS makes the TLS certificate.
func CreateIdentity(dir string, newTLS func() ([]byte, error)) (*Identity, error) {
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o700); err != nil {
		return nil, err
	}
	tlsPEM, err := newTLS()
	if err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	// A client directory that predates its node keys (the embedded grid's
	// client before it became a full node) keeps its client secrets: the
	// convergence secret decides the caps of future uploads.
	cs, err := LoadClientSecrets(dir)
	if err != nil {
		return nil, err
	}
	id := &Identity{NodeKey: priv, TLS: tlsPEM, Swissnum: base32.Encode(random(32)), Secret: cs.Lease, Convergence: cs.Convergence}
	files := map[string][]byte{
		"node.privkey":     []byte("priv-v0-" + base32.Encode(priv.Seed()) + "\n"),
		"node.pem":         tlsPEM,
		"storage.swissnum": []byte(id.Swissnum + "\n"),
	}
	for name, b := range files {
		p := privPath(dir, name)
		if _, err := os.Stat(p); err == nil {
			return nil, fmt.Errorf("%s already exists: refusing to replace a node's keys", p)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// LoadIdentity reads DIR/private.
func LoadIdentity(dir string) (*Identity, error) {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(privPath(dir, name))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("%s is missing: is %s a node directory? (lafs create-node)", privPath(dir, name), dir)
			}
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	id := &Identity{}
	s, err := read("node.privkey")
	if err != nil {
		return nil, err
	}
	seed, err := base32.Decode(strings.TrimPrefix(s, "priv-v0-"))
	if err != nil || len(seed) != ed25519.SeedSize || !strings.HasPrefix(s, "priv-v0-") {
		return nil, fmt.Errorf("%s is not a priv-v0- ed25519 key", privPath(dir, "node.privkey"))
	}
	id.NodeKey = ed25519.NewKeyFromSeed(seed)
	pemText, err := read("node.pem")
	if err != nil {
		return nil, err
	}
	id.TLS = []byte(pemText + "\n")
	if id.Swissnum, err = read("storage.swissnum"); err != nil {
		return nil, err
	}
	for name, dst := range map[string]*[]byte{"secret": &id.Secret, "convergence": &id.Convergence} {
		s, err := read(name)
		if err != nil {
			return nil, err
		}
		if *dst, err = base32.Decode(s); err != nil {
			return nil, fmt.Errorf("%s: %w", privPath(dir, name), err)
		}
	}
	return id, nil
}
