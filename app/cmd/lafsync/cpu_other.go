//go:build !unix

package main

import "time"

// processCPU is 0 here: the start-up trace reports CPU on Unix only.
func processCPU() time.Duration { return 0 }
