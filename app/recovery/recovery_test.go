package recovery

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/api/apitest"
)

// fast are Argon2 settings for tests (the format is the same).
var fast = Params{Time: 1, Memory: 256, Threads: 1}

const pass = "violet kettle harbour 42 glides"

// newDirCap is a fresh write cap of a directory and its read cap.
func newDirCap(t testing.TB) (write, read string) {
	t.Helper()
	wk, fp := make([]byte, 16), make([]byte, 32)
	rand.Read(wk)
	rand.Read(fp)
	w := "URI:DIR2:" + base32.Encode(wk) + ":" + base32.Encode(fp)
	c, err := cap.Parse(w)
	if err != nil {
		t.Fatal(err)
	}
	return w, c.ReadOnly().String()
}

func sampleKit(t testing.TB) *Kit {
	w1, _ := newDirCap(t)
	_, r2 := newDirCap(t)
	home, _ := newDirCap(t)
	return &Kit{V: KitVersion, Created: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), Node: "laptop",
		Grid: Grid{Introducers: map[string]string{"friends": "lafs://v0-abc@192.0.2.1:3456"}, SharesNeeded: 3, SharesHappy: 7, SharesTotal: 10},
		Folders: []Folder{
			{Name: "docs", Path: "/home/u/docs", Mode: ModeSync, Cap: w1},
			{Name: "alice's photos", Path: "/home/u/Alice", Mode: ModeFollow, Cap: r2},
		},
		Aliases: map[string]string{"home": home}}
}

func seal(t testing.TB, k *Kit) []byte {
	t.Helper()
	blob, err := sealBlob(k, pass, fast, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return textForm(blob)
}

func TestRoundTrip(t *testing.T) {
	k := sampleKit(t)
	text, err := Seal(k, pass, fast)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	if lines[0] != "LAFS-SYNC-RECOVERY-KIT 1" {
		t.Errorf("first line %q", lines[0])
	}
	for _, l := range lines[4 : len(lines)-1] {
		if !regexp.MustCompile(`^[A-Z2-7]{1,5}( [A-Z2-7]{1,5}){0,7}$`).MatchString(l) {
			t.Errorf("body line %q is not up to eight groups of five base32 characters", l)
		}
	}
	for _, f := range k.Folders {
		if bytes.Contains(text, []byte(f.Cap)) || bytes.Contains(text, []byte(f.Name)) {
			t.Fatalf("the kit shows folder %q in the clear", f.Name)
		}
	}
	got, err := Open(text, pass)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, k) {
		t.Errorf("opened\n%+v\nwant\n%+v", got, k)
	}
	// Typed back from paper: lower case, other spacing, CRLF, no comment.
	typed := strings.ToLower(strings.ReplaceAll(strings.Join(append(lines[:1], lines[4:]...), "\r\n"), " ", "  "))
	if got, err := Open([]byte(typed), pass); err != nil || !reflect.DeepEqual(got, k) {
		t.Errorf("typed back: %v", err)
	}
	// Two kits of the same contents differ (fresh salt and nonce).
	if again, _ := Seal(k, pass, fast); bytes.Equal(again, text) {
		t.Error("two seals are byte-identical")
	}
	if s := fmt.Sprint(k) + fmt.Sprintf("%v %+v", k, k.LogValue()); strings.Contains(s, "URI:") {
		t.Errorf("a kit prints a cap: %s", s)
	}
}

func TestWrongPassphrase(t *testing.T) {
	text := seal(t, sampleKit(t))
	for _, p := range []string{"violet kettle harbour 42 glide", "", "Violet kettle harbour 42 glides"} {
		if _, err := Open(text, p); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("passphrase %q: %v, want ErrWrongPassphrase", p, err)
		}
	}
}

