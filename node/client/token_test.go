package client

import (
	"errors"
	"os"
	"testing"
)

type memToken map[string]string

func (m memToken) Token(dir string) (string, error) { return m[dir], nil }
func (m memToken) SetToken(dir, tok string) error   { m[dir] = tok; return nil }

func TestTokenStoreSeam(t *testing.T) {
	dir := t.TempDir()
	if tok, err := ReadToken(dir); err != nil || tok != "" {
		t.Fatalf("no token yet: %q, %v", tok, err)
	}
	if err := WriteToken(dir, "tok1"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(TokenPath(dir)); string(b) != "tok1\n" {
		t.Fatalf("file %q", b)
	}
	if fi, _ := os.Stat(TokenPath(dir)); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	mem := memToken{}
	if old := SetTokenStore(mem); old != (FileToken{}) {
		t.Fatalf("default %T", old)
	}
	t.Cleanup(func() { SetTokenStore(nil) })
	if tok, _ := ReadToken(dir); tok != "" {
		t.Fatalf("the installed store was bypassed: %q", tok)
	}
	other := t.TempDir()
	if err := WriteToken(other, "tok2"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(TokenPath(other)); !errors.Is(err, os.ErrNotExist) || mem[other] != "tok2" {
		t.Fatalf("WriteToken went to the file: %v, %v", err, mem)
	}
	SetTokenStore(nil)
	if tok, _ := ReadToken(dir); tok != "tok1" {
		t.Fatalf("after restoring the file store: %q", tok)
	}
}
