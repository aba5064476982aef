//go:build !linux

package trainrt

import "time"

// ThreadCPU reports false where a thread's CPU time is not read.
func ThreadCPU() (time.Duration, bool) { return 0, false }
