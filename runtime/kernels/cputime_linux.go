package kernels

import (
	"syscall"
	"time"
	"unsafe"
)

// ThreadCPU returns the CPU time of the calling OS thread (the caller locks its goroutine to the
// thread across the two reads it subtracts), so that measurements leave out the time other
// processes had the core. It reads CLOCK_THREAD_CPUTIME_ID, which is exact (getrusage's thread
// times advance by scheduler ticks). The peak measurement, runtime's per-layer profile and the
// training step's critical-path estimate all read it here.
func ThreadCPU() (time.Duration, bool) {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
