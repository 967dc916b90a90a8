package reach

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/lafssync/lafssync/app/ui/uitest"
	"github.com/lafssync/lafssync/node/nat"
)

func lacks(t *testing.T, w fyne.Window, no string) {
	t.Helper()
	for _, s := range uitest.Texts(w.Content()) {
		if strings.Contains(s, no) {
			t.Errorf("window shows %q (in %q)", no, s)
		}
	}
}

// fake is a node whose report, grid and Apply results the test sets.
type fake struct {
	mu       sync.Mutex
	report   nat.Report
	next     nat.Report // what Check returns
	grid     Grid
	applyErr error
	applied  []string
	checks   int
	release  chan struct{} // if set, Check waits for it
}

func (f *fake) Report() nat.Report { f.mu.Lock(); defer f.mu.Unlock(); return f.report }
func (f *fake) Grid() Grid         { f.mu.Lock(); defer f.mu.Unlock(); return f.grid }

func (f *fake) Check(ctx context.Context) nat.Report {
	if f.release != nil {
		<-f.release
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks++
	f.report = f.next
	return f.next
}

func (f *fake) Apply(id string) (nat.Advice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, id)
	if f.applyErr != nil {
		return nat.Advice{}, f.applyErr
	}
	return f.report.Find(id)
}

var now = time.Date(2026, 12, 2, 14, 0, 0, 0, time.Local)

func syncOpts() Options {
	return Options{Go: func(f func()) { f() }, Now: func() time.Time { return now }}
}

func open(t *testing.T, src Source, o Options) *Window {
	t.Helper()
	a := test.NewApp()
	t.Cleanup(a.Quit)
	w := New(a, src, o)
	t.Cleanup(w.Close)
	w.Show()
	return w
}

var (
	storageOff = nat.Advice{ID: nat.AdviceStorageOff, Text: "Or turn this node's storage server off.",
		Changes: []nat.Setting{{Section: "storage", Key: "enabled", Value: "false"}}, Command: "lafs reachability --apply storage-off"}
	useRelay = nat.Advice{ID: nat.AdviceUseRelay, Text: "This node is behind double NAT: a relay carries the rest.",
		Changes: []nat.Setting{{Section: "node", Key: "reachability", Value: "outbound-only"}}, Command: "lafs reachability --apply use-relay"}
	readOnly = nat.Advice{ID: nat.AdviceStorageReadOnly, Text: "This node is reachable from the Internet. Run a storage server on it, read-only.",
		Changes: []nat.Setting{{Section: "storage", Key: "enabled", Value: "true"}, {Section: "storage", Key: "readonly", Value: "true"}},
		Command: "lafs reachability --apply storage-readonly"}
	portForward = nat.Advice{ID: nat.AdvicePortForward, Text: "On your router, forward TCP port 3456 to this computer (192.168.1.5 port 3456), then apply.",
		Changes: []nat.Setting{{Section: "node", Key: "tub.location", Value: "tcp:198.51.100.9:3456"}}, Command: "lafs reachability --apply port-forward"}
)

