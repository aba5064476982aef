package kernels

import (
	"syscall"
	"time"
	"unsafe"
)

// threadCPUTime returns the CPU time of the calling OS thread (the caller locks its goroutine to
// the thread), so that measurements leave out the time other processes had the core. It reads
// CLOCK_THREAD_CPUTIME_ID, which is exact (getrusage's thread times advance by scheduler ticks).
func threadCPUTime() (time.Duration, bool) {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
