package cli

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/internal/testkit"
)

// startLocalGridFor runs the embedded local grid for the client node dir
// until the test ends, and returns a runner of lafs commands against it.
func startLocalGridFor(t *testing.T, dir string) func(args ...string) (int, string, string) {
	t.Helper()
	startLocalGrid(t, dir)
	return func(args ...string) (int, string, string) { return run(append([]string{"-d", dir}, args...)...) }
}

// shareFiles maps each share file of the local grid to its contents,
// keyed by path; si filters by storage index when not empty.
func shareFiles(t *testing.T, dir, si string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.WalkDir(filepath.Join(dir, "local-grid"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, string(filepath.Separator)+"shares"+string(filepath.Separator)) ||
			strings.Contains(p, "incoming") {
			return nil
		}
		if si != "" && filepath.Base(filepath.Dir(p)) != si {
			return nil
		}
		b, _ := os.ReadFile(p)
		out[p] = b
		return nil
	})
	return out
}

func siOf(t *testing.T, capStr string) string {
	t.Helper()
	c, err := cap.Parse(strings.TrimSpace(capStr))
	if err != nil {
		t.Fatal(err)
	}
	si, _ := c.StorageIndex()
	return si.String()
}

func TestDeepCheckAndRenewLeasesOnLocalGrid(t *testing.T) {
	dir := t.TempDir()
	lafs := startLocalGridFor(t, dir)
	must := mustIn(t, dir)
	must("create-alias", "home")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o600)
		return p
	}
	report := write("report.txt", bytes.Repeat([]byte("quarterly numbers\n"), 5000))
	photo := write("photo.jpg", bytes.Repeat([]byte{0xff, 0xd8, 1, 2, 3}, 20000))
	tiny := write("tiny.txt", []byte("small"))
	reportCap := must("put", report, "home:docs/report.txt")
	must("put", photo, "home:photos/photo.jpg")
	must("put", tiny, "home:docs/tiny.txt")
	// Unlinked: no alias reaches it.
	lonelyCap := must("put", write("lonely.txt", bytes.Repeat([]byte("nobody links me\n"), 3000)))

	// home, docs, photos, report.txt, photo.jpg (the LIT tiny.txt has no shares).
	if out := must("deep-check", "home:"); out != "done: 5 objects checked, 5 healthy, 0 unhealthy\n" {
		t.Errorf("deep-check: %q", out)
	}
	out := must("deep-check", "-v", "--verify", "home:")
	for _, want := range []string{"'<root>': healthy", "'docs/report.txt': healthy: 10 of 10 shares", "'photos': healthy"} {
		if !strings.Contains(out, want) {
			t.Errorf("deep-check -v lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "URI:") {
		t.Errorf("deep-check printed a cap:\n%s", out)
	}

	// Lose three shares of the report: unhealthy, then repaired.
	lost := 0
	for p := range shareFiles(t, dir, siOf(t, reportCap)) {
		if lost < 3 {
			os.Remove(p)
			lost++
		}
	}
	if lost != 3 {
		t.Fatalf("found %d shares of the report", lost)
	}
	code, out, _ := lafs("deep-check", "home:")
	if code != 2 || !strings.Contains(out, "done: 5 objects checked, 4 healthy, 1 unhealthy") ||
		!strings.Contains(out, "'docs/report.txt': unhealthy: 7 of 10 shares") {
		t.Errorf("after losing shares: exit %d\n%s", code, out)
	}
	out = must("deep-check", "--repair", "home:")
	for _, want := range []string{"pre-repair: 4 healthy, 1 unhealthy", "1 repairs attempted, 1 successful, 0 failed", "post-repair: 5 healthy, 0 unhealthy", "'docs/report.txt': repair successful"} {
		if !strings.Contains(out, want) {
			t.Errorf("deep-check --repair lacks %q:\n%s", want, out)
		}
	}
	if n := len(shareFiles(t, dir, siOf(t, reportCap))); n != 10 {
		t.Errorf("%d shares of the report after repair", n)
	}
	must("deep-check", "--json", "home:docs")

	// Renewal rewrites the lease expiry (in seconds) of every reachable
	// share and of no other.
	before := shareFiles(t, dir, "")
	sec := time.Now().Unix() // expiries are whole seconds: renew in a later one
	testkit.WaitFor(t, "the clock to pass into the next second", 5*time.Second, func() bool { return time.Now().Unix() > sec })
	out = must("renew-leases")
	if !strings.Contains(out, "6 objects (5 with shares) from 1 roots") || !strings.Contains(out, " 0 failed") || strings.Contains(out, "URI:") {
		t.Errorf("renew-leases: %q", out)
	}
	lonely := siOf(t, lonelyCap)
	after := shareFiles(t, dir, "")
	changed, same := 0, 0
	for p, b := range after {
		unreachable := filepath.Base(filepath.Dir(p)) == lonely
		switch {
		case bytes.Equal(before[p], b) && !unreachable:
			t.Errorf("reachable share %s kept its lease", p)
		case !bytes.Equal(before[p], b) && unreachable:
			t.Errorf("unreachable share %s was renewed", p)
		case unreachable:
			same++
		default:
			changed++
		}
	}
	if same != 10 || changed != 50 {
		t.Errorf("%d shares renewed, %d left alone", changed, same)
	}
	if out := must("renew-leases", "home:docs/report.txt"); !strings.Contains(out, "1 objects (1 with shares)") {
		t.Errorf("renew-leases one file: %q", out)
	}
	if code, _, errs := lafs("renew-leases", "nope:"); code == 0 || !strings.Contains(errs, "unknown alias") {
		t.Errorf("renew-leases nope: exit %d %q", code, errs)
	}
}
