package kernels

import (
	"fmt"
	"math"
)

// Erf applies the error function to every value: out[i] = erf(in[i]) (torch.erf), computed in
// float64 and rounded, so the result is the correctly rounded float32 of erf to within an ulp.
type Erf struct{}

// Run computes out = erf(in) over len(out) values. out may be in (not otherwise overlap it).
func (Erf) Run(out, in []float32) {
	if len(in) < len(out) {
		panic(fmt.Sprintf("kernels: Erf: slice too short: out %d in %d", len(out), len(in)))
	}
	for i, v := range in[:len(out)] {
		out[i] = float32(math.Erf(float64(v)))
	}
}