// TestEachVerdictShowsItsEvidenceAndAdvice: the verdict, its meaning in
// plain words, every evidence line and every advice with its change and
// an Apply button.
func TestEachVerdictShowsItsEvidenceAndAdvice(t *testing.T) {
	cases := []struct {
		r        nat.Report
		headline string // a phrase of the plain-words meaning
	}{
		{nat.Report{Verdict: nat.VerdictPublic, Announce: []string{"tcp:203.0.113.7:3456"}, CheckedAt: now.Add(-time.Minute),
			Evidence: []string{"a peer opened a new connection to 203.0.113.7:3456 (public, from tub.location) and reached this node (checked by v0-abc)"},
			Advice:   []nat.Advice{readOnly}}, "can connect to this computer directly"},
		{nat.Report{Verdict: nat.VerdictMapped, Announce: []string{"198.51.100.9:40000"}, CheckedAt: now,
			Evidence: []string{"the router mapped port 3456 to this node at 198.51.100.9:40000 (upnp)"}}, "a port your router opened"},
		{nat.Report{Verdict: nat.VerdictForwarded, Announce: []string{"198.51.100.9:3456"}, CheckedAt: now,
			Evidence: []string{"198.51.100.9:3456 is not an address of this computer: the router forwards it here"}}, "port forward on your router"},
		{nat.Report{Verdict: nat.VerdictNAT, Announce: []string{}, CheckedAt: now,
			Evidence: []string{"peers see this node at 198.51.100.9, which is not an address of this computer: it is behind NAT",
				"no relay is connected: nodes behind other NATs can neither reach this node nor be reached by it"},
			Advice: []nat.Advice{portForward, storageOff}}, "behind a router (NAT) or a firewall"},
		{nat.Report{Verdict: nat.VerdictCGNAT, Announce: []string{}, CheckedAt: now,
			Evidence: []string{"a peer sees this node at 100.70.1.2, inside your ISP's carrier-grade NAT"},
			Advice:   []nat.Advice{storageOff, useRelay}}, "carrier-grade"},
		{nat.Report{Verdict: nat.VerdictOffline, Announce: []string{"tcp:127.0.0.1:3456"}, Provisional: true, CheckedAt: now,
			Evidence: []string{"the node is connected to none of the 4 nodes it knows of"}}, "not connected to any other node"},
		{nat.Report{Verdict: nat.VerdictUnknown, Announce: []string{"tcp:127.0.0.1:3456"}, Provisional: true,
			Evidence: []string{"not checked yet"}}, "no other node could check"},
	}
	for _, c := range cases {
		t.Run(string(c.r.Verdict), func(t *testing.T) {
			w := open(t, &fake{report: c.r}, syncOpts())
			got := strings.Join(uitest.Texts(w.Content()), "\n")
			if !strings.Contains(got, "Reachability: "+string(c.r.Verdict)+"\n") {
				t.Errorf("verdict not shown:\n%s", got)
			}
			if !strings.Contains(got, c.headline) {
				t.Errorf("meaning %q not shown:\n%s", c.headline, got)
			}
			for _, e := range c.r.Evidence {
				uitest.Has(t, w, "• "+e)
			}
			for _, a := range c.r.Advice {
				uitest.Has(t, w, a.Text)
				if !strings.Contains(got, a.Changes[0].String()) || !strings.Contains(got, a.Command) {
					t.Errorf("advice %s: its change or command not shown:\n%s", a.ID, got)
				}
			}
			if n := strings.Count(got, "\n"+ApplyLabel+"\n"); n != len(c.r.Advice) {
				t.Errorf("%d Apply buttons for %d advice", n, len(c.r.Advice))
			}
			if len(c.r.Advice) == 0 {
				uitest.Has(t, w, "Nothing: no change would help this node now.")
			}
			switch {
			case c.r.Provisional:
				if !strings.Contains(got, "no peer has confirmed it yet") {
					t.Errorf("provisional announcement not said:\n%s", got)
				}
			case len(c.r.Announce) == 0:
				if !strings.Contains(got, "Announces: no address (outbound-only") {
					t.Errorf("outbound-only not said:\n%s", got)
				}
			}
			if c.r.CheckedAt.IsZero() {
				uitest.Has(t, w, "Not checked yet.")
			} else {
				uitest.Has(t, w, "Checked "+c.r.CheckedAt.Format("15:04")+".")
			}
		})
	}
}