// TestEveryByteFlipped: no changed byte of the file, nor of the blob
// with its CRC fixed up (a deliberate change), opens.
func TestEveryByteFlipped(t *testing.T) {
	k := sampleKit(t)
	k.Folders = k.Folders[:1]
	k.Aliases = map[string]string{}
	text := seal(t, k)
	for i := range text {
		if i == len(text)-1 {
			continue // the final newline (checked below)
		}
		bad := bytes.Clone(text)
		bad[i] ^= 0xff
		got, err := Open(bad, pass)
		if err == nil {
			t.Fatalf("byte %d (%q) flipped: opened %v", i, text[i], got)
		}
		if !isKitError(err) {
			t.Errorf("byte %d flipped: %v is not one of the kit errors", i, err)
		}
	}
	blob, _, err := parseText(text)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(blob)-crcLen; i++ {
		bad := bytes.Clone(blob)
		bad[i] ^= 0xff
		fixCRC(bad)
		if got, err := openBlob(bad, pass); err == nil {
			t.Fatalf("blob byte %d flipped, CRC fixed: opened %v", i, got)
		} else if !isKitError(err) {
			t.Errorf("blob byte %d: %v", i, err)
		} else if i >= headerLen && !errors.Is(err, ErrDamaged) {
			t.Errorf("ciphertext byte %d changed: %v, want ErrDamaged", i, err)
		}
	}
	// Without its final newline the kit is the same kit.
	if _, err := Open(text[:len(text)-1], pass); err != nil {
		t.Errorf("without the final newline: %v", err)
	}
}

func fixCRC(blob []byte) {
	n := len(blob) - crcLen
	binary.BigEndian.PutUint32(blob[n:], crc32.ChecksumIEEE(blob[:n]))
}

func isKitError(err error) bool {
	for _, e := range []error{ErrNotKit, ErrVersion, ErrTruncated, ErrDamaged, ErrWrongPassphrase, ErrContents} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func TestTruncated(t *testing.T) {
	text := seal(t, sampleKit(t))
	bodyStart := bytes.Index(text, []byte(comment[len(comment)-1])) + len(comment[len(comment)-1]) + 1
	for n := 0; n < len(text)-1; n++ {
		_, err := Open(text[:n], pass)
		switch {
		case err == nil:
			t.Fatalf("cut to %d of %d bytes: opened", n, len(text))
		case n >= bodyStart && !errors.Is(err, ErrTruncated):
			t.Errorf("cut to %d of %d bytes (in the body): %v, want ErrTruncated", n, len(text), err)
		case !isKitError(err):
			t.Errorf("cut to %d: %v", n, err)
		}
	}
	// A missing line of the printed text after the blob's header (the
	// fourth body line: bytes 75-99).
	lines := strings.Split(string(text), "\n")
	missing := strings.Join(append(lines[:7:7], lines[8:]...), "\n")
	if _, err := Open([]byte(missing), pass); !errors.Is(err, ErrTruncated) {
		t.Errorf("a body line left out: %v", err)
	}
}

func TestVersionsAndNotAKit(t *testing.T) {
	text := seal(t, sampleKit(t))
	newer := bytes.Replace(text, []byte("LAFS-SYNC-RECOVERY-KIT 1"), []byte("LAFS-SYNC-RECOVERY-KIT 2"), 1)
	if _, err := Open(newer, pass); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "update LAFS Sync") {
		t.Errorf("header version 2: %v", err)
	}
	blob, _, _ := parseText(text)
	blob[4] = 2
	fixCRC(blob)
	if _, err := Open(textForm(blob), pass); !errors.Is(err, ErrVersion) {
		t.Errorf("blob version 2: %v", err)
	}
	for _, s := range []string{"", "hello", "-----BEGIN PGP MESSAGE-----\n", "URI:DIR2:abc:def\n", "LAFS-SYNC-RECOVERY-KIT x\nAAAA"} {
		if _, err := Open([]byte(s), pass); !errors.Is(err, ErrNotKit) {
			t.Errorf("%q: %v, want ErrNotKit", s, err)
		}
	}
	if _, err := Open(bytes.Repeat([]byte("A"), maxText+1), pass); !errors.Is(err, ErrNotKit) {
		t.Errorf("a huge file: %v", err)
	}
}

// TestHostileParams: parameters a kit may not ask for are refused before
// any key derivation.
func TestHostileParams(t *testing.T) {
	blob, _, _ := parseText(seal(t, sampleKit(t)))
	for _, c := range []struct {
		off int
		val uint32
	}{{6, 0}, {6, maxTime + 1}, {10, maxMemory + 1}, {10, 4}} {
		bad := bytes.Clone(blob)
		binary.BigEndian.PutUint32(bad[c.off:], c.val)
		fixCRC(bad)
		start := time.Now()
		if _, err := openBlob(bad, pass); !errors.Is(err, ErrDamaged) || time.Since(start) > time.Second {
			t.Errorf("field %d = %d: %v after %v", c.off, c.val, err, time.Since(start))
		}
	}
	bad := bytes.Clone(blob)
	bad[14] = 0
	fixCRC(bad)
	if _, err := openBlob(bad, pass); !errors.Is(err, ErrDamaged) {
		t.Errorf("0 threads: %v", err)
	}
}

