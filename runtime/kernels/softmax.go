package kernels

import (
	"fmt"
	"math"
)

// Softmax normalizes blocks of Block values spaced Inner apart, Outer*Inner of them, of a
// row-major tensor: a softmax over one axis (or several contiguous ones) whose extent is Block,
// with Outer the product of the extents before it and Inner of those after; Log gives the
// log-softmax. The maximum is subtracted first, and sums run in float64.
type Softmax struct {
	Outer, Block, Inner int
	Log                 bool
}

// Run computes the softmax of in into out; out may be in (not otherwise overlap it).
func (s Softmax) Run(out, in []float32) {
	n := s.Outer * s.Block * s.Inner
	if len(in) < n || len(out) < n {
		panic(fmt.Sprintf("kernels: Softmax: slice too short: out %d in %d, want %d", len(out), len(in), n))
	}
	if s.Block == 0 {
		return
	}
	block, inner := s.Block, s.Inner
	for o := range s.Outer {
		for j := range inner {
			base := o*block*inner + j
			m := in[base]
			for k := 1; k < block; k++ {
				m = max(m, in[base+k*inner])
			}
			var sum float64
			for k := range block {
				sum += math.Exp(float64(in[base+k*inner] - m))
			}
			// Each value is read before it is written, so out may be in.
			if s.Log {
				ls := math.Log(sum)
				for k := range block {
					i := base + k*inner
					out[i] = float32(float64(in[i]-m) - ls)
				}
				continue
			}
			inv := 1 / sum
			for k := range block {
				i := base + k*inner
				out[i] = float32(math.Exp(float64(in[i]-m)) * inv)
			}
		}
	}
}
