package testkit

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Lafs runs the lafs binary at bin (RunWithLafs builds it) with args and
// returns its standard output; the test fails, with both outputs, when the
// command does not exit 0.
func Lafs(t testing.TB, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lafs %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// IntroducerURL is the fURL of the introducer made in dir (lafs
// create-introducer writes it to private/introducer.url).
func IntroducerURL(t testing.TB, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "private", "introducer.url"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// Node is a `lafs run DIR` process started by RunNode.
type Node struct {
	Dir  string
	Cmd  *exec.Cmd
	Done chan struct{} // closed when the process has exited
}

// RunNode starts argv (a `lafs run DIR` command line, possibly behind a
// prefix such as `ip netns exec NS`) for the node in dir, its standard
// error appended to dir+".log", and waits up to 30 s for a line of its
// standard output that starts with want; it fails the test when the
// process exits first or the line does not come. The process is stopped
// (interrupt, then kill after 10 s) when the test ends.
func RunNode(t testing.TB, dir, want string, argv ...string) *Node {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(dir+".log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	n := &Node{Dir: dir, Cmd: cmd, Done: make(chan struct{})}
	ready := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), want) {
				select {
				case ready <- struct{}{}:
				default:
				}
			}
		}
		cmd.Wait()
		logf.Close()
		close(n.Done)
	}()
	t.Cleanup(n.Stop)
	select {
	case <-ready:
	case <-n.Done:
		b, _ := os.ReadFile(dir + ".log")
		t.Fatalf("%s exited:\n%s", strings.Join(argv, " "), b)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not print %q in 30 s", strings.Join(argv, " "), want)
	}
	return n
}

// Stop interrupts the process and waits for it (killing it after 10 s).
func (n *Node) Stop() {
	select {
	case <-n.Done:
		return
	default:
	}
	n.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.Done:
	case <-time.After(10 * time.Second):
		n.Cmd.Process.Kill()
		<-n.Done
	}
}
