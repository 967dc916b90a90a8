package remote_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
	"github.com/lafssync/lafssync/syncer/vv"
)

// TestModelSequence drives random puts and deletes from two devices, each
// based on what that device last listed (so often stale), and checks every
// result and the final tree against a model of the rules in Op, and that
// every replaced or deleted version is in history.
func TestModelSequence(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { modelSequence(t, seed) })
	}
}

func modelSequence(t *testing.T, seed uint64) {
	g := gridtest.New(5)
	ctx := ctxT(t)
	a := newFolder(t, g, "DEVA")
	b, _ := remote.Open(ctx, g, a.WriteCap(), "DEVB")
	devs := []*remote.Folder{a, b}
	rng := rand.New(rand.NewPCG(seed, 2))
	dirs := []string{"", "a", "a/b"}
	names := []string{"x", "y"}
	keep := remote.Retention{Versions: 1000, MaxAge: 1000 * time.Hour}

	type file struct {
		ver vv.Vector
		cap string
	}
	model := map[string]file{}              // path → current version
	hist := map[string][]string{}           // path → caps replaced or deleted, oldest first
	seen := [2]map[string]vv.Vector{{}, {}} // what each device last saw
	steps := 40
	if testing.Short() {
		steps = 15
	}
	for step := 0; step < steps; step++ {
		di := rng.IntN(2)
		f := devs[di]
		dir, name := dirs[rng.IntN(len(dirs))], names[rng.IntN(len(names))]
		p := dir + "/" + name
		base := seen[di][p]
		cur, exists := model[p]
		var op remote.Op
		if rng.IntN(4) == 0 {
			op = remote.Op{Kind: remote.Delete, Name: name, Base: base}
		} else {
			c, m := upload(t, f, fmt.Sprintf("%s step %d", f.Device(), step), f.Device(), base)
			op = remote.Op{Kind: remote.Put, Name: name, Cap: c, Meta: m, Base: base}
		}
		// The model's answer.
		match := !exists && base.IsZero() || exists && !base.IsZero() && cur.ver.Compare(base) == vv.Equal
		wantApplied := match || op.Kind == remote.Delete && !exists && base.IsZero()
		r, err := f.Commit(ctx, dir, []remote.Op{op}, keep)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if r[0].Applied != wantApplied {
			t.Fatalf("step %d: %s %v on %s base %v (current %v, exists %v): applied %v, want %v",
				step, f.Device(), op.Kind, p, base, cur.ver, exists, r[0].Applied, wantApplied)
		}
		switch {
		case r[0].Applied && op.Kind == remote.Put:
			if exists {
				hist[p] = append(hist[p], cur.cap)
			}
			model[p] = file{op.Meta.Ver, op.Cap}
			seen[di][p] = op.Meta.Ver
		case r[0].Applied && op.Kind == remote.Delete:
			if exists {
				hist[p] = append(hist[p], cur.cap)
			}
			delete(model, p)
			delete(seen[di], p)
		default:
			// Not applied: the device learns what is there.
			if (r[0].Current == nil) != !exists {
				t.Fatalf("step %d: Current %+v, model exists %v", step, r[0].Current, exists)
			}
			if exists {
				if r[0].Current.Meta.Ver.Compare(cur.ver) != vv.Equal {
					t.Fatalf("step %d: Current ver %v, model %v", step, r[0].Current.Meta.Ver, cur.ver)
				}
				seen[di][p] = cur.ver
			} else {
				delete(seen[di], p)
			}
		}
	}
	for _, dir := range dirs {
		es, err := b.List(ctx, dir)
		if err != nil && len(es) != 0 {
			t.Fatal(err)
		}
		for _, name := range names {
			p := dir + "/" + name
			m, inModel := model[p]
			e := es[name]
			if inModel != (e != nil) || inModel && (e.Cap != m.cap || e.Meta.Ver.Compare(m.ver) != vv.Equal) {
				t.Errorf("%s: grid %+v, model %+v (in model %v)", p, e, m, inModel)
			}
			want := hist[p]
			if len(want) == 0 {
				continue
			}
			h, err := a.History(ctx, p) // "/x" at the root: leading slashes are trimmed
			if err != nil || len(h) != len(want) {
				t.Errorf("%s: history %d versions (%v), want %d", p, len(h), err, len(want))
				continue
			}
			for i, v := range h {
				if v.Cap != want[len(want)-1-i] {
					t.Errorf("%s: history version %d is not the model's", p, i+1)
				}
			}
		}
	}
}
