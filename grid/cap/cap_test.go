package cap

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
)

// Caps that Tahoe itself wrote. Sources: ../shared/vectors/tahoe/vectors.yaml
// (CHK, SSK, MDMF) and src/allmydata/test/test_dirnode.py /
// test_client.py of tahoe-lafs/tahoe-lafs at f002fd0d27d9.
var tahoeCaps = []string{
	"URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56",
	"URI:CHK:n7r3m6wmomelk4sep3kw5cvduq:os7ijw5c3maek7pg65e5254k2fzjflavtpejjyhshpsxuqzhcwwq:3:20:14861",
	"URI:LIT:n5xgk",
	"URI:SSK:vfvcbdfbszyrsaxchgevhmmlii:euw4iw7bbnkrrwpzuburbhppuxhc3gwxv26f6imekhz7zyw2ojnq",
	"URI:SSK-RO:jf6wkflosyvntwxqcdo7a54jvm:euw4iw7bbnkrrwpzuburbhppuxhc3gwxv26f6imekhz7zyw2ojnq",
	"URI:MDMF:x533rhbm6kiehzl5kj3s44n5ie:4gif5rhneyd763ouo5qjrgnsoa3bg43xycy4robj2rf3tvmhdl3a",
	"URI:MDMF-RO:d4cydxselputycfzkw6qgz4zv4:4gif5rhneyd763ouo5qjrgnsoa3bg43xycy4robj2rf3tvmhdl3a",
	"URI:DIR2:n6x24zd3seu725yluj75q5boaa:mm6yoqjhl6ueh7iereldqxue4nene4wl7rqfjfybqrehdqmqskvq",
	"URI:DIR2-RO:b7sr5qsifnicca7cbk3rhrhbvq:mm6yoqjhl6ueh7iereldqxue4nene4wl7rqfjfybqrehdqmqskvq",
	"URI:DIR2-LIT:",
	"URI:DIR2-LIT:gqytunj2onug64tufqzdcosvkjetutcjkq5gw4tvm5vwszdgnz5hgyzufqydulbshj5x2lbm",
}

func TestRoundTripTahoeCaps(t *testing.T) {
	caps := append([]string{}, tahoeCaps...)
	caps = append(caps, vectorCaps(t)...)
	if len(caps) < 200 {
		t.Fatalf("only %d caps", len(caps))
	}
	for _, s := range caps {
		c, err := Parse(s)
		if err != nil {
			t.Errorf("Parse: %v", err)
			continue
		}
		if c.String() != s {
			t.Errorf("round trip: %s -> %s", s, c.String())
		}
		for _, d := range []Cap{c.ReadOnly(), c.Verifier()} {
			if d == nil {
				continue
			}
			again, err := Parse(d.String())
			if err != nil || again.String() != d.String() {
				t.Errorf("derived cap %s does not round-trip: %v", d, err)
			}
		}
	}
}

func vectorCaps(t *testing.T) []string {
	f, err := os.Open("../../testdata/vectors/tahoe/vectors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "expected: "); ok {
			out = append(out, s)
		}
	}
	return out
}

