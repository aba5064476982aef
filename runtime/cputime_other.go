//go:build !linux

package runtime

import "time"

// threadCPU reports false where a thread's CPU time is not read.
func threadCPU() (time.Duration, bool) { return 0, false }
