package base32

import (
	"bytes"
	"testing"
)

func TestKnownAnswers(t *testing.T) {
	// RFC 4648 §10 test vectors, lowercased and unpadded.
	cases := map[string]string{
		"": "", "f": "my", "fo": "mzxq", "foo": "mzxw6", "foob": "mzxw6yq",
		"fooba": "mzxw6ytb", "foobar": "mzxw6ytboi",
	}
	for in, want := range cases {
		if got := Encode([]byte(in)); got != want {
			t.Errorf("Encode(%q) = %q, want %q", in, got, want)
		}
		got, err := Decode(want)
		if err != nil || string(got) != in {
			t.Errorf("Decode(%q) = %q, %v; want %q", want, got, err, in)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, s := range []string{"MZXQ", "mzx", "m", "mzxw6y", "my!", "mz", "mzxr"} {
		if _, err := Decode(s); err == nil {
			t.Errorf("Decode(%q) accepted a malformed string", s)
		}
	}
	if _, err := DecodeFixed("mzxq", 3); err == nil {
		t.Error("DecodeFixed accepted the wrong length")
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "my", "mzxw6ytboi", "aaaa", "7777777"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Decode(s)
		if err != nil {
			return
		}
		if Encode(b) != s {
			t.Fatalf("Decode(%q) accepted a non-canonical spelling of %x", s, b)
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(Encode(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip of %x: %x, %v", b, got, err)
		}
	})
}
