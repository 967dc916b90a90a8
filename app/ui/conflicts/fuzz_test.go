package conflicts

import (
	"strings"
	"testing"
)

// FuzzParseName: any file name (a peer chooses the names that arrive)
// parses without a panic, and what parses is consistent: the original's
// name is non-empty, the device has no dot, and the name is the original
// with the marker, time and device put in.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{
		"report.sync-conflict-20261202-130405-deviceB.txt", ".bashrc.sync-conflict-20261202-130405-dev",
		".sync-conflict-20261202-130405-dev.bashrc", "a.sync-conflict-.sync-conflict-20261202-130405-d.x",
		"x.sync-conflict-99999999-999999-d", "", ".sync-conflict-",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		orig, tm, dev, ok := ParseName(name)
		if !ok {
			return
		}
		if orig == "" || dev == "" || strings.Contains(dev, ".") || tm.IsZero() {
			t.Fatalf("ParseName(%q) = %q %v %q", name, orig, tm, dev)
		}
		stamp := tm.Format("20060102-150405")
		i := strings.LastIndex(name, marker)
		if name[:i]+name[i+len(marker)+len(stamp)+1+len(dev):] != orig {
			t.Fatalf("ParseName(%q): original %q is not the name without marker, time %s and device %q", name, orig, stamp, dev)
		}
	})
}
