package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkApply times each activation at each level over one call's chunk (actChunk values,
// 16 KiB: in L1) and over 256 KiB (in L2). Every iteration first copies fresh inputs (uniform in
// [-8, 8]) into the slice, so that repeated in-place application does not walk the values into
// the subnormals or a constant; "none" is that copy alone, the overhead to subtract. ns/elem is
// per value in the thread's CPU time (which leaves out the time other jobs on a shared machine
// had the core), and cyc/elem that at the clock the AVX2 FMA peak implies (two 8-lane FMAs a
// cycle: PeakGFLOPS(AVX2)/32 GHz, measured once per test binary).
func BenchmarkApply(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	src := make([]float32, 1<<16)
	for i := range src {
		src[i] = (rng.Float32()*2 - 1) * 8
	}
	ghz := 0.0
	if Supported(AVX2) {
		ghz = peakOf(AVX2) / 32
	}
	acts := []Act{ActNone, ActSiLU, ActSigmoid, ActTanh, ActGELU, ActGELUTanh, ActReLU, ActHardSwish}
	benchEachISA(b, func(b *testing.B) {
		for _, n := range []int{actChunk, len(src)} {
			for _, a := range acts {
				b.Run(fmt.Sprintf("%v/n=%d", a, n), func(b *testing.B) {
					x := make([]float32, n)
					cpu := startCPU(b)
					for b.Loop() {
						copy(x, src[:n])
						apply(a, x)
					}
					d := cpu.stop()
					if d <= 0 {
						d = b.Elapsed()
					}
					ns := float64(d.Nanoseconds()) / float64(b.N) / float64(n)
					b.ReportMetric(ns, "ns/elem")
					if ghz > 0 {
						b.ReportMetric(ns*ghz, "cyc/elem")
					}
				})
			}
		}
	})
}
