package nodedir

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestSecondAcquireInProcessFails(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir)
	var he *HeldError
	if !errors.As(err, &he) || !errors.Is(err, ErrHeld) {
		t.Fatalf("second Acquire: %v, want a *HeldError", err)
	}
	if he.PID != os.Getpid() || he.Dir != dir {
		t.Errorf("HeldError = %+v, want PID %d dir %s", he, os.Getpid(), dir)
	}
	want := "LAFS Sync is already running on " + dir + " (process " + strconv.Itoa(os.Getpid()) + "); stop it first or use -d OTHERDIR"
	if err.Error() != want {
		t.Errorf("message %q\nwant      %q", err, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

// TestHelperHoldLock is the child of TestOtherProcessHoldsLock.
func TestHelperHoldLock(t *testing.T) {
	dir := os.Getenv("NODEDIR_TEST_HOLD")
	if dir == "" {
		t.Skip("helper process only")
	}
	if _, err := Acquire(dir); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	bufio.NewReader(os.Stdin).ReadString('\n') // hold until the parent closes stdin or kills us
}

func TestOtherProcessHoldsLock(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "NODEDIR_TEST_HOLD="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper: %q %v", line, err)
	}
	_, err = Acquire(dir)
	var he *HeldError
	if !errors.As(err, &he) || he.PID != cmd.Process.Pid {
		t.Fatalf("Acquire while another process holds it: %v, want HeldError naming PID %d", err, cmd.Process.Pid)
	}
	if Holder(dir) != cmd.Process.Pid {
		t.Errorf("Holder = %d, want %d", Holder(dir), cmd.Process.Pid)
	}
	// kill -9 releases the lock: no stale lock blocks a restart.
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after the holder died: %v", err)
	}
	l.Release()
}
