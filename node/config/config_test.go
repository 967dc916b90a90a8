package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := map[string]uint64{"5000": 5000, "100MB": 100e6, "10G": 10e9, "1GiB": 1 << 30, "2.5T": 2.5e12, "1k": 1000, "0": 0, "64KiB": 64 << 10}
	for in, want := range cases {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "ten", "-5", "1Q", "1iB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
	for _, n := range []uint64{0, 1, 1000, 10e9, 123456} {
		if got, _ := ParseSize(FormatSize(n)); got != n {
			t.Errorf("FormatSize(%d) = %q does not read back", n, FormatSize(n))
		}
	}
}

func TestLoadErrorsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) { os.WriteFile(filepath.Join(dir, File), []byte(s), 0o600) }
	write("[storage]\nenabled = maybe\n")
	_, err := Load(dir)
	var ce *Error
	if !errors.As(err, &ce) || ce.Section != "storage" || ce.Key != "enabled" || !strings.Contains(err.Error(), "tahoe.cfg") {
		t.Errorf("bad boolean: %v", err)
	}
	write("[storage]\nreserved_space = lots\n")
	if _, err := Load(dir); !errors.As(err, &ce) || ce.Key != "reserved_space" {
		t.Errorf("bad size: %v", err)
	}
	write("[client]\nshares.needed = 5\nshares.happy = 3\n")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "shares.needed (5) <= shares.happy") {
		t.Errorf("k > happy: %v", err)
	}
	write("[node]\ntub.port = udp:5\n")
	if _, err := Load(dir); !errors.As(err, &ce) || ce.Key != "tub.port" {
		t.Errorf("bad tub.port: %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "lafs create-node") {
		t.Errorf("missing file: %v", err)
	}
}

func TestSaveKeepsCommentsAndUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, File), []byte("# my node\n[node]\nnickname = old\n[helper]\nenabled = false\n"), 0o600)
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Nickname, c.StorageEnabled, c.ReservedSpace = "new", true, 10e9
	if err := Save(dir, c); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, File))
	for _, want := range []string{"# my node", "[helper]", "nickname", "new", "reserved_space = 10G"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("saved file lacks %q:\n%s", want, b)
		}
	}
	c2, err := Load(dir)
	if err != nil || c2 != c {
		t.Errorf("round trip: %+v vs %+v (%v)", c2, c, err)
	}
}

func TestLocationAndPort(t *testing.T) {
	h, p, err := ParseLocation("tor:abc.onion:80,tcp:example.org:3457")
	if err != nil || h != "example.org" || p != 3457 {
		t.Errorf("%s %d %v", h, p, err)
	}
	h, p, err = ParseTubPort("tcp:3457:interface=127.0.0.1")
	if err != nil || h != "127.0.0.1" || p != 3457 {
		t.Errorf("%s %d %v", h, p, err)
	}
}

func TestIdentityAndServersYAML(t *testing.T) {
	dir := t.TempDir()
	id, err := CreateIdentity(dir, func() ([]byte, error) { return []byte("PEM"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateIdentity(dir, func() ([]byte, error) { return []byte("PEM"), nil }); err == nil {
		t.Error("CreateIdentity replaced existing keys")
	}
	back, err := LoadIdentity(dir)
	if err != nil || back.ServerID() != id.ServerID() || back.Swissnum != id.Swissnum || string(back.Secret) != string(id.Secret) {
		t.Fatalf("identity round trip: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "private", "secret")); st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v", st.Mode())
	}
	if !strings.HasPrefix(id.ServerID(), "v0-") || len(id.ServerID()) != 55 {
		t.Errorf("server id %q", id.ServerID())
	}
	a := Announcement{Nickname: "n", FURL: "pb://u62vr3fz272ighdap34uu6za6jiqa3iz@tcp:127.0.0.1:1/s", NURLs: []string{"pb://x@h:1/s#v=1"}, PermutationSeed: "aa"}
	b, err := MarshalServers(map[string]Announcement{"v0-x": a})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(ServersPath(dir), b, 0o600)
	got, err := LoadServers(dir)
	if err != nil || got["v0-x"].FURL != a.FURL || got["v0-x"].NURLs[0] != a.NURLs[0] {
		t.Fatalf("servers.yaml round trip: %+v %v", got, err)
	}
	if !strings.Contains(string(b), "anonymous-storage-NURLs:") || !strings.Contains(string(b), "permutation-seed-base32:") {
		t.Errorf("servers.yaml keys:\n%s", b)
	}
	if seed, err := a.LeaseSeed(); err != nil || seed == [20]byte{} {
		t.Errorf("lease seed: %v", err)
	}
	a.FURL = "pb://nope@x/y"
	if _, err := a.LeaseSeed(); err == nil {
		t.Error("bad FURL accepted")
	}
}

func TestIntroducers(t *testing.T) {
	dir := t.TempDir()
	if err := SaveIntroducers(dir, map[string]string{"a": "lafs://x@h:1", "b": "lafs://y@h:2"}); err != nil {
		t.Fatal(err)
	}
	got, err := LoadIntroducers(dir)
	if err != nil || len(got) != 2 || got["a"] != "lafs://x@h:1" || got["b"] != "lafs://y@h:2" {
		t.Fatalf("LoadIntroducers = %v, %v", got, err)
	}
	// tahoe.cfg's [client] introducer.furl is petname "default".
	os.WriteFile(filepath.Join(dir, File), []byte("[client]\nintroducer.furl = lafs://z@h:3\n"), 0o600)
	got, err = LoadIntroducers(dir)
	if err != nil || len(got) != 3 || got["default"] != "lafs://z@h:3" {
		t.Fatalf("with tahoe.cfg: %v, %v", got, err)
	}
	SaveIntroducers(dir, map[string]string{"default": "lafs://w@h:4"})
	if _, err := LoadIntroducers(dir); err == nil || !strings.Contains(err.Error(), "keep one") {
		t.Fatalf("default in both places: %v", err)
	}
	os.WriteFile(IntroducersPath(dir), []byte("introducers:\n  x: {}\n"), 0o600)
	if _, err := LoadIntroducers(dir); err == nil || !strings.Contains(err.Error(), "has no furl") {
		t.Fatalf("entry without furl: %v", err)
	}
}

func TestReachability(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, File), []byte("[node]\nreachability = outbound-only\n[introducer]\nenabled = true\n"), 0o600)
	c, err := Load(dir)
	if err != nil || !c.OutboundOnly || !c.Introducer {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	os.WriteFile(filepath.Join(dir, File), []byte("[node]\ntimeout.keepalive = 240\n"), 0o600)
	if c, err := Load(dir); err != nil || c.KeepAlive != 240*time.Second {
		t.Fatalf("timeout.keepalive: %v, %v", c.KeepAlive, err)
	}
	os.WriteFile(filepath.Join(dir, File), []byte("[node]\ntimeout.keepalive = soon\n"), 0o600)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "seconds") {
		t.Fatalf("bad timeout.keepalive: %v", err)
	}
	os.WriteFile(filepath.Join(dir, File), []byte("[node]\nreachability = sometimes\n"), 0o600)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "outbound-only") {
		t.Fatalf("bad reachability: %v", err)
	}
}
