package folder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lafssync/lafssync/syncer/db"
	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/scan"
)

// TestUploadOfOtherBytesThanScannedIsNotCommitted: a file whose bytes are
// not those the scan hashed, under the same size and mtime (rewritten in
// place between the scan and the upload on a file system with a coarse
// clock, or by a writer that stalled mid-write), is not uploaded under the
// scan's hash: the upload says rescan, and the record is made to be read
// again (a scan trusting size and mtime would never look at it again).
func TestUploadOfOtherBytesThanScannedIsNotCommitted(t *testing.T) {
	g := gridtest.New(5)
	ctx := context.Background()
	rf, err := remote.Create(ctx, g, "dev")
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := db.Open(filepath.Join(t.TempDir(), "sync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	root := t.TempDir()
	f, err := New(Config{Name: "t", Root: root, Device: "dev", Remote: rf, DB: sdb.Folder("f"), Grid: g, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("now "), 4096)
	p := filepath.Join(root, "x.bin")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	rec := scan.State(fi)
	for _, c := range []struct {
		name    string
		scanned []byte
		wantErr bool
	}{{"other bytes", bytes.Repeat([]byte("then"), 4096), true}, {"the scanned bytes", content, false}} {
		rec.Hash = sha256.Sum256(c.scanned)
		rec.Pending = true
		if err := f.cfg.DB.Update(func(tx *db.Tx) error { return tx.Put("x.bin", rec) }); err != nil {
			t.Fatal(err)
		}
		clear(f.localPaths)
		capStr, err := f.upload(ctx, action{kind: actPut, path: "x.bin", rec: rec})
		got, _, _ := f.cfg.DB.Get("x.bin")
		if !c.wantErr {
			if err != nil || capStr == "" {
				t.Fatalf("%s: upload = %q, %v; want a cap", c.name, capStr, err)
			}
			if got.MtimeNs != rec.MtimeNs {
				t.Errorf("%s: the record's mtime was changed to %d", c.name, got.MtimeNs)
			}
			continue
		}
		if !errors.Is(err, errRescan) || capStr != "" {
			t.Fatalf("%s: upload = %q, %v; want errRescan", c.name, capStr, err)
		}
		if !f.localPaths["x.bin"] {
			t.Errorf("%s: the file is not scheduled for a rescan", c.name)
		}
		if got.MtimeNs == rec.MtimeNs {
			t.Errorf("%s: the record still says mtime %d: the next scan would not read the file", c.name, got.MtimeNs)
		}
	}
}

// The poll period grows with the quiet time since the last change, from
// PollEvery to QuietPollEvery, and drops back at once after a change.
func TestPollDelay(t *testing.T) {
	const every, most = 10 * time.Second, 30 * time.Second
	for _, c := range []struct{ quiet, want time.Duration }{
		{0, every},
		{30 * time.Second, every},
		{100 * time.Second, every},
		{150 * time.Second, 15 * time.Second},
		{250 * time.Second, 25 * time.Second},
		{5 * time.Minute, most},
		{24 * time.Hour, most},
	} {
		if got := pollDelay(every, most, c.quiet); got != c.want {
			t.Errorf("quiet %v: poll in %v, want %v", c.quiet, got, c.want)
		}
	}
}