func TestGridLines(t *testing.T) {
	cases := []struct {
		g    Grid
		want []string
	}{
		{Grid{}, []string{"Storage servers: none known yet.", "This node does not upload (it runs no client).",
			"Upload helper: none; uploads go to the storage servers directly.", "Relay: none in use."}},
		{Grid{Connected: 4, Known: 10, K: 3, Happy: 7, N: 10},
			[]string{"Storage servers: 4 of 10 connected.",
				"Uploads cannot be placed now: they need 7 different storage servers (servers of happiness) and only 4 are connected.",
				"Encoding: any 3 of 10 shares rebuild a file."}},
		{Grid{Connected: 8, Known: 10, K: 3, Happy: 7, N: 10, Helper: "v0-aaaaaaaabbbbbbbbccccccccddddddddeeeeeeeeffffffffgggg",
			Relays: []string{"v0-rrrrrrrrssssssss"}},
			[]string{"Storage servers: 8 of 10 connected.",
				"Uploads can be placed: they need 7 different storage servers (servers of happiness) and 8 are connected.",
				"Upload helper: v0-aaaaaaaa…; uploads go through it.",
				"Relay: v0-rrrrrrrr…; connections that cannot be direct go through it."}},
	}
	for _, c := range cases {
		got := GridLines(c.g)
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("GridLines(%+v) lacks %q; has %q", c.g, w, got)
			}
		}
	}
	w := open(t, &fake{report: nat.Report{Verdict: nat.VerdictNAT}, grid: Grid{Connected: 2, Known: 5, K: 3, Happy: 7, N: 10}}, syncOpts())
	uitest.Has(t, w, "Storage servers: 2 of 5 connected.")
}

func natReport() nat.Report {
	return nat.Report{Verdict: nat.VerdictNAT, CheckedAt: now, Announce: []string{},
		Evidence: []string{"peers see this node at 198.51.100.9, which is not an address of this computer: it is behind NAT"},
		Advice:   []nat.Advice{portForward, storageOff}}
}

// TestApplyCallsTheNodeAndSaysWhatChanged: tapping one advice's Apply
// applies that advice (not another), says what tahoe.cfg now holds and
// that a restart is needed, and disables that button only.
func TestApplyCallsTheNodeAndSaysWhatChanged(t *testing.T) {
	f := &fake{report: natReport()}
	w := open(t, f, syncOpts())
	test.Tap(w.cards[nat.AdviceStorageOff].apply)
	if !slices.Equal(f.applied, []string{nat.AdviceStorageOff}) {
		t.Fatalf("applied %q, want [storage-off]", f.applied)
	}
	uitest.Has(t, w, "Done: tahoe.cfg now has [storage] enabled = false. The old file is kept as tahoe.cfg.bak. "+RestartHint)
	if !w.cards[nat.AdviceStorageOff].apply.Disabled() || w.cards[nat.AdvicePortForward].apply.Disabled() {
		t.Error("after applying storage-off, its button should be disabled and port-forward's not")
	}
	lacks(t, w, RestartLabel) // no way to restart was given
	// Check again rebuilds the list; what was applied stays said.
	f.next = natReport()
	test.Tap(w.check)
	uitest.Has(t, w, "Done: tahoe.cfg now has [storage] enabled = false. The old file is kept as tahoe.cfg.bak. "+RestartHint)
	if !w.cards[nat.AdviceStorageOff].apply.Disabled() {
		t.Error("Apply is enabled again after Check again")
	}
}

func TestApplyFailureIsSaidInPlainWords(t *testing.T) {
	f := &fake{report: natReport(), applyErr: errors.New("open /home/u/.lafs/tahoe.cfg: permission denied")}
	w := open(t, f, syncOpts())
	test.Tap(w.cards[nat.AdvicePortForward].apply)
	if !slices.Equal(f.applied, []string{nat.AdvicePortForward}) {
		t.Fatalf("applied %q", f.applied)
	}
	uitest.Has(t, w, `Could not apply "port-forward": open /home/u/.lafs/tahoe.cfg: permission denied. tahoe.cfg was left as it was.`)
	lacks(t, w, "Done:")
	if w.cards[nat.AdvicePortForward].apply.Disabled() {
		t.Error("Apply stays disabled after a failure: the user cannot try again")
	}
}

