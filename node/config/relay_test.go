package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadRelay(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, File), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("[node]\nnickname = x\n")
	r, err := LoadRelay(dir)
	if err != nil || r != (Relay{Enabled: "auto"}) {
		t.Fatalf("no [relay]: %+v, %v", r, err)
	}
	if !r.Serves(true, false) || r.Serves(true, true) || r.Serves(false, false) {
		t.Error("auto: want a relay on public storage nodes only")
	}
	write("[relay]\nenabled = yes\nreservations = 10\ncircuits = 20\ncircuits_per_peer = 2\nrate = 1MiB\nmax_duration = 2h\nmax_bytes = unlimited\n")
	r, err = LoadRelay(dir)
	want := Relay{Enabled: "true", Reservations: 10, Circuits: 20, CircuitsPerPeer: 2, Rate: 1 << 20, MaxDuration: 2 * time.Hour, MaxBytes: -1}
	if err != nil || r != want {
		t.Fatalf("got %+v, %v; want %+v", r, err, want)
	}
	if !r.Serves(false, true) {
		t.Error("enabled = true: want a relay")
	}
	write("[relay]\nmax_duration = 3600\nrate = unlimited\n")
	if r, err := LoadRelay(dir); err != nil || r.MaxDuration != time.Hour || r.Rate != -1 {
		t.Errorf("seconds and unlimited: %+v, %v", r, err)
	}
	for _, bad := range []string{"enabled = maybe", "circuits = 0", "rate = fast", "rate = 0", "max_duration = 1s", "reservations = -3"} {
		write("[relay]\n" + bad + "\n")
		var ce *Error
		if _, err := LoadRelay(dir); !errors.As(err, &ce) || ce.Section != "relay" {
			t.Errorf("%q: %v, want an error naming [relay]", bad, err)
		}
	}
}
