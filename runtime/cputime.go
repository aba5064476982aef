package runtime

import (
	"time"

	"github.com/cnngen/cnngen/runtime/kernels"
)

// threadCPU is the calling OS thread's CPU time, or false where it is not read (kernels.ThreadCPU).
func threadCPU() (time.Duration, bool) { return kernels.ThreadCPU() }
