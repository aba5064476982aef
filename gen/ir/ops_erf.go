package ir

import "math"

// OpErf is the error function, elementwise (torch.erf): exact GELU is x*(1+erf(x/sqrt2))/2,
// which exporters write out with it.
const OpErf Op = "erf"

func init() {
	register(&OpDef{
		Op:     OpErf,
		Doc:    "erf(x), the error function (torch.erf)",
		ONNX:   "Erf",
		Inputs: 1,
		Flags:  Elementwise,
		Infer:  same,
		Unary:  func(Attrs) func(float64) float64 { return math.Erf },
		// No Act: erf is not a kernel activation; it has a kernel of its own (kernels.Erf).
	})
}
