package mutable

import (
	"os"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/vectors"
)

// Every SDMF and MDMF vector of Tahoe's interoperability file: the cap
// depends only on the RSA key, which the vector supplies.
func TestTahoeMutableVectors(t *testing.T) {
	f, err := os.Open("../../testdata/vectors/tahoe/vectors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vf, err := vectors.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range vf.Vectors {
		v := &vf.Vectors[i]
		if v.Format.Kind != "ssk" {
			continue
		}
		got, err := VectorCap(v)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if got != v.Expected {
			t.Errorf("vector %d (%s): %s, Tahoe %s", i, v.Kind(), got, v.Expected)
		}
		n++
	}
	if n != 192 {
		t.Errorf("checked %d mutable vectors, want 192", n)
	}
}

func TestParsePEMRejects(t *testing.T) {
	for _, in := range []string{"", "not pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"} {
		if _, err := ParsePEM([]byte(in)); err == nil {
			t.Errorf("accepted %q", in)
		}
	}
}

func TestGenerateKeysRoundTrip(t *testing.T) {
	k, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	c := k.WriteCap(cap.MDMF)
	back, err := cap.Parse(c.String())
	if err != nil || !strings.HasPrefix(back.String(), "URI:MDMF:") {
		t.Fatal(err)
	}
	ro := back.ReadOnly().(*cap.MutableRO)
	if ro.ReadKey != k.ReadKey {
		t.Error("read key derived from the cap differs from the key's")
	}
}