func TestRestartOfferedOnlyWithAWayToRestart(t *testing.T) {
	restarts := 0
	o := syncOpts()
	o.Restart = func() error { restarts++; return nil }
	w := open(t, &fake{report: natReport()}, o)
	lacks(t, w, RestartLabel) // nothing applied yet
	test.Tap(w.cards[nat.AdviceStorageOff].apply)
	uitest.Has(t, w, RestartLabel, "Done: tahoe.cfg now has [storage] enabled = false. The old file is kept as tahoe.cfg.bak. The node uses the new setting after a restart.")
	test.Tap(w.restart)
	if restarts != 1 {
		t.Errorf("%d restarts", restarts)
	}
	uitest.Has(t, w, "The node is restarting with the new settings. Check again in a minute to see the new verdict.")
	lacks(t, w, RestartLabel)

	o.Restart = func() error { return errors.New("the node directory is held by another process") }
	w = open(t, &fake{report: natReport()}, o)
	test.Tap(w.cards[nat.AdviceStorageOff].apply)
	test.Tap(w.restart)
	uitest.Has(t, w, "The node could not be restarted: the node directory is held by another process. Quit LAFS Sync and start it again.")
}

// TestCheckAgainRunsOffTheUIGoroutine: while the check runs the window
// says so and Check again is disabled; the new verdict replaces the old.
func TestCheckAgainRunsOffTheUIGoroutine(t *testing.T) {
	f := &fake{report: nat.Report{Verdict: nat.VerdictUnknown, Evidence: []string{"not checked yet"}},
		next: nat.Report{Verdict: nat.VerdictPublic, Reason: "a peer reached this node", CheckedAt: now,
			Evidence: []string{"a peer opened a new connection to 203.0.113.7:3456 and reached this node"}, Announce: []string{"203.0.113.7:3456"}}}
	var wg sync.WaitGroup
	o := syncOpts()
	w := open(t, f, o) // the first read runs synchronously
	w.opt.Go = func(fn func()) { wg.Go(fn) }
	f.release = make(chan struct{})
	test.Tap(w.check) // returns while Check blocks
	uitest.Has(t, w, Checking, "Reachability: unknown")
	if !w.check.Disabled() {
		t.Error("Check again is enabled while a check runs")
	}
	close(f.release)
	wg.Wait()
	if f.checks != 1 {
		t.Errorf("%d checks", f.checks)
	}
	uitest.Has(t, w, "Reachability: public", "• a peer opened a new connection to 203.0.113.7:3456 and reached this node",
		"Checked again: public: a peer reached this node")
	if w.check.Disabled() {
		t.Error("Check again stays disabled")
	}
}

func TestClosingTheWindowEndsItsContext(t *testing.T) {
	w := open(t, &fake{report: natReport()}, syncOpts())
	w.Close()
	select {
	case <-w.ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a check started from the window would outlive it")
	}
}

// notifying is a fake whose changes are announced, as a node's
// ReachChanged does.
type notifying struct {
	*fake
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifying) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// set changes the node's report and says so.
func (n *notifying) set(r nat.Report) {
	n.fake.mu.Lock()
	n.report = r
	n.fake.mu.Unlock()
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
}

// texts is what w shows, read while no live update runs.
func texts(w *Window) []string {
	w.widgets.Lock()
	defer w.widgets.Unlock()
	return uitest.Texts(w.Content())
}

