package fec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"os"
	"reflect"
	"testing"
)

func TestParityRowsKnown(t *testing.T) {
	// From ../shared/reference/fec.md: k=3, n=5.
	want := [][]byte{{15, 8, 6}, {45, 48, 28}}
	if got := ParityRows(3, 5); !reflect.DeepEqual(got, want) {
		t.Errorf("ParityRows(3,5) = %v, want %v", got, want)
	}
}

func pieces(k, n, size int) [][]byte {
	out := make([][]byte, n)
	for j := 0; j < n; j++ {
		out[j] = make([]byte, size)
		if j < k {
			for i := range out[j] {
				out[j][i] = byte(i*31 + j*7 + k + n)
			}
		}
	}
	return out
}

// TestMatchesZfec compares with parity computed by python3-zfec (testdata/README.md).
func TestMatchesZfec(t *testing.T) {
	raw, err := os.ReadFile("testdata/zfec-golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		K, N, Size  int
		Parity      string `json:"parity_sha256"`
		FirstParity string `json:"first_parity"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 10 {
		t.Fatalf("only %d golden cases", len(cases))
	}
	for _, c := range cases {
		code, err := New(c.K, c.N)
		if err != nil {
			t.Fatal(err)
		}
		sh := pieces(c.K, c.N, c.Size)
		if err := code.Encode(sh); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(bytes.Join(sh[c.K:], nil))
		if hex.EncodeToString(sum[:]) != c.Parity {
			t.Errorf("k=%d n=%d: parity differs from zfec", c.K, c.N)
		}
		if c.K < c.N && hex.EncodeToString(sh[c.K]) != c.FirstParity {
			t.Errorf("k=%d n=%d: first parity block %x, zfec %s", c.K, c.N, sh[c.K], c.FirstParity)
		}
	}
}

func TestDecodeAnyK(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, kn := range [][2]int{{1, 1}, {1, 3}, {2, 3}, {3, 10}, {7, 12}, {20, 30}, {101, 256}} {
		k, n := kn[0], kn[1]
		code, err := New(k, n)
		if err != nil {
			t.Fatal(err)
		}
		orig := make([][]byte, n)
		for i := range orig {
			orig[i] = make([]byte, 37)
			if i < k {
				rng.Read(orig[i])
			}
		}
		if err := code.Encode(orig); err != nil {
			t.Fatal(err)
		}
		for trial := 0; trial < 20; trial++ {
			got := make([][]byte, n)
			for _, i := range rng.Perm(n)[:k] {
				got[i] = bytes.Clone(orig[i])
			}
			if err := code.Decode(got); err != nil {
				t.Fatalf("k=%d n=%d: %v", k, n, err)
			}
			for i := 0; i < k; i++ {
				if !bytes.Equal(got[i], orig[i]) {
					t.Fatalf("k=%d n=%d: piece %d wrong after decode", k, n, i)
				}
			}
		}
		short := make([][]byte, n)
		for i := 0; i < k-1; i++ {
			short[i] = orig[i]
		}
		if err := code.Decode(short); err == nil {
			t.Errorf("k=%d n=%d: decode with k-1 shares succeeded", k, n)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for _, kn := range [][2]int{{0, 1}, {3, 2}, {1, 257}, {-1, 3}} {
		if _, err := New(kn[0], kn[1]); err == nil {
			t.Errorf("New(%d,%d) accepted", kn[0], kn[1])
		}
	}
}

func BenchmarkEncode3of10(b *testing.B) {
	code, _ := New(3, 10)
	sh := pieces(3, 10, 43691)
	b.SetBytes(3 * 43691)
	for b.Loop() {
		code.Encode(sh)
	}
}
