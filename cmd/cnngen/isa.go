package main

import "fmt"

// isaLevel is the kernel level a benchmark runs at, and how to measure its peak.
type isaLevel struct {
	name string
	peak func(threads int) float64 // GFLOP/s of independent FMA chains; 0 when unknown
}

// selectISA applies -isa. Until the SIMD kernels land, only the pure-Go kernels exist.
func selectISA(name string) (isaLevel, error) {
	switch name {
	case "auto", "generic":
		return isaLevel{name: "generic", peak: func(int) float64 { return 0 }}, nil
	}
	return isaLevel{}, fmt.Errorf("-isa %s: this build has only the generic (pure Go) kernels", name)
}
