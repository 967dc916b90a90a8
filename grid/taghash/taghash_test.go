package taghash

import (
	"testing"

	"github.com/lafssync/lafssync/grid/base32"
)

// Known answers from Tahoe's src/allmydata/test/test_hashutil.py
// (as recorded in ../shared/reference/formats.md §8.2).
func TestTahoeKnownAnswers(t *testing.T) {
	seed, err := base32.Decode("u33m4y7klhz3bypswqkozwetvabelhxt")
	if err != nil {
		t.Fatal(err)
	}
	th := Tagged("tag", []byte("hello world"))
	tp := TaggedPair("tag", []byte("hello"), []byte("world"))
	ch, _ := NewConvergence(3, 10, 100, []byte("converge"))
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"tagged_hash", th[:], "yra322btzoqjp4ts2jon5dztgnilcdg6jgztgk7joi6qpjkitg2q"},
		{"tagged_pair_hash", tp[:], "wmto44q3shtezwggku2fxztfkwibvznkfu6clatnvfog527sb6dq"},
		{"convergence", keyOf(ch), "3mo6ni7xweplycin6nowynw2we"},
		{"block_hash", h(BlockHash(nil)), "msjr5bh4evuh7fa3zw7uovixfbvlnstr5b65mrerwfnvjxig2jvq"},
		{"uri_extension_hash", h(UEBHash(nil)), "wthsu45q7zewac2mnivoaa4ulh5xvbzdmsbuyztq2a5fzxdrnkka"},
		{"crypttext_hash", h(Tagged(TagCrypttext, nil)), "itdj6e4njtkoiavlrmxkvpreosscssklunhwtvxn6ggho4rkqwga"},
		{"crypttext_segment_hash", h(CrypttextSegmentHash(nil)), "aovy5aa7jej6ym5ikgwyoi4pxawnoj3wtaludjz7e2nb5xijb7aa"},
		{"my_renewal_secret_hash", h(ClientRenewalSecret(nil)), "ujhr5k5f7ypkp67jkpx6jl4p47pyta7hu5m527cpcgvkafsefm6q"},
		{"file_renewal_secret_hash", h(FileRenewalSecret(nil, []byte("si"))), "hzshk2kf33gzbd5n3a6eszkf6q6o6kixmnag25pniusyaulqjnia"},
		{"bucket_renewal_secret_hash", h(BucketRenewalSecret(nil, make([]byte, 20))), "e7imrzgzaoashsncacvy3oysdd2m5yvtooo4gmj4mjlopsazmvuq"},
		{"ssk_writekey_hash", k(SSKWriteKey(nil)), "ykpgmdbpgbb6yqz5oluw2q26ye"},
		{"ssk_readkey_hash", k(SSKReadKey(nil)), "vugid4as6qbqgeq2xczvvcedai"},
		{"ssk_storage_index_hash", k(SSKStorageIndex(nil)), "j7icz6kigb6hxrej3tv4z7ayym"},
		{"ssk_pubkey_fingerprint_hash", h(SSKFingerprint(nil)), "3opzw4hhm2sgncjx224qmt5ipqgagn7h5zivnfzqycvgqgmgz35q"},
		{"permute_server_hash", p(PermuteServer([]byte("SI"), seed)), "kb4354zeeurpo3ze5e275wzbynm6hlap"},
	}
	for _, c := range cases {
		if got := base32.Encode(c.got); got != c.want {
			t.Errorf("%s = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestConvergenceRejectsBadParams(t *testing.T) {
	for _, kn := range [][2]int{{0, 1}, {4, 3}, {1, 257}} {
		if _, err := NewConvergence(kn[0], kn[1], 100, nil); err == nil {
			t.Errorf("k=%d n=%d accepted", kn[0], kn[1])
		}
	}
}

func TestNetstring(t *testing.T) {
	if got := string(Netstring([]byte("abc"))); got != "3:abc," {
		t.Errorf("got %q", got)
	}
	if got := string(Netstring(nil)); got != "0:," {
		t.Errorf("got %q", got)
	}
}

func h(x [HashSize]byte) []byte { return x[:] }
func k(x [KeySize]byte) []byte  { return x[:] }
func p(x [20]byte) []byte       { return x[:] }
func keyOf(c *Hasher) []byte    { x := c.Key(); return x[:] }
