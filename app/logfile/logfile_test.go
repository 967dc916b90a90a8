package logfile

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestInfoToFileWarningsToTerminal(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		var file, term bytes.Buffer
		log := New(&file, &term, verbose).With("node", "local-3")
		log.Info("node listening", "address", "127.0.0.1:1")
		log.Debug("noise")
		log.Warn("disk almost full")
		if f := file.String(); !strings.Contains(f, "node listening") || !strings.Contains(f, "disk almost full") ||
			!strings.Contains(f, "node=local-3") || strings.Contains(f, "noise") {
			t.Errorf("verbose=%v: file got %q", verbose, f)
		}
		tm := term.String()
		if !strings.Contains(tm, "disk almost full") || strings.Contains(tm, "noise") {
			t.Errorf("verbose=%v: terminal got %q", verbose, tm)
		}
		if strings.Contains(tm, "node listening") != verbose {
			t.Errorf("verbose=%v: info on the terminal = %v; terminal: %q", verbose, !verbose, tm)
		}
	}
}

func TestFileRotatesPastItsCap(t *testing.T) {
	p := Path(t.TempDir())
	f, err := Open(p, 100)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(strings.Repeat("x", 39) + "\n")
	for range 10 {
		if _, err := f.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	cur, _ := os.ReadFile(p)
	old, _ := os.ReadFile(p + ".1")
	if len(cur) > 100 || len(old) > 100 || len(cur) == 0 || len(old) == 0 {
		t.Errorf("after 400 bytes with a 100-byte cap: lafs.log %d bytes, lafs.log.1 %d", len(cur), len(old))
	}
	// Reopening a file past its cap rotates it at once.
	os.WriteFile(p, bytes.Repeat(line, 5), 0o600)
	f, err = Open(p, 100)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(p); fi.Size() != 0 {
		t.Errorf("reopened over-cap log is %d bytes, want rotated to 0", fi.Size())
	}
}
