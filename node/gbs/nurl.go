package gbs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// NURL names a GBS server: where it is, the key its certificate must
// carry, and the swissnum that authorises requests (a secret).
type NURL struct {
	SPKIHash string // unpadded URL-safe base64 of SHA-256(SubjectPublicKeyInfo)
	Host     string
	Port     int
	Swissnum string
}

// String formats the NURL as Tahoe does: pb://hash@host:port/swissnum#v=1.
func (n NURL) String() string {
	return fmt.Sprintf("pb://%s@%s/%s#v=1", n.SPKIHash, net.JoinHostPort(n.Host, strconv.Itoa(n.Port)), n.Swissnum)
}

// Redacted is the NURL without its swissnum, for logs.
func (n NURL) Redacted() string {
	return fmt.Sprintf("pb://%s@%s/[swissnum]#v=1", n.SPKIHash, net.JoinHostPort(n.Host, strconv.Itoa(n.Port)))
}

// ParseNURL parses a GBS NURL. A "tcp:" prefix on the location (as in
// Tahoe's url.rst examples) is accepted.
func ParseNURL(s string) (NURL, error) {
	var n NURL
	u, err := url.Parse(s)
	if err != nil {
		return n, fmt.Errorf("NURL: not a URL")
	}
	if u.Scheme != "pb" {
		return n, fmt.Errorf("NURL: scheme %q, want pb (Tor/I2P NURLs are not supported)", u.Scheme)
	}
	if u.Fragment != "v=1" {
		return n, fmt.Errorf("NURL: fragment %q, want v=1 (this is not an HTTP storage NURL)", u.Fragment)
	}
	if u.User == nil || u.User.Username() == "" {
		return n, errors.New("NURL: missing the certificate hash before '@'")
	}
	n.SPKIHash = u.User.Username()
	if b, err := base64.RawURLEncoding.DecodeString(n.SPKIHash); err != nil || len(b) != sha256.Size {
		return n, errors.New("NURL: certificate hash is not 43 characters of URL-safe base64 (SHA-256)")
	}
	host := strings.TrimPrefix(u.Host, "tcp:")
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		return n, fmt.Errorf("NURL: location %q: %v", host, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 || h == "" {
		return n, fmt.Errorf("NURL: bad host or port in %q", host)
	}
	n.Host, n.Port = h, port
	n.Swissnum = strings.TrimPrefix(u.Path, "/")
	if n.Swissnum == "" || strings.Contains(n.Swissnum, "/") {
		return n, errors.New("NURL: missing swissnum path")
	}
	return n, nil
}

// SPKIHash is the pin of a certificate: unpadded URL-safe base64 of
// SHA-256 over its DER SubjectPublicKeyInfo.
func SPKIHash(cert *x509.Certificate) string {
	h := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// NewCertificate makes a self-signed ECDSA P-256 certificate valid for 100
// years (clients pin its key and ignore its dates), PEM-encoded with its key.
func NewCertificate() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "lafssync storage"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(100, 0, 0),
		// A self-signed certificate that OpenSSL reports only as
		// "self-signed" (which Tahoe's pinning client accepts) and not
		// also as unfit to sign itself.
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...), nil
}

// LoadCertificate parses a PEM certificate and key made by NewCertificate.
func LoadCertificate(pemBytes []byte) (tls.Certificate, *x509.Certificate, error) {
	c, err := tls.X509KeyPair(pemBytes, pemBytes)
	if err != nil {
		return c, nil, fmt.Errorf("node certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return c, nil, fmt.Errorf("node certificate: %w", err)
	}
	c.Leaf = leaf
	return c, leaf, nil
}

// TubID is the 20-byte Foolscap-style identifier Tahoe clients take from
// an announcement's anonymous-storage-FURL to derive lease and
// write-enabler secrets: SHA-1 of the certificate DER, as Foolscap does.
func TubID(cert *x509.Certificate) [20]byte {
	return sha1Sum(cert.Raw)
}
