package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadHelper(t *testing.T) {
	id := "v0-" + strings.Repeat("a", 52)
	for _, tc := range []struct {
		cfg  string
		want Helper
		bad  string
	}{
		{cfg: "", want: Helper{Use: HelperAuto}},
		{cfg: "[helper]\nenabled = true\nmax_uploads_per_client = 2\nmax_spool_per_client = 1G\nreserved_space = 5G\nidle_timeout = 600\n",
			want: Helper{Enabled: true, MaxUploadsPerClient: 2, MaxSpoolPerClient: 1_000_000_000, ReservedSpace: 5_000_000_000, IdleTimeout: 10 * time.Minute, Use: HelperAuto}},
		{cfg: "[client]\nhelper = off\n", want: Helper{Use: HelperOff}},
		{cfg: "[client]\nhelper = " + id + "\n", want: Helper{Use: id}},
		{cfg: "[client]\nhelper = pb://tahoe-furl\n", bad: "helper"},
		{cfg: "[helper]\nenabled = maybe\n", bad: "enabled"},
		{cfg: "[helper]\nidle_timeout = 0\n", bad: "idle_timeout"},
		{cfg: "[helper]\nmax_spool_total = lots\n", bad: "max_spool_total"},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, File), []byte(tc.cfg), 0o600)
		got, err := LoadHelper(dir)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("%q: error %v, want one naming %s", tc.cfg, err, tc.bad)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.cfg, got, err, tc.want)
		}
	}
}
