//go:build !linux

package runtime

import "time"

var start = time.Now()

// threadCPU is wall time where the thread's CPU time is not read: part-us then includes waits.
func threadCPU() time.Duration { return time.Since(start) }
