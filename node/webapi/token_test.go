package webapi

import (
	"errors"
	"os"
	"testing"

	"github.com/lafssync/lafssync/node/client"
)

type memToken map[string]string

func (m memToken) Token(dir string) (string, error) { return m[dir], nil }
func (m memToken) SetToken(dir, tok string) error   { m[dir] = tok; return nil }

// LoadToken makes the token once, in the installed store.
func TestLoadTokenUsesTheInstalledStore(t *testing.T) {
	mem := memToken{}
	client.SetTokenStore(mem)
	t.Cleanup(func() { client.SetTokenStore(nil) })
	dir := t.TempDir()
	tok, err := LoadToken(dir)
	if err != nil || len(tok) < 40 || mem[dir] != tok {
		t.Fatalf("token %d chars, %v; store holds %d chars", len(tok), err, len(mem[dir]))
	}
	if again, _ := LoadToken(dir); again != tok {
		t.Error("a second LoadToken made another token")
	}
	if _, err := os.Stat(TokenPath(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Error("the token file was written besides the store")
	}
}
