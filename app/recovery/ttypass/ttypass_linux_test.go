package ttypass

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: what the test types into master
// arrives on slave, and what the terminal echoes comes back on master.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open the pty's slave: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func TestReadDoesNotEcho(t *testing.T) {
	m, s := openPTY(t)
	sfd := int(s.Fd())
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := Read(s)
		done <- result{line, err}
	}()
	// Type only once the echo is off, as a person does after the prompt.
	for i := 0; ; i++ {
		tio, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
		if err == nil && tio.Lflag&unix.ECHO == 0 {
			break
		}
		if i == 500 {
			t.Fatal("Read never turned the echo off")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := m.WriteString("violet kettle\r"); err != nil {
		t.Fatal(err)
	}
	var got result
	select {
	case got = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Read did not return")
	}
	if got.err != nil || got.line != "violet kettle" {
		t.Fatalf("Read = %q, %v", got.line, got.err)
	}
	// Whatever the terminal sent back holds no character of it.
	time.Sleep(100 * time.Millisecond)
	fd := int(m.Fd()) // Fd makes the file blocking: once, before SetNonblock
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	var echo bytes.Buffer
	buf := make([]byte, 256)
	for range 100 {
		n, err := unix.Read(fd, buf)
		if n <= 0 || err != nil {
			break
		}
		echo.Write(buf[:n])
	}
	if strings.Contains(echo.String(), "violet") {
		t.Errorf("the terminal echoed the passphrase: %q", echo.String())
	}
	// The echo is back on afterwards.
	tio, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err != nil || tio.Lflag&unix.ECHO == 0 {
		t.Errorf("echo not restored: %v", err)
	}
}

func TestReadRefusesAFile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Read(f); err != ErrNoTerminal {
		t.Errorf("Read of a plain file: %v", err)
	}
}
