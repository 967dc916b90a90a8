package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/lafssync/lafssync/internal/atomicfile"
)

// TokenPath is where the web API token lives in a node directory when it
// is in a file (Tahoe's private/api_auth_token).
func TokenPath(dir string) string { return filepath.Join(dir, "private", "api_auth_token") }

// TokenStore keeps a node's web API token. The default is FileToken;
// programs with an OS keyring install theirs with SetTokenStore (the node
// packages never import the app that provides it).
type TokenStore interface {
	// Token returns the node's token, "" when it has none.
	Token(dir string) (string, error)
	// SetToken stores tok as the node's token.
	SetToken(dir, tok string) error
}

var tokenStore atomic.Pointer[TokenStore]

// SetTokenStore makes s the store ReadToken and WriteToken use (nil:
// FileToken) and returns the one it replaces. Call it at start-up.
func SetTokenStore(s TokenStore) TokenStore {
	var old *TokenStore
	if s == nil {
		old = tokenStore.Swap(nil)
	} else {
		old = tokenStore.Swap(&s)
	}
	if old == nil {
		return FileToken{}
	}
	return *old
}

func currentTokenStore() TokenStore {
	if p := tokenStore.Load(); p != nil {
		return *p
	}
	return FileToken{}
}

// ReadToken returns the token of the node in dir from the installed
// TokenStore ("" when it has none). It never makes one: a new token would
// not be the running node's.
func ReadToken(dir string) (string, error) { return currentTokenStore().Token(dir) }

// WriteToken stores tok as the token of the node in dir.
func WriteToken(dir, tok string) error { return currentTokenStore().SetToken(dir, tok) }

// FileToken keeps the token in private/api_auth_token (0600), as Tahoe.
type FileToken struct{}

// Token reads private/api_auth_token ("" when there is none).
func (FileToken) Token(dir string) (string, error) {
	b, err := os.ReadFile(TokenPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the web API token %s: %w (run lafs as the user who runs the node)", TokenPath(dir), err)
	}
	return strings.TrimSpace(string(b)), nil
}

// SetToken writes private/api_auth_token (0600) through a temporary file.
func (FileToken) SetToken(dir, tok string) error {
	if err := os.MkdirAll(filepath.Dir(TokenPath(dir)), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(TokenPath(dir), []byte(tok+"\n"), 0o600)
}
