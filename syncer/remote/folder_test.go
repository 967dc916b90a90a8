package remote_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/vv"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newFolder(t *testing.T, g *gridtest.Grid, device string) *remote.Folder {
	t.Helper()
	f, err := remote.Create(ctxT(t), g, device)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// upload stores content and returns its cap and the metadata of a new
// version made by device on top of base.
func upload(t *testing.T, f *remote.Folder, content string, device string, base vv.Vector) (string, remote.FileMeta) {
	t.Helper()
	key := sha256.Sum256([]byte("key:" + content))
	var k [16]byte
	copy(k[:], key[:])
	c, err := f.Upload(ctxT(t), strings.NewReader(content), int64(len(content)), k, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, remote.FileMeta{
		Size: int64(len(content)), Mtime: time.Unix(1764650000, 250000000), Mode: 0o644,
		Ver: base.Bump(device), By: device, Hash: sha256.Sum256([]byte(content)),
	}
}

func put(t *testing.T, f *remote.Folder, dir, name, content, device string, base vv.Vector) (remote.OpResult, remote.FileMeta) {
	t.Helper()
	c, m := upload(t, f, content, device, base)
	res, err := f.Commit(ctxT(t), dir, []remote.Op{{Kind: remote.Put, Name: name, Cap: c, Meta: m, Base: base}}, remote.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	return res[0], m
}

func download(t *testing.T, f *remote.Folder, c string) string {
	t.Helper()
	var b bytes.Buffer
	if err := f.Download(ctxT(t), c, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestCreateOpenCaps(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	f := newFolder(t, g, "DEVA")
	if f.ReadOnly() || !strings.HasPrefix(f.WriteCap(), "URI:DIR2:") || !strings.HasPrefix(f.ReadCap(), "URI:DIR2-RO:") {
		t.Fatalf("caps of a new folder: ro=%v", f.ReadOnly())
	}
	rw, err := remote.Open(ctx, g, f.WriteCap(), "DEVB")
	if err != nil || rw.ReadOnly() || rw.WriteCap() != f.WriteCap() {
		t.Fatalf("open by write cap: %v", err)
	}
	ro, err := remote.Open(ctx, g, f.ReadCap(), "FRIEND")
	if err != nil || !ro.ReadOnly() || ro.WriteCap() != "" || ro.ReadCap() != f.ReadCap() {
		t.Fatalf("open by read cap: %v", err)
	}
	c, m := upload(t, f, "hello", "FRIEND", nil)
	_, err = ro.Commit(ctx, "", []remote.Op{{Kind: remote.Put, Name: "x", Cap: c, Meta: m}}, remote.Retention{})
	if !errors.Is(err, remote.ErrReadOnly) {
		t.Fatalf("commit through a read cap: %v, want ErrReadOnly", err)
	}
	for _, bad := range []string{"garbage", c, "URI:DIR2-CHK:aaaa"} {
		if _, err := remote.Open(ctx, g, bad, "X"); !errors.Is(err, remote.ErrNoFolder) {
			t.Errorf("open %.12s…: %v, want ErrNoFolder", bad, err)
		}
	}
	es, err := f.List(ctx, "")
	if err != nil || len(es) != 0 {
		t.Fatalf("new folder lists %v, %v; want nothing (.lafssync hidden)", es, err)
	}
	if _, err := f.List(ctx, "nope"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("list a missing dir: %v", err)
	}
	if _, err := f.List(ctx, ".lafssync"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("list .lafssync: %v, want ErrNotFound", err)
	}
}

func TestCommitPutListDownload(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	res, m := put(t, a, "", "notes.txt", "hello, grid: more than fifty-five bytes so that this is a CHK file", "DEVA", nil)
	if !res.Applied {
		t.Fatalf("first put not applied: %+v", res)
	}
	res2, _ := put(t, a, "photos/2025", "tiny.txt", "tiny", "DEVA", nil)
	if !res2.Applied {
		t.Fatal("put into new subdirectories not applied")
	}
	ro, _ := remote.Open(ctx, g, a.ReadCap(), "FRIEND")
	es, err := ro.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es["notes.txt"] == nil || es["photos"] == nil || !es["photos"].Dir {
		t.Fatalf("root lists %v", es)
	}
	e := es["notes.txt"]
	if e.Foreign || e.Dir || e.Meta.Ver.Compare(m.Ver) != vv.Equal || e.Meta.Hash != m.Hash || e.Meta.Size != m.Size || !e.Meta.Mtime.Equal(m.Mtime) || e.Meta.By != "DEVA" {
		t.Fatalf("entry %+v, want meta %+v", e, m)
	}
	if !strings.HasPrefix(e.Cap, "URI:CHK:") {
		t.Fatalf("file cap %.9s…", e.Cap)
	}
	if !strings.HasPrefix(es["photos"].Cap, "URI:DIR2-RO:") {
		t.Fatalf("a read-only folder's subdir cap is %.12s…", es["photos"].Cap)
	}
	if got := download(t, ro, e.Cap); !strings.HasPrefix(got, "hello, grid") {
		t.Fatalf("downloaded %q", got)
	}
	sub, err := ro.List(ctx, "photos/2025")
	if err != nil || sub["tiny.txt"] == nil || !strings.HasPrefix(sub["tiny.txt"].Cap, "URI:LIT:") {
		t.Fatalf("photos/2025: %v %v", sub, err)
	}
	if got := download(t, ro, sub["tiny.txt"].Cap); got != "tiny" {
		t.Fatalf("tiny: %q", got)
	}
	if _, err := ro.List(ctx, "notes.txt"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("list a file as a directory: %v", err)
	}
}

func TestCommitBaseTest(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	b, _ := remote.Open(ctx, g, a.WriteCap(), "DEVB")
	_, m1 := put(t, a, "", "f", "v1", "DEVA", nil)

	// A second nil-Base put of the same name loses: the file exists.
	res, _ := put(t, b, "", "f", "b's own", "DEVB", nil)
	if res.Applied || res.Current == nil || res.Current.Meta.Ver.Compare(m1.Ver) != vv.Equal {
		t.Fatalf("nil-base put over an existing file: %+v", res)
	}
	// B edits on top of v1: applied.
	res, m2 := put(t, b, "", "f", "v2 by B", "DEVB", m1.Ver)
	if !res.Applied {
		t.Fatalf("put on the right base: %+v", res)
	}
	// A still thinks v1 is current: its edit is not applied, it sees v2.
	res, _ = put(t, a, "", "f", "v2 by A", "DEVA", m1.Ver)
	if res.Applied || res.Current == nil || res.Current.Meta.Ver.Compare(m2.Ver) != vv.Equal || res.Current.Meta.By != "DEVB" {
		t.Fatalf("stale-base put: %+v", res)
	}
	// Delete on a stale base: not applied; on the right one: applied.
	r, err := a.Commit(ctx, "", []remote.Op{{Kind: remote.Delete, Name: "f", Base: m1.Ver}}, remote.Retention{})
	if err != nil || r[0].Applied {
		t.Fatalf("stale delete: %+v %v", r, err)
	}
	r, err = a.Commit(ctx, "", []remote.Op{{Kind: remote.Delete, Name: "f", Base: m2.Ver}}, remote.Retention{})
	if err != nil || !r[0].Applied {
		t.Fatalf("delete: %+v %v", r, err)
	}
	es, _ := a.List(ctx, "")
	if es["f"] != nil {
		t.Fatal("deleted file still listed")
	}
	// An edit based on a version that was deleted is not applied (the
	// engine sees Current nil: deleted remotely); a nil-Base put re-creates.
	res, _ = put(t, b, "", "f", "v3 by B", "DEVB", m2.Ver)
	if res.Applied || res.Current != nil {
		t.Fatalf("edit of a deleted file: %+v", res)
	}
	res, _ = put(t, b, "", "f", "re-created", "DEVB", nil)
	if !res.Applied {
		t.Fatalf("nil-base put of a deleted file: %+v", res)
	}
}

func TestCommitRetryIsIdempotent(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	c, m := upload(t, a, "content", "DEVA", nil)
	op := remote.Op{Kind: remote.Put, Name: "f", Cap: c, Meta: m}
	for i := 0; i < 2; i++ {
		r, err := a.Commit(ctx, "", []remote.Op{op}, remote.Retention{})
		if err != nil || !r[0].Applied {
			t.Fatalf("attempt %d: %+v %v", i, r, err)
		}
	}
	gen, _, _, err := a.Poll(ctx, 0)
	if err != nil || gen != 1 {
		t.Fatalf("a repeated commit published again: generation %d (%v), want 1", gen, err)
	}
}

func TestMkdirAndDeleteDir(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	r, err := a.Commit(ctx, "", []remote.Op{{Kind: remote.Mkdir, Name: "d"}, {Kind: remote.Mkdir, Name: "e"}}, remote.Retention{})
	if err != nil || !r[0].Applied || !r[1].Applied {
		t.Fatalf("mkdir: %+v %v", r, err)
	}
	r, err = a.Commit(ctx, "", []remote.Op{{Kind: remote.Mkdir, Name: "d"}}, remote.Retention{})
	if err != nil || !r[0].Applied {
		t.Fatalf("mkdir of an existing dir: %+v %v", r, err)
	}
	put(t, a, "d", "f", "x", "DEVA", nil)
	r, err = a.Commit(ctx, "", []remote.Op{{Kind: remote.Delete, Name: "d"}, {Kind: remote.Delete, Name: "e"}}, remote.Retention{})
	if err != nil || r[0].Applied || r[0].Current == nil || !r[0].Current.Dir || !r[1].Applied {
		t.Fatalf("delete a non-empty and an empty dir: %+v %v", r, err)
	}
	es, _ := a.List(ctx, "")
	if es["d"] == nil || es["e"] != nil {
		t.Fatalf("after deletes: %v", es)
	}
	// A file does not replace a directory.
	res, _ := put(t, a, "", "d", "file", "DEVA", nil)
	if res.Applied || res.Current == nil || !res.Current.Dir {
		t.Fatalf("put over a directory: %+v", res)
	}
	if _, err := a.Commit(ctx, "", []remote.Op{{Kind: remote.Put, Name: ".lafssync", Cap: "URI:LIT:aa"}}, remote.Retention{}); err == nil {
		t.Fatal("a put of .lafssync at the root was accepted")
	}
}

func TestUploadProgress(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	data := bytes.Repeat([]byte("0123456789abcdef"), 20000)
	var last int64
	calls := 0
	c, err := a.Upload(ctx, iotest.HalfReader(bytes.NewReader(data)), int64(len(data)), [16]byte{1}, func(done int64) {
		if done < last {
			t.Errorf("progress went back from %d to %d", last, done)
		}
		last = done
		calls++
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != int64(len(data)) || calls < 2 {
		t.Fatalf("progress ended at %d after %d calls, want %d", last, calls, len(data))
	}
	var b bytes.Buffer
	if err := a.Download(ctx, c, &b); err != nil || !bytes.Equal(b.Bytes(), data) {
		t.Fatalf("download: %v", err)
	}
}

func TestUploadOfflineSaysWhy(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	g.Offline(5)
	if h := g.Health(); h.OK() || h.Reachable != 5 || h.Known != 10 || h.Happy != 7 {
		t.Fatalf("health with 5 offline: %+v", h)
	}
	data := strings.Repeat("x", 1000)
	_, err := a.Upload(ctx, strings.NewReader(data), int64(len(data)), [16]byte{2}, nil)
	if err == nil || !strings.Contains(err.Error(), "5 of 10 storage servers reachable") {
		t.Fatalf("upload with 5 of 10 servers: %v", err)
	}
	g.Offline(0)
	if !g.Health().OK() {
		t.Fatal("health after bringing servers back")
	}
}

// The engine's two devices: same write cap, concurrent commits to the
// same directory and to different ones; nothing is lost.
func TestConcurrentCommits(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	b, _ := remote.Open(ctx, g, a.WriteCap(), "DEVB")
	_, base := put(t, a, "", "shared", "v1", "DEVA", nil)
	// Make the directories first so both sides race on entries, not mkdir.
	if _, err := a.Commit(ctx, "", []remote.Op{{Kind: remote.Mkdir, Name: "da"}, {Kind: remote.Mkdir, Name: "db"}}, remote.Retention{}); err != nil {
		t.Fatal(err)
	}
	const rounds = 4
	type job struct {
		f      *remote.Folder
		dev    string
		dir    string
		name   string
		shared bool
	}
	var jobs []job
	for i := 0; i < rounds; i++ {
		jobs = append(jobs,
			job{a, "DEVA", "", fmt.Sprintf("a%d", i), false},
			job{b, "DEVB", "", fmt.Sprintf("b%d", i), false},
			job{a, "DEVA", "da", fmt.Sprintf("a%d", i), false},
			job{b, "DEVB", "db", fmt.Sprintf("b%d", i), false},
		)
	}
	jobs = append(jobs, job{a, "DEVA", "", "shared", true}, job{b, "DEVB", "", "shared", true})
	type outcome struct {
		j   job
		res remote.OpResult
		m   remote.FileMeta
		err error
	}
	caps := make([]string, len(jobs))
	metas := make([]remote.FileMeta, len(jobs))
	for i, j := range jobs {
		var bv vv.Vector
		if j.shared {
			bv = base.Ver
		}
		caps[i], metas[i] = upload(t, j.f, j.dev+"/"+j.dir+"/"+j.name, j.dev, bv)
	}
	out := make([]outcome, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := remote.Op{Kind: remote.Put, Name: j.name, Cap: caps[i], Meta: metas[i]}
			if j.shared {
				op.Base = base.Ver
			}
			r, err := j.f.Commit(ctx, j.dir, []remote.Op{op}, remote.Retention{})
			out[i] = outcome{j: j, m: metas[i], err: err}
			if err == nil {
				out[i].res = r[0]
			}
		}()
	}
	wg.Wait()
	applied := 0
	for _, o := range out {
		if o.err != nil {
			t.Fatalf("%s %s/%s: %v", o.j.dev, o.j.dir, o.j.name, o.err)
		}
		if !o.j.shared && !o.res.Applied {
			t.Errorf("%s %s/%s not applied: %+v", o.j.dev, o.j.dir, o.j.name, o.res)
		}
	}
	listings := map[string]map[string]*remote.Entry{}
	for _, d := range []string{"", "da", "db"} {
		es, err := a.List(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		listings[d] = es
	}
	for _, o := range out {
		e := listings[o.j.dir][o.j.name]
		if o.res.Applied {
			if o.j.shared {
				applied++
			}
			if e == nil || e.Meta.Ver.Compare(o.m.Ver) != vv.Equal {
				t.Errorf("%s's applied put of %s/%s is not on the grid: %+v", o.j.dev, o.j.dir, o.j.name, e)
			}
		} else if o.res.Current == nil || o.res.Current.Meta.By == o.j.dev {
			t.Errorf("the loser %s of %s got Current %+v", o.j.dev, o.j.name, o.res.Current)
		}
	}
	if applied != 1 {
		t.Fatalf("%d of the two racing puts on the same base applied, want exactly 1", applied)
	}
	// Every commit bumped the generation once.
	gen, _, _, err := a.Poll(ctx, 0)
	if err != nil || gen < uint64(2+len(jobs)-1) {
		t.Fatalf("generation %d after %d commits (%v)", gen, 2+len(jobs)-1, err)
	}
	// The replaced v1 is in history once.
	h, err := a.History(ctx, "shared")
	if err != nil || len(h) != 1 || h[0].Meta.Ver.Compare(base.Ver) != vv.Equal {
		t.Fatalf("history of the shared file: %+v %v", h, err)
	}
}

func TestBogusCapEntries(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	put(t, a, "", "good", "good", "DEVA", nil)
	// A grid member links junk with stock tools.
	root, err := g.Dirs().Open(a.WriteCap())
	if err != nil {
		t.Fatal(err)
	}
	for name, rc := range map[string]string{
		"junk":     "URI:NOPE:xyz",
		"empty":    "",
		"snapshot": "URI:DIR2-LIT:",
	} {
		if err := root.Set(ctx, name, rc, "", map[string]any{"size": 3.0}, false); err != nil {
			t.Fatal(err)
		}
	}
	es, err := a.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"junk", "empty", "snapshot"} {
		e := es[n]
		if e == nil || e.Bad == "" || !e.Foreign || e.Dir {
			t.Errorf("%s listed as %+v, want Bad and Foreign", n, e)
		}
	}
	if es["good"] == nil || es["good"].Bad != "" {
		t.Errorf("good file: %+v", es["good"])
	}
	// The name is taken: a nil-Base put is not applied.
	res, _ := put(t, a, "", "junk", "mine", "DEVA", nil)
	if res.Applied || res.Current == nil || res.Current.Bad == "" {
		t.Fatalf("put over a bogus entry: %+v", res)
	}
	// With BaseCap it replaces it.
	c, m := upload(t, a, "mine", "DEVA", nil)
	r, err := a.Commit(ctx, "", []remote.Op{{Kind: remote.Put, Name: "junk", Cap: c, Meta: m, BaseCap: es["junk"].Cap}}, remote.Retention{})
	if err != nil || !r[0].Applied {
		t.Fatalf("put over a bogus entry with BaseCap: %+v %v", r, err)
	}
	walked := 0
	if err := a.Walk(ctx, func(dir string, es map[string]*remote.Entry, err error) error {
		walked++
		return err
	}); err != nil || walked != 1 {
		t.Fatalf("walk with bogus entries: %d dirs, %v", walked, err)
	}
}

func TestForeignEntryBaseCap(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	c, _ := upload(t, a, "from stock tahoe", "X", nil)
	root, _ := g.Dirs().Open(a.WriteCap())
	cc, _ := cap.Parse(c)
	if err := root.SetCap(ctx, "tahoe.txt", cc, map[string]any{"mtime": 1764650000.0}, false); err != nil {
		t.Fatal(err)
	}
	es, _ := a.List(ctx, "")
	e := es["tahoe.txt"]
	if e == nil || !e.Foreign || e.Bad != "" || e.Meta.Size != int64(len("from stock tahoe")) || e.Meta.Mtime.Unix() != 1764650000 {
		t.Fatalf("foreign entry %+v", e)
	}
	c2, m2 := upload(t, a, "edited", "DEVA", nil)
	r, _ := a.Commit(ctx, "", []remote.Op{{Kind: remote.Put, Name: "tahoe.txt", Cap: c2, Meta: m2, BaseCap: "URI:LIT:aaaa"}}, remote.Retention{})
	if r[0].Applied {
		t.Fatal("put over a foreign entry with the wrong BaseCap applied")
	}
	r, _ = a.Commit(ctx, "", []remote.Op{{Kind: remote.Put, Name: "tahoe.txt", Cap: c2, Meta: m2, BaseCap: e.Cap}}, remote.Retention{})
	if !r[0].Applied {
		t.Fatal("put over a foreign entry with its BaseCap not applied")
	}
	h, err := a.History(ctx, "tahoe.txt")
	if err != nil || len(h) != 1 || h[0].Cap != e.Cap {
		t.Fatalf("the foreign version is not in history: %+v %v", h, err)
	}
}

var _ = dirnode.Normalize

// Two devices committing into the same new directory at once: both make
// it, one link wins, both files end up in the one directory.
func TestConcurrentMkdirAll(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	b, _ := remote.Open(ctx, g, a.WriteCap(), "DEVB")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, f := range []*remote.Folder{a, b} {
		c, m := upload(t, f, f.Device(), f.Device(), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r []remote.OpResult
			r, errs[i] = f.Commit(ctx, "new/deep", []remote.Op{{Kind: remote.Put, Name: f.Device(), Cap: c, Meta: m}}, remote.Retention{})
			if errs[i] == nil && !r[0].Applied {
				errs[i] = fmt.Errorf("not applied: %+v", r[0])
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	es, err := a.List(ctx, "new/deep")
	if err != nil || es["DEVA"] == nil || es["DEVB"] == nil {
		t.Fatalf("new/deep holds %v (%v)", es, err)
	}
}

// A commit into a directory another device removes meanwhile (it was
// empty when that device looked) must not report success: its file would
// be in an unlinked directory. Simulated by unlinking the directory (as
// B's delete, decided before A's publish, would) right after A's publish.
func TestCommitIntoRemovedDirectory(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	b, _ := remote.Open(ctx, g, a.WriteCap(), "DEVB")
	if _, err := a.Commit(ctx, "", []remote.Op{{Kind: remote.Mkdir, Name: "d"}}, remote.Retention{}); err != nil {
		t.Fatal(err)
	}
	c, m := upload(t, a, "precious", "DEVA", nil)
	root, _ := g.Dirs().Open(a.WriteCap())
	remote.SetTestHookAfterPublish(func() {
		if err := root.Delete(ctx, "d"); err != nil {
			t.Errorf("unlink d: %v", err)
		}
	})
	_, err := a.Commit(ctx, "d", []remote.Op{{Kind: remote.Put, Name: "f", Cap: c, Meta: m}}, remote.Retention{})
	remote.SetTestHookAfterPublish(nil)
	if !errors.Is(err, remote.ErrDirGone) {
		t.Fatalf("commit into a directory removed meanwhile: %v, want ErrDirGone", err)
	}
	// Committing again makes the directory anew with the file.
	r, err := a.Commit(ctx, "d", []remote.Op{{Kind: remote.Put, Name: "f", Cap: c, Meta: m}}, remote.Retention{})
	if err != nil || !r[0].Applied {
		t.Fatalf("commit again: %+v %v", r, err)
	}
	if es, _ := b.List(ctx, "d"); es["f"] == nil {
		t.Fatal("the file is not in the folder")
	}
}

// Servers that were away come back holding older shares of the
// directories and state: readers see the newest version, pollers notice.
func TestServersAwayAndBack(t *testing.T) {
	g := gridtest.New(10)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	b, _ := remote.Open(ctx, g, a.ReadCap(), "FRIEND")
	_, m1 := put(t, a, "", "f", "v1", "DEVA", nil)
	gen, _, _, err := b.Poll(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	g.Offline(3)
	if res, _ := put(t, a, "", "f", "v2", "DEVA", m1.Ver); !res.Applied {
		t.Fatal("put with 7 of 10 servers")
	}
	g.Offline(0)
	g2, dirs, full, err := b.Poll(ctx, gen)
	if err != nil || full || g2 != gen+1 || len(dirs) != 1 {
		t.Fatalf("poll after the servers came back: %d %v %v %v", g2, dirs, full, err)
	}
	es, err := b.List(ctx, "")
	if err != nil || es["f"] == nil || download(t, b, es["f"].Cap) != "v2" {
		t.Fatalf("list after the servers came back: %+v %v", es["f"], err)
	}
}
