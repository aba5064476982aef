package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The direct weight gradient's dot products in TestKernelTwins' sweep: lengths (multiples of
// 16, the assembly's contract), leading dimensions, shifts and start offsets, in guarded
// buffers, within the rounding of sums in another order.
func init() {
	twinChecks["wgradDot"] = twinEntry{func(k *kernelSet) any { return k.wgradDot }, checkWGradDot}
}

func checkWGradDot(t *testing.T, rng *rand.Rand, ks *kernelSet, simd, twin any) {
	for _, n := range []int{0, 16, 32, 48, 64, 80, 1008} {
		for _, off := range offsets {
			ldy := n + off%5
			offs := []int{0, 1 + off, 7, 2*n/3 + 3}
			maxOff := max(1+off, 7, 2*n/3+3)
			ld := 5 + off%3
			ops := []operand{
				newOp(2*ld+4, (off+3)%16, uniform(rng, false)),
				newOp(2*ldy+n, off, uniform(rng, false)),
				newOp(maxOff+n, (off+7)%16, uniform(rng, false)),
			}
			compare(t, fmt.Sprintf("n=%d off=%d", n, off), ops, []int{0}, sumTol(n), true,
				func(f any, s [][]float32) {
					f.(func([]float32, int, []float32, int, []float32, int, int, int, int, int))(s[0], ld, s[1], ldy, s[2], offs[0], offs[1], offs[2], offs[3], n)
				}, simd, twin)
		}
	}
}
