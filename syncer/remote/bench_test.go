package remote_test

import (
	"context"
	"testing"

	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/vv"
)

// BenchmarkCommitReplace is the engine's hot path after an edit: one
// replacing Put in a subdirectory (history write, directory publish,
// state update) on the in-memory 10-server grid.
func BenchmarkCommitReplace(b *testing.B) {
	g := gridtest.New(10)
	ctx := context.Background()
	f, err := remote.Create(ctx, g, "DEVA")
	if err != nil {
		b.Fatal(err)
	}
	var base vv.Vector
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		const c = "URI:LIT:mfrgg" // "abc"
		m := remote.FileMeta{Size: 3, Ver: base.Bump("DEVA"), By: "DEVA"}
		m.Hash[0] = byte(i)
		r, err := f.Commit(ctx, "docs", []remote.Op{{Kind: remote.Put, Name: "f.txt", Cap: c, Meta: m, Base: base}}, remote.Retention{})
		if err != nil || !r[0].Applied {
			b.Fatal(r, err)
		}
		base = m.Ver
	}
}

// BenchmarkPoll is the idle cost: one poll that finds nothing new.
func BenchmarkPoll(b *testing.B) {
	g := gridtest.New(10)
	ctx := context.Background()
	f, err := remote.Create(ctx, g, "DEVA")
	if err != nil {
		b.Fatal(err)
	}
	gen, _, _, err := f.Poll(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, _, err := f.Poll(ctx, gen); err != nil {
			b.Fatal(err)
		}
	}
}
