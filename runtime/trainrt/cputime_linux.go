package trainrt

import (
	"syscall"
	"time"
	"unsafe"
)

// ThreadCPU is the calling OS thread's CPU time (CLOCK_THREAD_CPUTIME_ID, exact), or false;
// meaningful between two calls on one thread (the goroutine locked to it).
func ThreadCPU() (time.Duration, bool) {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
