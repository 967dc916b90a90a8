package dirnode

import (
	"encoding/json"
	"math"
	"testing"
)

// The expected strings were printed by CPython 3's json.dumps with its
// defaults (what Tahoe's jsonbytes.dumps calls), e.g.
//
//	python3 -c 'import json; print(json.dumps({"a": 1.5e-07, ...}))'
//
// with keys given in sorted order.
func TestMetadataJSONMatchesPython(t *testing.T) {
	cases := []struct {
		name string
		in   map[string]any
		want string
	}{
		{"empty", map[string]any{}, `{}`},
		{"mixed", map[string]any{
			"a":     1.5e-07,
			"b":     "é😀\n\x01/<>",
			"c":     1700000000.123456,
			"d":     1e16 + 2.0,
			"e":     []any{true, nil, 0.0001},
			"tahoe": map[string]any{"linkcrtime": 1246663897.4275661, "linkmotime": 12.5},
		}, `{"a": 1.5e-07, "b": "\u00e9\ud83d\ude00\n\u0001/<>", "c": 1700000000.123456, "d": 1.0000000000000002e+16, "e": [true, null, 0.0001], "tahoe": {"linkcrtime": 1246663897.427566, "linkmotime": 12.5}}`},
		// Whole numbers stay integers (sizes), as Python writes ints.
		{"integers", map[string]any{"lafssync": map[string]any{"size": 56.0, "n": int64(-3), "raw": json.Number("12")}},
			`{"lafssync": {"n": -3, "raw": 12, "size": 56}}`},
		{"struct", map[string]any{"s": struct {
			X int    `json:"x"`
			Y string `json:"y"`
		}{7, "ü"}}, `{"s": {"x": 7, "y": "\u00fc"}}`},
	}
	for _, c := range cases {
		got, err := marshalMetadata(c.in)
		if err != nil || string(got) != c.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", c.name, got, err, c.want)
		}
		// Whatever we write, Go's reader takes back.
		var back map[string]any
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestMetadataJSONRejectsNonFinite(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1)} {
		if _, err := marshalMetadata(map[string]any{"x": f}); err == nil {
			t.Errorf("%v accepted", f)
		}
	}
	deep := map[string]any{}
	cur := deep
	for i := 0; i < 100; i++ {
		next := map[string]any{}
		cur["x"] = next
		cur = next
	}
	if _, err := marshalMetadata(deep); err == nil {
		t.Error("100 levels of nesting accepted")
	}
}