// Derivations checked against pairs Tahoe wrote in its own tests
// (test_dirnode.py: mut_write_uri/mut_read_uri, mdmf_write_uri/mdmf_read_uri,
// _make_kids dirwrite/dirread) and formats.md §8.3 (CHK key → storage index).
func TestDerivationsMatchTahoe(t *testing.T) {
	pairs := [][2]string{
		{"URI:SSK:vfvcbdfbszyrsaxchgevhmmlii:euw4iw7bbnkrrwpzuburbhppuxhc3gwxv26f6imekhz7zyw2ojnq",
			"URI:SSK-RO:jf6wkflosyvntwxqcdo7a54jvm:euw4iw7bbnkrrwpzuburbhppuxhc3gwxv26f6imekhz7zyw2ojnq"},
		{"URI:MDMF:x533rhbm6kiehzl5kj3s44n5ie:4gif5rhneyd763ouo5qjrgnsoa3bg43xycy4robj2rf3tvmhdl3a",
			"URI:MDMF-RO:d4cydxselputycfzkw6qgz4zv4:4gif5rhneyd763ouo5qjrgnsoa3bg43xycy4robj2rf3tvmhdl3a"},
		{"URI:DIR2:n6x24zd3seu725yluj75q5boaa:mm6yoqjhl6ueh7iereldqxue4nene4wl7rqfjfybqrehdqmqskvq",
			"URI:DIR2-RO:b7sr5qsifnicca7cbk3rhrhbvq:mm6yoqjhl6ueh7iereldqxue4nene4wl7rqfjfybqrehdqmqskvq"},
	}
	for _, p := range pairs {
		c, err := Parse(p[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ReadOnly().String(); got != p[1] {
			t.Errorf("read-only of %s = %s, Tahoe says %s", p[0], got, p[1])
		}
		ro, _ := Parse(p[1])
		si1, _ := c.StorageIndex()
		si2, _ := ro.StorageIndex()
		if si1 != si2 {
			t.Errorf("write and read cap disagree on the storage index")
		}
	}
	c, _ := Parse("URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56")
	want := "URI:CHK-Verifier:i5nhq74zw2crkop634ra4hrvzm:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56"
	if got := c.Verifier().String(); got != want {
		t.Errorf("CHK verifier %s, want %s", got, want)
	}
	lit, _ := Parse("URI:LIT:n5xgk")
	if string(lit.(*LIT).Data) != "one" || lit.Verifier() != nil {
		t.Errorf("LIT: %+v", lit)
	}
}

func TestKindsAndFlags(t *testing.T) {
	cases := []struct {
		cap                 string
		kind                Kind
		mutable, ro, dir    bool
		hasRead, hasVerifer bool
	}{
		{tahoeCaps[0], KindCHK, false, true, false, true, true},
		{"URI:LIT:n5xgk", KindLIT, false, true, false, true, false},
		{tahoeCaps[3], KindSSK, true, false, false, true, true},
		{tahoeCaps[4], KindSSKRO, true, true, false, true, true},
		{tahoeCaps[7], KindDir, true, false, true, true, true},
		{"URI:DIR2-LIT:", KindDirLIT, false, true, true, true, false},
	}
	for _, c := range cases {
		x, err := Parse(c.cap)
		if err != nil {
			t.Fatal(err)
		}
		if x.Kind() != c.kind || x.IsMutable() != c.mutable || x.IsReadOnly() != c.ro || x.IsDir() != c.dir ||
			(x.ReadOnly() != nil) != c.hasRead || (x.Verifier() != nil) != c.hasVerifer {
			t.Errorf("%s: kind %s mutable %v ro %v dir %v", c.kind, x.Kind(), x.IsMutable(), x.IsReadOnly(), x.IsDir())
		}
	}
	v, _ := Parse(tahoeCaps[7])
	vc := v.Verifier()
	if vc.Kind() != KindDirVerifier || vc.ReadOnly() != nil {
		t.Errorf("dir verifier: %s", vc.Kind())
	}
}

func TestMalformed(t *testing.T) {
	good := tahoeCaps[0]
	cases := map[string]string{
		"":             `does not start with "URI:"`,
		"x":            `does not start with "URI:"`,
		"URI":          `does not start with "URI:"`,
		"URI:CHK":      "no ':' after the kind",
		"URI:NOPE:abc": "unknown cap kind",
		"ro." + good:   "only valid inside directories",
		"URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1":                      "want 5 fields",
		"URI:CHK:yzxcoagbetwet65ltjpbqyli3:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56":                    "key is 25 characters, want 26",
		"URI:CHK:YZXCOAGBETWET65LTJPBQYLI3M:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56":                   "key is not valid base32",
		"URI:CHK:yzxcoagbetwet65ltjpbqyli3n:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56":                   "non-zero padding bits",
		"URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7b:1:1:56":                   "UEB hash is not valid base32",
		"URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:0:1:56":                   "need 1 <= k <= n",
		"URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:4:3:56":                   "need 1 <= k <= n",
		"URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:257:56":                 "n \"257\" is out of range",
		"URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:-5":                   "not a decimal number",
		"URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:01:1:56":                  "leading zero",
		"URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:":                     "size is empty",
		"URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:99999999999999999999": "out of range",
		"URI:SSK:vfvcbdfbszyrsaxchgevhmmlii": "want 2 fields",
		"URI:SSK:vfvcbdfbszyrsaxchgevhmmlii:euw4iw7bbnkrrwpzuburbhppuxhc3gwxv26f6imekhz7zyw2ojnq:x": "want 2 fields",
		"URI:DIR2:vfvcbdfbszyrsaxchgevhmmlii:short":                                                 "malformed DIR2 cap: fingerprint is 5 characters",
		"URI:LIT:1": "data is not valid base32",
	}
	for in, want := range cases {
		_, err := Parse(in)
		var ce *Error
		if err == nil || !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.40q): %v; want error containing %q", in, err, want)
		}
		if err != nil && len(in) > 30 && strings.Contains(err.Error(), in[8:30]) {
			t.Errorf("error message leaks the cap text: %v", err)
		}
	}
}

