package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The start-up trace logs each stage once, in the form the benchmark reads
// (startStages), and its CPU profile ends at the stage it was asked to.
func TestStartTrace(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "start.prof")
	t.Setenv(startTraceEnv, "1")
	t.Setenv(cpuProfileEnv, prof)
	t.Setenv(profileUntilEnv, "")
	begun := time.Now()
	tr := newStartTrace()
	var logs bytes.Buffer
	tr.setLog(slog.New(slog.NewTextHandler(&logs, nil)))
	tr.stage(stageTraySetup)
	tr.stage(stageTray)
	tr.stage(stageTray) // a second time: not the start any more
	tr.stage(stageNode)
	tr.stopProfile("quit")

	got := startStages(logs.String(), begun.Add(-time.Second))
	for _, s := range []string{stageMain, stageTraySetup, stageTray, stageNode} {
		st, ok := got[s]
		if !ok {
			t.Errorf("no %q stage in the log:\n%s", s, logs.String())
			continue
		}
		// slog's time= has millisecond precision (truncated): a stage
		// logged within a millisecond of begun can read up to 1 ms early.
		if st.at < time.Second-time.Millisecond || st.at > time.Minute {
			t.Errorf("stage %q at %v after a start 1 s before the trace began", s, st.at)
		}
	}
	if n := strings.Count(logs.String(), "stage=tray "); n != 1 {
		t.Errorf("the tray stage is logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `msg="start-up CPU profile written" file=`+prof+` at="stage tray"`) {
		t.Errorf("the profile did not end at the tray stage:\n%s", logs.String())
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b { // pprof writes gzip
		t.Errorf("the profile is not a pprof file (%d bytes)", len(b))
	}
}

// Without the variables the trace logs nothing and writes no profile.
func TestStartTraceOff(t *testing.T) {
	t.Setenv(startTraceEnv, "")
	t.Setenv(cpuProfileEnv, "")
	tr := newStartTrace()
	var logs bytes.Buffer
	tr.setLog(slog.New(slog.NewTextHandler(&logs, nil)))
	tr.stage(stageTray)
	tr.stopProfile("quit")
	if logs.Len() != 0 {
		t.Errorf("logged with the trace off:\n%s", logs.String())
	}
}
