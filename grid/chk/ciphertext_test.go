package chk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lafssync/lafssync/grid/taghash"
)

// Encoding the ciphertext gives the same shares, byte for byte, as
// encoding the plaintext with its key; the hasher's sums are the UEB's,
// and CheckUEB accepts that UEB and nothing else.
func TestEncodeCiphertextMatchesEncode(t *testing.T) {
	for _, tc := range []struct {
		size   int
		k, n   int
		maxSeg int64
	}{
		{56, 3, 10, DefaultMaxSegmentSize},
		{1000, 1, 1, DefaultMaxSegmentSize},
		{300_001, 3, 10, 128 << 10},
		{65_536*4 + 1, 4, 7, 65_536},
	} {
		t.Run(fmt.Sprintf("%d-%d-of-%d", tc.size, tc.k, tc.n), func(t *testing.T) {
			data := make([]byte, tc.size)
			for i := range data {
				data[i] = byte(i*7 + i/251)
			}
			res, plainShares := encode(t, data, tc.k, tc.n, tc.maxSeg)
			ct := make([]byte, len(data))
			NewCTR(res.Ref.Key, 0).XORKeyStream(ct, data)

			ctShares := newMem()
			cres, err := EncodeCiphertext(bytes.NewReader(ct), res.Layout, ctShares)
			if err != nil {
				t.Fatal(err)
			}
			if cres.Ref.UEBHash != res.Ref.UEBHash || !bytes.Equal(cres.UEB, res.UEB) {
				t.Fatal("UEB differs between plaintext and ciphertext encoding")
			}
			if cres.Ref.Key != ([16]byte{}) {
				t.Fatal("ciphertext encoder reports a key")
			}
			for sh := 0; sh < tc.n; sh++ {
				if !bytes.Equal(ctShares.data[sh], plainShares.data[sh]) {
					t.Fatalf("share %d differs", sh)
				}
			}

			h := NewCiphertextHasher(res.Layout)
			for off := 0; off < len(ct); off += 10_007 { // writes that straddle segments
				if _, err := h.Write(ct[off:min(off+10_007, len(ct))]); err != nil {
					t.Fatal(err)
				}
			}
			whole, root, err := h.Sums()
			if err != nil {
				t.Fatal(err)
			}
			u, _ := ParseUEB(res.UEB)
			if whole != u.CrypttextHash || root != u.CrypttextRootHash {
				t.Fatal("hasher sums differ from the UEB's")
			}
			if err := CheckUEB(res.UEB, res.Layout, whole, root); err != nil {
				t.Fatalf("CheckUEB rejects the file's own UEB: %v", err)
			}
			bad := whole
			bad[0] ^= 1
			if err := CheckUEB(res.UEB, res.Layout, bad, root); !errors.Is(err, ErrUEBMismatch) {
				t.Fatalf("CheckUEB with another crypttext hash: %v", err)
			}
			other, _ := NewLayout(res.Layout.Size+1, tc.k, tc.n, tc.maxSeg)
			if err := CheckUEB(res.UEB, other, whole, root); !errors.Is(err, ErrUEBMismatch) {
				t.Fatalf("CheckUEB with another size: %v", err)
			}
			if _, err := h.Write([]byte{0}); err == nil {
				t.Fatal("hasher accepted bytes past the end")
			}

			got, err := ReadUEBUnverified(context.Background(), src(plainShares.data[tc.n-1]), tc.n-1)
			if err != nil || taghash.UEBHash(got) != res.Ref.UEBHash {
				t.Fatalf("ReadUEBUnverified: %v", err)
			}
		})
	}
}

func TestCheckUEBRejectsExtraKeys(t *testing.T) {
	res, _ := encode(t, bytes.Repeat([]byte("x"), 5000), 3, 10, DefaultMaxSegmentSize)
	u, _ := ParseUEB(res.UEB)
	u.Extra["plaintext_hash"] = make([]byte, 32)
	if err := CheckUEB(u.Pack(), res.Layout, u.CrypttextHash, u.CrypttextRootHash); !errors.Is(err, ErrUEBMismatch) {
		t.Fatalf("extra key accepted: %v", err)
	}
	if err := CheckUEB([]byte("garbage"), res.Layout, u.CrypttextHash, u.CrypttextRootHash); !errors.Is(err, ErrUEBMismatch) {
		t.Fatalf("garbage accepted: %v", err)
	}
}

func TestCiphertextHasherShort(t *testing.T) {
	l, _ := NewLayout(100, 3, 10, DefaultMaxSegmentSize)
	h := NewCiphertextHasher(l)
	h.Write(make([]byte, 99))
	if _, _, err := h.Sums(); err == nil {
		t.Fatal("sums of a short ciphertext")
	}
}