func TestMDMFExtraFieldsDropped(t *testing.T) {
	s := "URI:MDMF:x533rhbm6kiehzl5kj3s44n5ie:4gif5rhneyd763ouo5qjrgnsoa3bg43xycy4robj2rf3tvmhdl3a"
	c, err := Parse(s + ":3:131073")
	if err != nil || c.String() != s {
		t.Errorf("MDMF with hints: %v %v", c, err)
	}
}

func TestParseChild(t *testing.T) {
	if c := ParseChild("ro." + tahoeCaps[4]); c.Kind() != KindSSKRO {
		t.Errorf("ro. read cap: %s", c.Kind())
	}
	if c := ParseChild("ro." + tahoeCaps[3]); c.Kind() != KindUnknown {
		t.Errorf("ro. on a write cap accepted as %s", c.Kind())
	}
	if c := ParseChild("imm." + tahoeCaps[0]); c.Kind() != KindCHK {
		t.Errorf("imm. CHK: %s", c.Kind())
	}
	if c := ParseChild("imm." + tahoeCaps[4]); c.Kind() != KindUnknown {
		t.Errorf("imm. on a mutable cap accepted as %s", c.Kind())
	}
	future := "x-tahoe-crazy://I_am_from_the_future."
	if c := ParseChild(future); c.Kind() != KindUnknown || c.String() != future {
		t.Errorf("future cap: %s %q", c.Kind(), c.String())
	}
}

func TestRedaction(t *testing.T) {
	c, _ := Parse(tahoeCaps[3])
	for _, s := range []string{Redacted(c), c.LogValue().String()} {
		if strings.Contains(s, "vfvcbdfbszyrsaxchgevhmmlii") {
			t.Errorf("redacted form leaks the write key: %s", s)
		}
		if !strings.Contains(s, "SSK") {
			t.Errorf("redacted form lacks the kind: %s", s)
		}
	}
}

func TestDescribe(t *testing.T) {
	c, _ := Parse(tahoeCaps[0])
	in := Describe(c)
	if in.Kind != KindCHK || in.K != 1 || in.N != 1 || in.Size == nil || *in.Size != 56 ||
		in.StorageIndex != "i5nhq74zw2crkop634ra4hrvzm" || !strings.HasPrefix(in.VerifyCap, "URI:CHK-Verifier:") {
		t.Errorf("%+v", in)
	}
	ro, _ := Parse(tahoeCaps[8])
	in = Describe(ro)
	if in.ReadCap != tahoeCaps[8] || !in.Directory || !in.ReadOnly {
		t.Errorf("dir RO: %+v", in)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range tahoeCaps {
		f.Add(s)
	}
	f.Add("URI:CHK-Verifier:i5nhq74zw2crkop634ra4hrvzm:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56")
	f.Add("URI:DIR2-MDMF-Verifier:x533rhbm6kiehzl5kj3s44n5ie:4gif5rhneyd763ouo5qjrgnsoa3bg43xycy4robj2rf3tvmhdl3a")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			_ = ParseChild(s)
			return
		}
		again, err := Parse(c.String())
		if err != nil || again.String() != c.String() {
			t.Fatalf("accepted %q but its String %q does not round-trip: %v", s, c.String(), err)
		}
		if !strings.HasPrefix(s, "URI:MDMF") && !strings.HasPrefix(s, "URI:DIR2-MDMF") && c.String() != s {
			t.Fatalf("accepted %q as a different spelling %q", s, c.String())
		}
		if r := c.ReadOnly(); r != nil && !r.IsReadOnly() {
			t.Fatalf("read-only derivation of %q is writable", s)
		}
	})
}
