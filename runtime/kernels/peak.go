package kernels

import (
	"runtime"
	"time"
)

// PeakGFLOPS measures this core's peak float32 multiply-add rate at level isa, in GFLOP/s:
// independent FMA chains (zmm for AVX512, ymm for AVX2; scalar Go multiply-adds for Generic) for
// about 50 ms on the calling goroutine (locked to its thread meanwhile), after a short warm-up. It
// returns 0 if isa is not supported. Time is the thread's CPU time where the OS reports it
// (Linux), else wall-clock time, so the figure is the core's rate while it runs this thread even
// when other processes share the machine; divide a rate measured the same way by it for a
// fraction of peak.
func PeakGFLOPS(isa ISA) float64 {
	if !Supported(isa) {
		return 0
	}
	run, flopsPerIter := sets[isa].fmaPeak, sets[isa].peakFlops
	const iters = 4096 // a few microseconds per call, so the goroutine stays preemptible
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	measure := func(d time.Duration) float64 {
		start, cpu0 := time.Now(), cpuNow()
		calls := 0
		for time.Since(start) < d {
			for range 16 {
				run(iters)
			}
			calls += 16
		}
		return float64(calls) * iters * flopsPerIter / (cpuNow() - cpu0).Seconds() / 1e9
	}
	measure(5 * time.Millisecond) // warm-up (clock and power state)
	// The best of five 10 ms windows: the peak is what the core sustains, and the machine is
	// shared.
	best := 0.0
	for range 5 {
		best = max(best, measure(10*time.Millisecond))
	}
	return best
}

// cpuNow is the calling thread's CPU time if the OS reports it, else the wall-clock time since
// an arbitrary origin. The caller locks its goroutine to its thread.
func cpuNow() time.Duration {
	if t, ok := ThreadCPU(); ok {
		return t
	}
	return time.Since(wallOrigin)
}

var wallOrigin = time.Now()
