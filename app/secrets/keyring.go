package secrets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// Keyring is the part of an OS keyring the store uses. Get and Delete
// return an error wrapping keyring.ErrNotFound for a missing item.
type Keyring interface {
	Set(service, user, password string) error
	Get(service, user string) (string, error)
	Delete(service, user string) error
}

// OSKeyring is the OS keyring through go-keyring (or its mock after
// keyring.MockInit).
type OSKeyring struct{}

func (OSKeyring) Set(service, user, password string) error {
	return keyring.Set(service, user, password)
}
func (OSKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (OSKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }

// offKeyring is the keyring when LAFSSYNC_KEYRING=off.
type offKeyring struct{}

func (offKeyring) err() error {
	return &unavailableError{Why: EnvKeyring + "=off turns the keyring off"}
}
func (k offKeyring) Set(string, string, string) error   { return k.err() }
func (k offKeyring) Get(string, string) (string, error) { return "", k.err() }
func (k offKeyring) Delete(string, string) error        { return k.err() }

// unavailableError says the keyring cannot be used right now (as opposed
// to a keyring that answers and holds something unexpected). Why is in
// the user's words.
type unavailableError struct {
	Why string
	Err error
}

func (e *unavailableError) Error() string { return e.Why }
func (e *unavailableError) Unwrap() error { return e.Err }

// gate bounds keyring calls in time: run gives fn the timeout and returns
// an unavailableError if fn has not finished by then. fn then runs on in
// its goroutine (go-keyring calls cannot be cancelled); until it ends,
// run refuses at once rather than pile up stuck goroutines.
type gate struct {
	timeout time.Duration

	mu   sync.Mutex // guards busy
	busy chan struct{}
}

func (g *gate) run(fn func() error) error {
	g.mu.Lock()
	if g.busy != nil {
		select {
		case <-g.busy:
			g.busy = nil
		default:
			g.mu.Unlock()
			return &unavailableError{Why: fmt.Sprintf("the keyring has not answered an earlier request for more than %v (it may be locked and waiting for a password)", g.timeout)}
		}
	}
	done := make(chan struct{})
	g.busy = done
	g.mu.Unlock()
	var err error
	go func() {
		defer close(done)
		err = fn()
	}()
	t := time.NewTimer(g.timeout)
	defer t.Stop()
	select {
	case <-done:
		return err
	case <-t.C:
		return &unavailableError{Why: fmt.Sprintf("the keyring did not answer within %v (it may be locked and waiting for a password)", g.timeout)}
	}
}

// wait blocks until a call left running by a timeout has ended (tests).
func (g *gate) wait() {
	g.mu.Lock()
	b := g.busy
	g.mu.Unlock()
	if b != nil {
		<-b
	}
}

// classify turns an error from a keyring call into an unavailableError
// when it means "no keyring here"; keyring.ErrNotFound and errors this
// package made itself pass through.
func classify(err error) error {
	var u *unavailableError
	if err == nil || errors.Is(err, keyring.ErrNotFound) || errors.As(err, &u) {
		return err
	}
	var de dbus.Error
	if errors.As(err, &de) {
		switch de.Name {
		case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner", "org.freedesktop.DBus.Error.UnknownObject":
			return &unavailableError{Why: "no Secret Service on the session bus", Err: err}
		case "org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Timeout":
			return &unavailableError{Why: "the Secret Service did not answer", Err: err}
		}
		return &unavailableError{Why: fmt.Sprintf("the Secret Service refused (%s)", de.Name), Err: err}
	}
	msg := err.Error()
	switch {
	case os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" && strings.Contains(msg, "dbus"),
		strings.Contains(msg, "session bus"):
		return &unavailableError{Why: "no D-Bus session bus", Err: err}
	case strings.Contains(msg, "prompt") || strings.Contains(msg, "dismissed") || strings.Contains(msg, "lock"):
		return &unavailableError{Why: "the login keyring is locked, or there is none", Err: err}
	}
	return &unavailableError{Why: "the keyring failed: " + msg, Err: err}
}

// noBusKeyring is the keyring when no session bus is offered.
type noBusKeyring struct{}

func (noBusKeyring) err() error {
	return &unavailableError{Why: "no D-Bus session bus"}
}
func (k noBusKeyring) Set(string, string, string) error   { return k.err() }
func (k noBusKeyring) Get(string, string) (string, error) { return "", k.err() }
func (k noBusKeyring) Delete(string, string) error        { return k.err() }

// busOffered says whether a session bus is there to ask (tests replace
// it when go-keyring is mocked).
var busOffered = sessionBusOffered

// sessionBusOffered is true on macOS and Windows, and elsewhere when the
// environment names a session bus or $XDG_RUNTIME_DIR/bus (or
// /run/user/UID/bus) exists. Without one, godbus would run dbus-launch,
// which starts a bus and a keyring daemon that outlive the process: once
// for every lafs command on a headless machine.
func sessionBusOffered() bool {
	switch runtime.GOOS {
	case "darwin", "windows":
		return true
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return true
	}
	dirs := []string{fmt.Sprintf("/run/user/%d", os.Getuid())}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		dirs = []string{d}
	}
	for _, d := range dirs {
		if fi, err := os.Stat(filepath.Join(d, "bus")); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return true
		}
	}
	return false
}
