package syncer_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/synctest"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

func waitState(t *testing.T, m *syncer.Manager, folder, state string) api.FolderStatus {
	t.Helper()
	var s api.FolderStatus
	testkit.WaitFor(t, folder+" "+state, 30*time.Second, func() bool {
		var err error
		s, err = m.Status(folder)
		return err == nil && s.State == state
	})
	return s
}

func TestManagerAddShareFollowHistoryRestoreRemove(t *testing.T) {
	g := gridtest.New(10)
	base := t.TempDir()
	m := synctest.StartManager(t, g, filepath.Join(base, "nodeA"), "deviceA")
	docs := filepath.Join(base, "Docs")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docs, "a.txt"), []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := m.Add(context.Background(), api.AddRequest{Path: docs})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "Docs" || s.Mode != "sync" {
		t.Fatalf("added: %+v", s)
	}
	// Wrong inputs say what is wrong.
	for _, c := range []struct {
		req  api.AddRequest
		want error
	}{
		{api.AddRequest{Path: docs}, api.ErrExists},
		{api.AddRequest{Path: filepath.Join(docs, "inner"), Name: "inner"}, api.ErrExists},
		{api.AddRequest{Path: "rel/ative"}, api.ErrBadInput},
		{api.AddRequest{Path: filepath.Join(base, "x"), Name: "a/b"}, api.ErrBadInput},
		{api.AddRequest{Path: filepath.Join(base, "y"), To: "URI:CHK:nonsense"}, api.ErrBadInput},
	} {
		if _, err := m.Add(context.Background(), c.req); !errors.Is(err, c.want) {
			t.Errorf("Add(%+v) = %v, want %v", c.req, err, c.want)
		}
	}
	waitState(t, m, "Docs", api.UpToDate)
	if err := os.WriteFile(filepath.Join(docs, "a.txt"), []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	var vs []api.Version
	testkit.WaitFor(t, "a second version", 30*time.Second, func() bool {
		vs, err = m.History(context.Background(), docs, filepath.Join(docs, "a.txt"))
		return err == nil && len(vs) == 2
	})
	if vs[0].N != 0 || vs[0].Size != 2 || vs[1].N != 1 || vs[1].By != "deviceA" {
		t.Fatalf("history: %+v", vs)
	}
	out := filepath.Join(base, "restored.txt")
	if p, err := m.Restore(context.Background(), "Docs", api.RestoreRequest{Path: "a.txt", Version: 1, To: out}); err != nil || p != out {
		t.Fatalf("restore: %q, %v", p, err)
	}
	if b, _ := os.ReadFile(out); string(b) != "v1" {
		t.Fatalf("restored %q", b)
	}

	// A friend follows the read cap; the write cap is refused to them.
	rc, err := m.Share(context.Background(), "Docs", "read")
	if err != nil || !strings.HasPrefix(rc, "URI:DIR2-RO:") {
		t.Fatalf("read cap %q, %v", rc, err)
	}
	wc, err := m.Share(context.Background(), "Docs", "write")
	if err != nil || !strings.HasPrefix(wc, "URI:DIR2:") {
		t.Fatalf("write cap: %v", err)
	}
	snap, err := m.Share(context.Background(), "Docs", "snapshot")
	if err != nil || !strings.HasPrefix(snap, "URI:DIR2-CHK:") {
		t.Fatalf("snapshot %q, %v", snap, err)
	}
	friend := synctest.StartManager(t, g, filepath.Join(base, "nodeF"), "friend")
	fdir := filepath.Join(base, "FromFriend")
	if _, err := friend.Add(context.Background(), api.AddRequest{Path: fdir, Follow: rc}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the friend's copy", 30*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(fdir, "a.txt"))
		return err == nil && string(b) == "v2"
	})
	if _, err := friend.Share(context.Background(), "FromFriend", "write"); !errors.Is(err, api.ErrReadOnly) {
		t.Fatalf("a follower got a write cap: %v", err)
	}
	if s, _ := friend.Status("FromFriend"); s.Mode != "follow" {
		t.Fatalf("follower mode %q", s.Mode)
	}

	// Pause with a deadline, then resume.
	if err := m.Pause("Docs", time.Hour); err != nil {
		t.Fatal(err)
	}
	if s := waitState(t, m, "Docs", api.Paused); s.PausedUntil == nil {
		t.Fatal("no paused_until")
	}
	if err := m.Resume("*"); err != nil {
		t.Fatal(err)
	}
	waitState(t, m, "Docs", api.UpToDate)

	// The folder's caps are renewed while it is synced, and after a
	// removal only with keep-remote.
	if roots := m.LeaseRoots(); len(roots) != 1 || roots[0] != wc {
		t.Fatal("the synced folder is not among the lease roots")
	}
	if err := m.Remove(context.Background(), "Docs", true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Status("Docs"); !errors.Is(err, api.ErrNoFolder) {
		t.Fatalf("removed folder still there: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(docs, "a.txt")); err != nil || string(b) != "v2" {
		t.Fatalf("removing a folder touched its files: %q, %v", b, err)
	}
	if roots := m.LeaseRoots(); len(roots) != 1 {
		t.Fatal("a folder removed with keep-remote is no longer renewed")
	}
}

func TestFolderListSurvivesRestartAndStaysPrivate(t *testing.T) {
	g := gridtest.New(10)
	base := t.TempDir()
	nodeDir := filepath.Join(base, "node")
	docs := filepath.Join(base, "Docs")
	func() {
		m, err := syncer.New(syncer.Config{NodeDir: nodeDir, Device: "deviceA", Grid: g, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		defer func() { cancel(); <-done }()
		testkit.WaitFor(t, "add", 10*time.Second, func() bool {
			_, err := m.Add(context.Background(), api.AddRequest{Path: docs, Name: "docs"})
			return err == nil
		})
	}()
	fi, err := os.Stat(filepath.Join(nodeDir, "private", "sync-folders.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("folder list: %v, mode %v", err, fi.Mode())
	}
	m := synctest.StartManager(t, g, nodeDir, "deviceA")
	if l := m.List(); len(l) != 1 || l[0].Name != "docs" || l[0].Path != docs {
		t.Fatalf("after restart: %+v", l)
	}
}
