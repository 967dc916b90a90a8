//go:build darwin

package autostart

import (
	"bytes"
	"os"
	"path/filepath"

	"howett.net/plist"
)

// Label is the LaunchAgent's label (the file's name without .plist).
const Label = "org.lafssync.lafsync"

func agentFile() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "Library", "LaunchAgents", Label+".plist"), nil
}

type agent struct {
	Label            string   `plist:"Label"`
	ProgramArguments []string `plist:"ProgramArguments"`
	RunAtLoad        bool     `plist:"RunAtLoad"`
	ProcessType      string   `plist:"ProcessType"`
}

// Enable writes the LaunchAgent; launchd starts it at the next login.
func Enable(e Entry) error {
	if err := e.check(); err != nil {
		return err
	}
	p, err := agentFile()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	enc := plist.NewEncoderForFormat(&b, plist.XMLFormat)
	enc.Indent("\t")
	if err := enc.Encode(agent{Label: Label, ProgramArguments: append([]string{e.Program}, e.Args...), RunAtLoad: true, ProcessType: "Interactive"}); err != nil {
		return err
	}
	return writeFile(p, b.Bytes(), 0o644)
}

// Disable removes the LaunchAgent.
func Disable() error {
	p, err := agentFile()
	if err != nil {
		return err
	}
	return removeFile(p)
}

// Get reads the LaunchAgent.
func Get() (Status, error) {
	p, err := agentFile()
	if err != nil {
		return Status{}, err
	}
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return Status{Where: p}, nil
	}
	if err != nil {
		return Status{}, err
	}
	var a agent
	if _, err := plist.Unmarshal(b, &a); err != nil {
		return Status{Where: p}, err
	}
	st := Status{Where: p, Enabled: a.RunAtLoad}
	if len(a.ProgramArguments) > 0 {
		st.Program = a.ProgramArguments[0]
	}
	return st, nil
}
