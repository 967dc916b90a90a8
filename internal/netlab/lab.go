package netlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// namePrefix starts the name of every namespace a Lab creates; the PID of
// the creating process follows, so that leftovers of a dead process can be
// told from a running test's namespaces.
const namePrefix = "nl-"

// CommandTimeout bounds every command the lab runs for its own setup.
const CommandTimeout = 15 * time.Second

// Tools are the programs a Lab needs.
var Tools = []string{"ip", "nft", "tc"}

// Unavailable says why labs cannot be built here ("" when they can).
func Unavailable() string {
	if os.Geteuid() != 0 {
		return "netlab: needs root for network namespaces"
	}
	for _, tool := range Tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Sprintf("netlab: needs %s (make deps installs iproute2 and nftables)", tool)
		}
	}
	return ""
}

// Lab is one test's set of namespaces.
type Lab struct {
	tb     testing.TB
	prefix string // nl-PID-RAND-

	mu    sync.Mutex // guards the fields below
	nss   []*NS
	links int // veth pairs made so far (names their switch-side ends)
	nets  int // LANs made so far (names their bridges)
}

// New returns an empty lab whose namespaces are deleted at tb's cleanup.
// It skips tb when labs cannot be built here, and first deletes the
// namespaces of labs whose process has exited.
func New(tb testing.TB) *Lab {
	tb.Helper()
	if why := Unavailable(); why != "" {
		tb.Skip(why)
	}
	RemoveStale()
	var r [2]byte
	rand.Read(r[:])
	l := &Lab{tb: tb, prefix: fmt.Sprintf("%s%d-%s-", namePrefix, os.Getpid(), hex.EncodeToString(r[:]))}
	tb.Cleanup(l.close)
	return l
}

// NS creates a namespace (its loopback up) named after name.
func (l *Lab) NS(name string) *NS {
	l.tb.Helper()
	ns := &NS{Name: l.prefix + name, lab: l}
	l.must("ip", "netns", "add", ns.Name)
	l.mu.Lock()
	l.nss = append(l.nss, ns)
	l.mu.Unlock()
	ns.MustRun("ip", "link", "set", "lo", "up")
	return ns
}

func (l *Lab) close() {
	l.mu.Lock()
	nss := l.nss
	l.nss = nil
	l.mu.Unlock()
	for i := len(nss) - 1; i >= 0; i-- {
		if err := deleteNS(nss[i].Name); err != nil {
			l.tb.Errorf("netlab: %v", err)
		}
	}
}

// must runs a command in the root namespace and fails the test on error.
func (l *Lab) must(args ...string) string {
	l.tb.Helper()
	out, err := run(nil, args...)
	if err != nil {
		l.tb.Fatal(err)
	}
	return out
}

// run runs args with CommandTimeout, stdin from in, and returns the
// combined output; an error names the command and includes the output.
func run(in []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if in != nil {
		cmd.Stdin = bytes.NewReader(in)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// deleteNS ends the processes still running in namespace name, then
// deletes it.
func deleteNS(name string) error {
	out, _ := run(nil, "ip", "netns", "pids", name)
	var pids []int
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range pids { // reaped by their parent, or gone at once
		for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if _, err := run(nil, "ip", "netns", "del", name); err != nil {
		if _, statErr := os.Stat("/run/netns/" + name); errors.Is(statErr, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

// RemoveStale deletes the namespaces of labs whose creating process no
// longer runs (a test binary that was killed before its cleanup).
func RemoveStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), namePrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		deleteNS(e.Name())
	}
}

// NS is one network namespace of a lab.
type NS struct {
	Name string // the full name, as ip netns knows it
	lab  *Lab

	mu  sync.Mutex // guards ifs
	ifs int        // interfaces made in this namespace (names them eth0, eth1, …)
}

// Prefix is the argv prefix that runs a program inside the namespace.
func (ns *NS) Prefix() []string { return []string{"ip", "netns", "exec", ns.Name} }

// Run runs a command inside the namespace (bounded by CommandTimeout)
// and returns its combined output.
func (ns *NS) Run(args ...string) (string, error) {
	return run(nil, append(ns.Prefix(), args...)...)
}

// MustRun is Run that fails the test on error.
func (ns *NS) MustRun(args ...string) string {
	ns.lab.tb.Helper()
	out, err := ns.Run(args...)
	if err != nil {
		ns.lab.tb.Fatal(err)
	}
	return out
}

// runInput is MustRun with stdin.
func (ns *NS) runInput(in []byte, args ...string) {
	ns.lab.tb.Helper()
	if _, err := run(in, append(ns.Prefix(), args...)...); err != nil {
		ns.lab.tb.Fatal(err)
	}
}

// Command returns a command that runs inside the namespace, ended when
// ctx is done.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := append(ns.Prefix(), name)
	return exec.CommandContext(ctx, argv[0], append(argv[1:], args...)...)
}

// Start starts a long-running command inside the namespace; at the
// test's cleanup it is interrupted, and killed if it has not exited 5 s
// later. Its combined output is collected in the returned Process.
func (ns *NS) Start(name string, args ...string) *Process {
	ns.lab.tb.Helper()
	p := &Process{done: make(chan struct{})}
	p.Cmd = ns.Command(context.Background(), name, args...)
	p.Cmd.Stdout, p.Cmd.Stderr = &p.out, &p.out
	if err := p.Cmd.Start(); err != nil {
		ns.lab.tb.Fatalf("start %s in %s: %v", name, ns.Name, err)
	}
	go func() { p.err = p.Cmd.Wait(); close(p.done) }()
	ns.lab.tb.Cleanup(p.Stop)
	return p
}

func (ns *NS) newIf() string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	name := fmt.Sprintf("eth%d", ns.ifs)
	ns.ifs++
	return name
}

// Process is a command started by NS.Start.
type Process struct {
	Cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	err  error // set before done is closed
}

// Output is what the process has written so far.
func (p *Process) Output() string { return p.out.String() }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop interrupts the process, kills it after 5 s, and waits for it.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.Cmd.Process.Kill()
		<-p.done
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // bounded: a chatty process keeps its first MiB
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
