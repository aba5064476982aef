//go:build !linux

package kernels

import "time"

// ThreadCPU: not available here; measurements use wall-clock time.
func ThreadCPU() (time.Duration, bool) { return 0, false }