func waitShown(t *testing.T, w *Window, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(texts(w), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the window never showed %q; it shows %q", want, texts(w))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOpenWindowFollowsTheVerdict: a verdict change the node announces
// shows in the open window at once (no poll: Every < 0), in the same
// labels; Apply's outcome stays.
func TestOpenWindowFollowsTheVerdict(t *testing.T) {
	n := &notifying{fake: &fake{report: natReport(), grid: Grid{Connected: 4, Known: 10, K: 3, Happy: 7, N: 10}}}
	o := syncOpts()
	o.Every = -1
	w := open(t, n, o)
	uitest.Has(t, w, "Reachability: "+string(nat.VerdictNAT))
	verdict := w.verdict
	test.Tap(w.cards[nat.AdviceStorageOff].apply)
	applied := "Done: tahoe.cfg now has [storage] enabled = false. The old file is kept as tahoe.cfg.bak. " + RestartHint

	pub := nat.Report{Verdict: nat.VerdictPublic, CheckedAt: now, Announce: []string{"tcp:203.0.113.7:3456"},
		Evidence: []string{"a peer opened a new connection to 203.0.113.7:3456 and reached this node"},
		Advice:   []nat.Advice{readOnly, storageOff}}
	n.set(pub)
	waitShown(t, w, "Reachability: public")
	got := texts(w)
	for _, want := range []string{Headline(nat.VerdictPublic), "Announces: tcp:203.0.113.7:3456.",
		"• a peer opened a new connection to 203.0.113.7:3456 and reached this node", readOnly.Text, applied} {
		if !slices.Contains(got, want) {
			t.Errorf("after the change the window lacks %q; has %q", want, got)
		}
	}
	if slices.Contains(got, "• "+natReport().Evidence[0]) || slices.Contains(got, portForward.Text) {
		t.Errorf("the old report's evidence or advice is still shown: %q", got)
	}
	if w.verdict != verdict || verdict.Text != "Reachability: public" {
		t.Error("the verdict label was replaced rather than changed")
	}
	n.set(natReport())
	waitShown(t, w, "Reachability: "+string(nat.VerdictNAT))
}

// TestOpenWindowFollowsTheGrid: storage servers connecting show at the
// next poll, without the advice cards (and their buttons) being rebuilt.
func TestOpenWindowFollowsTheGrid(t *testing.T) {
	f := &fake{report: natReport(), grid: Grid{Connected: 4, Known: 10, K: 3, Happy: 7, N: 10}}
	o := syncOpts()
	o.Every = 20 * time.Millisecond
	w := open(t, f, o)
	uitest.Has(t, w, "Storage servers: 4 of 10 connected.")
	w.widgets.Lock()
	apply := w.cards[nat.AdvicePortForward].apply
	w.widgets.Unlock()
	f.mu.Lock()
	f.grid.Connected = 8
	f.mu.Unlock()
	waitShown(t, w, "Storage servers: 8 of 10 connected.")
	waitShown(t, w, "Uploads can be placed: they need 7 different storage servers (servers of happiness) and 8 are connected.")
	w.widgets.Lock()
	same := w.cards[nat.AdvicePortForward].apply == apply
	w.widgets.Unlock()
	if !same {
		t.Error("a grid change rebuilt the advice cards")
	}
	if slices.Contains(texts(w), "Storage servers: 4 of 10 connected.") {
		t.Error("the old server count is still shown")
	}
}

// gated is a notifying fake whose first Changed waits for gate: the
// window's live-update goroutine starts late.
type gated struct {
	*notifying
	gate chan struct{}
	once sync.Once
}

func (g *gated) Changed() <-chan struct{} {
	g.once.Do(func() { <-g.gate })
	return g.notifying.Changed()
}

// A change that comes after the window's first read but before its live
// updates start is shown, not lost (with no polling it was lost for good).
func TestWindowShowsAChangeBeforeItsUpdatesStart(t *testing.T) {
	n := &gated{notifying: &notifying{fake: &fake{report: natReport(), grid: Grid{Connected: 4, Known: 10, K: 3, Happy: 7, N: 10}}}, gate: make(chan struct{})}
	o := syncOpts()
	o.Every = -1
	w := open(t, n, o)
	uitest.Has(t, w, "Reachability: "+string(nat.VerdictNAT))
	n.set(nat.Report{Verdict: nat.VerdictPublic, CheckedAt: now, Announce: []string{"tcp:203.0.113.7:3456"}})
	close(n.gate)
	waitShown(t, w, "Reachability: public")
}