func TestPassphraseRule(t *testing.T) {
	for _, c := range []struct {
		p     string
		ok    bool
		level string
	}{
		{"", false, "too weak"},
		{"Tr0ub4dor&3", false, "too weak"}, // 11 characters
		{"password1234", false, "too weak"},
		{"aaaaaaaaaaaaaaaaaaaa", false, "too weak"},
		{"abcdefghijklmnopqrst", false, "too weak"},
		{"ab12cd34ef56", false, "too weak"},
		{"qwertyqwertyqwerty", false, "too weak"},
		{"kettle harbour", true, "fair"},
		{"correct horse battery staple", true, "strong"},
		{"violet kettle harbour 42 glides", true, "strong"},
		{"xkq7 brp2 mzt9", true, "good"},
		{"Zürich-Möwe-7-Fähre", true, "strong"},
	} {
		s := Estimate(c.p)
		if s.OK != c.ok || s.Level != c.level {
			t.Errorf("%q: %+v, want ok=%v level %q", c.p, s, c.ok, c.level)
		}
		err := CheckPassphrase(c.p)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrWeakPassphrase)) {
			t.Errorf("CheckPassphrase(%q) = %v", c.p, err)
		}
	}
	if _, err := Seal(sampleKit(t), "short", fast); !errors.Is(err, ErrWeakPassphrase) || !strings.Contains(err.Error(), "at least 12 characters") {
		t.Errorf("Seal with a weak passphrase: %v", err)
	}
}

