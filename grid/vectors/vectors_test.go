package vectors

import (
	"context"
	"os"
	"testing"
)

func TestTahoeCHKVectors(t *testing.T) {
	fh, err := os.Open("../../testdata/vectors/tahoe/vectors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := Load(fh)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for i := range f.Vectors {
		if f.Vectors[i].Kind() == "chk" {
			want++
		}
	}
	// The upstream file at the recorded commit has 96 CHK vectors.
	if want < 96 {
		t.Fatalf("only %d CHK vectors in the file", want)
	}
	chkRun := 0
	s, err := f.Run(context.Background(), Options{}, func(r Result) {
		if r.Kind == "chk" && r.Status != Skipped {
			chkRun++
		}
		if r.Status == Mismatch || r.Status == Failed {
			t.Errorf("vector %d (%s, %d bytes): %s %s: got %s", r.Index, r.Kind, r.Length, r.Status, r.Reason, r.Computed)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if chkRun != want || s.Passed < chkRun {
		t.Errorf("summary %+v, CHK run %d", s, chkRun)
	}
}
