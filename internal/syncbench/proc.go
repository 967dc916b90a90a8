package syncbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// Memory is a process's resident set size and its peak, in bytes.
type Memory struct {
	RSS, HWM int64
}

// ReadMemory reads VmRSS and VmHWM from /proc/PID/status.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return Memory{}, fmt.Errorf("/proc/%d/status: unexpected %s line %q", pid, k, line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("/proc/%d/status: %s: %w", pid, k, err)
		}
		if k == "VmRSS" {
			m.RSS = n << 10
		} else {
			m.HWM = n << 10
		}
	}
	if m.RSS == 0 {
		return Memory{}, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
	}
	return m, nil
}

// ReadCPU is the CPU time process pid has used, user plus system
// (utime + stime of /proc/PID/stat; its threads included, its children
// not).
func ReadCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// MemorySampler records a process's RSS every interval until stopped.
type MemorySampler struct {
	mu      sync.Mutex // guards samples, last
	samples []int64
	last    Memory
	stop    context.CancelFunc
	done    chan struct{}
}

// SampleMemory starts sampling pid's memory.
func SampleMemory(pid int, every time.Duration) *MemorySampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &MemorySampler{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if m, err := ReadMemory(pid); err == nil {
				s.mu.Lock()
				s.samples = append(s.samples, m.RSS)
				s.last = m
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// MemoryReport is what a sampler saw.
type MemoryReport struct {
	Samples      int
	First, Max   int64 // RSS
	Median, Last int64 // RSS
	HWM          int64 // VmHWM at the last sample: the process's peak since it started
}

// Stop ends sampling and reports.
func (s *MemorySampler) Stop() MemoryReport {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	r := MemoryReport{Samples: len(s.samples), HWM: s.last.HWM}
	if len(s.samples) == 0 {
		return r
	}
	r.First, r.Last = s.samples[0], s.samples[len(s.samples)-1]
	sorted := slices.Sorted(slices.Values(s.samples))
	r.Median, r.Max = sorted[len(sorted)/2], sorted[len(sorted)-1]
	return r
}

// String is the report in MB.
func (r MemoryReport) String() string {
	return fmt.Sprintf("RSS at start %s, median %s, max %s, at end %s; VmHWM %s (%d samples)",
		MB(r.First), MB(r.Median), MB(r.Max), MB(r.Last), MB(r.HWM), r.Samples)
}

// MB is n bytes in megabytes (10^6), one decimal.
func MB(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// Children lists the processes whose parent is pid.
func Children(pid int) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var kids []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue // gone meanwhile
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids, nil
}
