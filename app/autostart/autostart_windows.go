//go:build windows

package autostart

import (
	"errors"
	"strings"

	"golang.org/x/sys/windows/registry"
)

const runKey = `Software\Microsoft\Windows\CurrentVersion\Run`

func where() string { return `HKCU\` + runKey + `\` + Name }

// Enable writes the Run value (the .msi's StartAtLogin feature writes the
// same value, so either way of turning it on is seen by the other).
func Enable(e Entry) error {
	if err := e.check(); err != nil {
		return err
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return err
	}
	defer k.Close()
	return k.SetStringValue(Name, commandLine(e))
}

// Disable deletes the Run value.
func Disable() error {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer k.Close()
	if err := k.DeleteValue(Name); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return err
	}
	return nil
}

// Get reads the Run value.
func Get() (Status, error) {
	st := Status{Where: where()}
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	defer k.Close()
	v, _, err := k.GetStringValue(Name)
	if errors.Is(err, registry.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.Enabled = true
	if strings.HasPrefix(v, `"`) {
		st.Program, _, _ = strings.Cut(v[1:], `"`)
	} else {
		st.Program, _, _ = strings.Cut(v, " ")
	}
	return st, nil
}

// commandLine quotes the program and arguments the way CommandLineToArgvW
// splits them back.
func commandLine(e Entry) string {
	parts := []string{`"` + e.Program + `"`}
	for _, a := range e.Args {
		if a == "" || strings.ContainsAny(a, " \t\"") {
			a = `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
