//go:build !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// detectISA probes the CPU once. cpuid's feature flags include the OS's support (XCR0) for the
// ymm and zmm/opmask state, so a level reported here is safe to run.
func detectISA() ISA {
	c := &cpuid.CPU
	switch {
	case c.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F):
		return AVX512
	case c.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3):
		return AVX2
	}
	return Generic
}
