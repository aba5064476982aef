//go:build !linux

package kernels

import "time"

// threadCPUTime: not available here; measurements use wall-clock time.
func threadCPUTime() (time.Duration, bool) { return 0, false }
