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

// entryFile is the LaunchAgent's path (~/Library/LaunchAgents).
func entryFile() (string, error) {
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

// encodeEntry is the LaunchAgent for e: RunAtLoad, so launchd starts it at
// the next login.
func encodeEntry(e Entry) ([]byte, error) {
	var b bytes.Buffer
	enc := plist.NewEncoderForFormat(&b, plist.XMLFormat)
	enc.Indent("\t")
	if err := enc.Encode(agent{Label: Label, ProgramArguments: append([]string{e.Program}, e.Args...), RunAtLoad: true, ProcessType: "Interactive"}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// parseEntry reads the LaunchAgent at p.
func parseEntry(p string, b []byte) (Status, error) {
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
