package mutable

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/taghash"
)

// KeyBits is the RSA modulus size Tahoe uses for mutable files.
const KeyBits = 2048

// Keys is a mutable file's signing key and everything derived from it.
type Keys struct {
	Private     *rsa.PrivateKey
	PrivateDER  []byte // PKCS#8
	PublicDER   []byte // SubjectPublicKeyInfo
	WriteKey    [16]byte
	ReadKey     [16]byte
	Fingerprint [32]byte
}

// NewKeys derives the key material from an RSA private key.
func NewKeys(priv *rsa.PrivateKey) (*Keys, error) {
	// Tahoe (crypto/rsa.py) checks only the size: keys made by old
	// releases (pycryptopp) have e=17; new keys use 65537.
	if priv.N.BitLen() != KeyBits {
		return nil, fmt.Errorf("mutable key: want a %d-bit RSA key, got %d bits", KeyBits, priv.N.BitLen())
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("mutable key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("mutable key: %w", err)
	}
	k := &Keys{Private: priv, PrivateDER: privDER, PublicDER: pubDER,
		WriteKey: taghash.SSKWriteKey(privDER), Fingerprint: taghash.SSKFingerprint(pubDER)}
	k.ReadKey = taghash.SSKReadKey(k.WriteKey[:])
	return k, nil
}

// GenerateKeys makes a fresh key (slow: tens to hundreds of milliseconds).
func GenerateKeys() (*Keys, error) {
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, err
	}
	return NewKeys(priv)
}

// ParsePEM reads a PEM "RSA PRIVATE KEY" (PKCS#1) or "PRIVATE KEY" (PKCS#8).
func ParsePEM(b []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("mutable key: no PEM block found")
	}
	switch blk.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("mutable key: %w", err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("mutable key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("mutable key: PKCS#8 key is %T, not RSA", k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("mutable key: PEM block %q is not a private key", blk.Type)
}

// WriteCap is the file's write cap in the given format.
func (k *Keys) WriteCap(f cap.Format) *cap.Mutable {
	return &cap.Mutable{Format: f, WriteKey: k.WriteKey, Fingerprint: k.Fingerprint}
}
