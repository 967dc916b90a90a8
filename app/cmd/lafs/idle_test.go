package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/internal/testkit"
)

// cpuTicks is a process's user+system CPU time in clock ticks.
func cpuTicks(b *testing.B, pid int) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which is in parentheses).
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// BenchmarkIdleNode20Peers: a node with 20 connected peers (an
// introducer and 20 storage servers, each its own process) does nothing
// for a while; its CPU use is reported as a percentage of one core
// (goal < 1%). Keepalives, the introducer poll and the broker are all it
// runs.
func BenchmarkIdleNode20Peers(b *testing.B) {
	window := 30 * time.Second
	if testing.Short() {
		window = 5 * time.Second
	}
	root := b.TempDir()
	lafs(b, nil, "create-introducer", filepath.Join(root, "intro"))
	runNode(b, nil, filepath.Join(root, "intro"), "introducer address: ")
	iu, err := os.ReadFile(filepath.Join(root, "intro", "private", "introducer.url"))
	if err != nil {
		b.Fatal(err)
	}
	var servers []int
	for i := 0; i < 20; i++ {
		dir := filepath.Join(root, fmt.Sprintf("s%d", i))
		lafs(b, nil, "create-node", "--storage", "--introducer", strings.TrimSpace(string(iu)), dir)
		servers = append(servers, runNode(b, nil, dir, "web API: ").Process.Pid)
	}
	client := filepath.Join(root, "client")
	lafs(b, nil, "create-node", "--introducer", strings.TrimSpace(string(iu)), client)
	pid := runNode(b, nil, client, "web API: ").Process.Pid
	testkit.WaitFor(b, "the node to connect to 20 servers", 60*time.Second, func() bool { return status(b, nil, client).connected() == 20 })
	time.Sleep(2 * time.Second) // let start-up work finish
	for b.Loop() {
		c0 := cpuTicks(b, pid)
		s0 := make([]int64, len(servers))
		for i, p := range servers {
			s0[i] = cpuTicks(b, p)
		}
		time.Sleep(window)
		hz := 100.0 // USER_HZ on Linux
		b.ReportMetric(100*float64(cpuTicks(b, pid)-c0)/hz/window.Seconds(), "client-cpu-%")
		var worst float64
		for i, p := range servers {
			worst = max(worst, 100*float64(cpuTicks(b, p)-s0[i])/hz/window.Seconds())
		}
		b.ReportMetric(worst, "max-server-cpu-%")
	}
}