func TestQR(t *testing.T) {
	k := sampleKit(t)
	text := seal(t, k)
	s, err := QRText(text)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^LAFS-SYNC-RECOVERY-KIT 1 [A-Z2-7]+$`).MatchString(s) {
		t.Errorf("QR text %q is not in QR's alphanumeric alphabet", s)
	}
	// What a scanner reads opens as the kit.
	if got, err := Open([]byte(s), pass); err != nil || !reflect.DeepEqual(got, k) {
		t.Errorf("the QR text opens as %v, %v", got, err)
	}
	b, err := QRPNG(text, 512)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() < 512 {
		t.Fatalf("PNG: %v %v", err, img.Bounds())
	}
	// A kit too large for one code says so.
	big := sampleKit(t)
	for i := range 40 {
		w, _ := newDirCap(t)
		big.Folders = append(big.Folders, Folder{Name: fmt.Sprint("folder ", i), Path: fmt.Sprint("/home/u/f", i), Mode: ModeSync, Cap: w})
	}
	if _, err := QRPNG(seal(t, big), 512); !errors.Is(err, ErrTooBigForQR) {
		t.Errorf("a large kit: %v", err)
	}
	if _, err := QRPNG([]byte("nope"), 512); !errors.Is(err, ErrNotKit) {
		t.Errorf("not a kit: %v", err)
	}
}

func TestSealRefusesBadKits(t *testing.T) {
	w, r := newDirCap(t)
	for _, f := range []Folder{
		{Name: "a", Mode: ModeSync, Cap: r},
		{Name: "a", Mode: ModeFollow, Cap: w},
		{Name: "a/b", Mode: ModeSync, Cap: w},
		{Name: "a", Mode: "mirror", Cap: w},
		{Name: "a", Mode: ModeSync, Cap: "URI:CHK:x"},
	} {
		k := sampleKit(t)
		k.Folders = []Folder{f}
		if _, err := Seal(k, pass, fast); !errors.Is(err, ErrContents) {
			t.Errorf("%+v: %v", f, err)
		}
	}
	k := sampleKit(t)
	k.Aliases["bad name"] = w
	if _, err := Seal(k, pass, fast); !errors.Is(err, ErrContents) {
		t.Errorf("alias with a space: %v", err)
	}
}

// source is a FolderSource with real caps.
type source struct {
	folders []api.FolderStatus
	caps    map[string]string // name/kind → cap
}

func (s source) List(context.Context) ([]api.FolderStatus, error) { return s.folders, nil }
func (s source) Share(_ context.Context, f, kind string) (string, error) {
	c, ok := s.caps[f+"/"+kind]
	if !ok {
		return "", fmt.Errorf("folder %q: %w", f, api.ErrReadOnly)
	}
	return c, nil
}

func TestCollect(t *testing.T) {
	dir := t.TempDir()
	c := config.Default()
	c.Nickname, c.SharesNeeded, c.SharesHappy, c.SharesTotal = "laptop", 2, 3, 4
	if err := os.WriteFile(filepath.Join(dir, config.File), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := config.Save(dir, c); err != nil {
		t.Fatal(err)
	}
	intros := map[string]string{"local": "lafs://v0-x@127.0.0.1:1", "friends": "lafs://v0-y@192.0.2.1:2"}
	if err := config.SaveIntroducers(dir, intros); err != nil {
		t.Fatal(err)
	}
	home, _ := newDirCap(t)
	if err := config.SaveAliases(dir, map[string]string{"home": home}); err != nil {
		t.Fatal(err)
	}
	w, _ := newDirCap(t)
	_, r := newDirCap(t)
	src := source{
		folders: []api.FolderStatus{{Name: "pics", Path: "/p", Mode: "follow"}, {Name: "docs", Path: "/d", Mode: "sync"}},
		caps:    map[string]string{"docs/write": w, "pics/read": r},
	}
	now := time.Date(2026, 12, 2, 11, 0, 0, 123, time.UTC)
	k, err := Collect(context.Background(), dir, src, now)
	if err != nil {
		t.Fatal(err)
	}
	want := &Kit{V: 1, Created: now.Truncate(time.Second), Node: "laptop",
		Grid:    Grid{Introducers: intros, Local: true, SharesNeeded: 2, SharesHappy: 3, SharesTotal: 4},
		Folders: []Folder{{"docs", "/d", ModeSync, w}, {"pics", "/p", ModeFollow, r}},
		Aliases: map[string]string{"home": home}}
	if !reflect.DeepEqual(k, want) {
		t.Errorf("collected\n%+v\nwant\n%+v", k, want)
	}
	// A folder sync that cannot give a cap stops the export.
	delete(src.caps, "docs/write")
	if _, err := Collect(context.Background(), dir, src, now); err == nil || !strings.Contains(err.Error(), `the cap of folder "docs"`) {
		t.Errorf("missing cap: %v", err)
	}
	if _, err := Collect(context.Background(), t.TempDir(), src, now); err == nil || !strings.Contains(err.Error(), "create-node") {
		t.Errorf("no node: %v", err)
	}
}

func TestRestore(t *testing.T) {
	k := sampleKit(t)
	dir := t.TempDir()
	other, _ := newDirCap(t)
	same := k.Aliases["home"]
	k.Aliases["work"] = other
	mine, _ := newDirCap(t)
	if err := config.SaveAliases(dir, map[string]string{"home": same, "work": mine}); err != nil {
		t.Fatal(err)
	}
	k.Aliases["new"] = other
	r, err := RestoreAliases(dir, k)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, AliasResult{Added: []string{"new"}, Same: []string{"home"}, Different: []string{"work"}}) {
		t.Errorf("aliases: %+v", r)
	}
	got, _ := config.LoadAliases(dir)
	if !reflect.DeepEqual(got, map[string]string{"home": same, "work": mine, "new": other}) {
		t.Errorf("private/aliases now %v", got)
	}

	m := apitest.New("docs") // "docs" exists already on this node
	res := RestoreFolders(context.Background(), m, k, "/new/home")
	if len(res) != 2 || !res[0].Exists || res[0].Name != "docs" ||
		res[1].Err != nil || res[1].Mode != ModeFollow || res[1].Path != "/new/home/alice's photos" {
		t.Errorf("results %+v", res)
	}
	if st, err := m.Status("alice's photos"); err != nil || st.Mode != "follow" {
		t.Errorf("the followed folder on the node: %+v %v", st, err)
	}
	reqs := k.Requests("")
	if reqs[0].Path != "/home/u/docs" || reqs[0].To != k.Folders[0].Cap || reqs[0].Follow != "" ||
		reqs[1].Follow != k.Folders[1].Cap || reqs[1].To != "" {
		t.Errorf("requests %+v", reqs)
	}
}

func BenchmarkDefaultParams(b *testing.B) {
	salt := make([]byte, saltLen)
	for b.Loop() {
		derive(pass, salt, DefaultParams)
	}
}
