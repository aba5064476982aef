package benchrun

import (
	"github.com/cnngen/cnngen/runtime/kernels"
)

// isaLevel is the kernel level a benchmark runs at, and how to measure its peak.
type isaLevel struct {
	name string
	peak func(threads int) float64 // GFLOP/s of independent FMA chains, all threads
}

// selectISA applies -isa (already parsed by Options.Validate): auto keeps the level chosen at
// start (the best the CPU has, or CNNGEN_ISA); a named level must be supported by this CPU.
func selectISA(name string) (isaLevel, error) {
	level := kernels.Active()
	if name != "auto" {
		l, err := kernels.ParseISA(name)
		if err != nil {
			return isaLevel{}, err
		}
		if err := kernels.SetISA(l); err != nil {
			return isaLevel{}, err
		}
		level = l
	}
	return isaLevel{name: level.String(), peak: func(threads int) float64 {
		// The micro-benchmark runs on one core; cores run their FMA units independently.
		return kernels.PeakGFLOPS(level) * float64(threads)
	}}, nil
}
