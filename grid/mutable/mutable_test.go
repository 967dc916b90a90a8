package mutable

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

// testKeys are a few RSA keys from Tahoe's vector file, so tests need not
// generate keys (slow).
var (
	keyOnce sync.Once
	keyList []*rsa.PrivateKey
)

func testKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		b, err := os.ReadFile("testdata/keys.pem")
		if err != nil {
			return
		}
		for len(b) > 0 {
			k, rest, err := parseOnePEM(b)
			if err != nil {
				break
			}
			keyList = append(keyList, k)
			b = rest
		}
	})
	if i >= len(keyList) {
		t.Fatalf("need test key %d, have %d (testdata/keys.pem)", i, len(keyList))
	}
	return keyList[i]
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func grid(n int) ([]*mem.Server, []storage.Server) { return mem.NewGrid(n) }

func opts(f cap.Format, key *rsa.PrivateKey) Options {
	return Options{Format: f, K: 3, N: 10, Key: key, LeaseSecret: []byte("lease secret for tests........."), Logger: quiet}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	seg := MaxSegmentSize + 2 // next_multiple(128 KiB, 3)
	cases := []struct {
		format cap.Format
		size   int
	}{
		{cap.SDMF, 0}, {cap.SDMF, 1}, {cap.SDMF, 2}, {cap.SDMF, 3}, {cap.SDMF, 1000}, {cap.SDMF, seg + 1},
		{cap.MDMF, 0}, {cap.MDMF, 1}, {cap.MDMF, seg - 1}, {cap.MDMF, seg}, {cap.MDMF, seg + 1}, {cap.MDMF, 3*seg + 5},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%v-%d", c.format, c.size), func(t *testing.T) {
			_, servers := grid(10)
			data := random(c.size)
			f, err := Create(ctx, servers, data, opts(c.format, testKey(t, i%4)))
			if err != nil {
				t.Fatal(err)
			}
			for _, capstr := range []string{f.WriteCap(), f.ReadCap()} {
				g, err := Open(capstr, servers, Options{Logger: quiet})
				if err != nil {
					t.Fatal(err)
				}
				got, ver, err := g.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("read %d bytes, differ from the %d written", len(got), len(data))
				}
				if ver.Seqnum != 1 {
					t.Fatalf("seqnum %d, want 1", ver.Seqnum)
				}
			}
			// Replace and read the new version.
			data2 := random(c.size/2 + 7)
			g, _ := Open(f.WriteCap(), servers, Options{})
			_, v1, _ := g.Read(ctx)
			v2, err := g.Replace(ctx, data2, v1)
			if err != nil {
				t.Fatal(err)
			}
			got, ver, err := f.Read(ctx)
			if err != nil || !bytes.Equal(got, data2) || ver != v2 || ver.Seqnum != 2 {
				t.Fatalf("after replace: err %v, equal %v, version %v want %v", err, bytes.Equal(got, data2), ver, v2)
			}
		})
	}
}

func parseOnePEM(b []byte) (*rsa.PrivateKey, []byte, error) {
	i := bytes.Index(b, []byte("-----END RSA PRIVATE KEY-----"))
	if i < 0 {
		return nil, nil, errors.New("no more keys")
	}
	end := i + len("-----END RSA PRIVATE KEY-----")
	k, err := ParsePEM(b[:end])
	return k, bytes.TrimLeft(b[end:], "\n"), err
}

func TestKeyPool(t *testing.T) {
	if testing.Short() {
		t.Skip("generates RSA keys")
	}
	p := NewKeyPool(1)
	defer p.Close()
	_, servers := grid(4)
	f, err := Create(context.Background(), servers, []byte("pooled"), Options{Format: cap.MDMF, K: 2, N: 4, Pool: p, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := f.Read(context.Background()); err != nil || string(got) != "pooled" {
		t.Fatalf("%q %v", got, err)
	}
}
