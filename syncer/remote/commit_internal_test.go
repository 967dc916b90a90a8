package remote

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/syncer/vv"
)

// A crash between the history write and the directory publish leaves an
// extra version in history, never a lost one; the retried commit does not
// add it twice.
func TestHistoryWrittenBeforePublish(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := newTestGrid(10)
	f, err := Create(ctx, g, "DEVA")
	if err != nil {
		t.Fatal(err)
	}
	put := func(content string, base vv.Vector) (Op, error) {
		c, err := f.Upload(ctx, strings.NewReader(content), int64(len(content)), [16]byte{byte(len(content))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		op := Op{Kind: Put, Name: "f", Cap: c, Base: base,
			Meta: FileMeta{Size: int64(len(content)), Ver: base.Bump("DEVA"), By: "DEVA", Hash: sha256.Sum256([]byte(content))}}
		r, err := f.Commit(ctx, "", []Op{op}, Retention{})
		if err == nil && !r[0].Applied {
			t.Fatalf("%s not applied: %+v", content, r[0])
		}
		return op, err
	}
	v1, err := put("one", nil)
	if err != nil {
		t.Fatal(err)
	}
	crash := errors.New("crash before publish")
	testHookBeforePublish = func() error { return crash }
	_, err = put("two", v1.Meta.Ver)
	testHookBeforePublish = nil
	if !errors.Is(err, crash) {
		t.Fatalf("commit with a crash before publish: %v", err)
	}
	es, _ := f.List(ctx, "")
	if es["f"].Cap != v1.Cap {
		t.Fatal("the directory changed although its publish never happened")
	}
	h, err := f.History(ctx, "f")
	if err != nil || len(h) != 1 || h[0].Cap != v1.Cap {
		t.Fatalf("history after the crash: %+v %v (want the extra v1)", h, err)
	}
	if _, err := put("two", v1.Meta.Ver); err != nil {
		t.Fatal(err)
	}
	if h, _ := f.History(ctx, "f"); len(h) != 1 || h[0].Cap != v1.Cap {
		t.Fatalf("history after the retry: %+v (v1 once)", h)
	}
}

func TestTrimJournal(t *testing.T) {
	var j []journalRecord
	for g := uint64(1); g <= 600; g++ {
		j = append(j, journalRecord{Gen: g, Dir: "a"}, journalRecord{Gen: g, Dir: "b"})
	}
	j = append(j, journalRecord{Gen: 601, Dir: "c"})
	out := trimJournal(j)
	if len(out) > journalMax || out[0].Gen == out[1].Gen-1 && out[0].Dir == "b" {
		t.Fatalf("trimmed to %d records starting %+v %+v", len(out), out[0], out[1])
	}
	// Every kept generation is whole.
	count := map[uint64]int{}
	for _, r := range out {
		count[r.Gen]++
	}
	for g, n := range count {
		if g <= 600 && n != 2 {
			t.Fatalf("generation %d kept %d of its 2 records", g, n)
		}
	}
}
