package kernels

import (
	"fmt"
	"strconv"
)

// Act is an activation: fused into a Conv's, Linear's or Add's epilogue (the parameterless
// ones, see Epilogue), or run on its own by Eltwise (all of them, with Eltwise's parameters).
//
// # Accuracy
//
// ReLU, ReLU6, HardSigmoid, HardSwish and Clip are exact: the float32 rounding of their formula,
// the same bits at every level (up to the sign of a zero). The others are within these bounds
// of the exact value (float64), at every level, wherever it is a normal float32 and x is not
// in the tail the last column names. TestActAccuracy checks them over every float32 exponent
// (both signs, 1024 mantissas each); the measured worst (at Go, AVX2, AVX-512) is over that
// sweep, 16 million random values in [-14, 14] and [-20, 20] in steps of 1e-4, and for sigmoid
// and SiLU every 8th float32 in [-87.33, 20] (u = 2^-24):
//
//	activation  relative error                 measured (Go, AVX2, AVX-512)      tail
//	sigmoid     3e-7 (5 u)                     1.5e-7, 1.9e-7, 2.0e-7            x < -87.33: +0
//	silu        3e-7                           1.7e-7, 2.4e-7, 2.4e-7            x < -87.33: x*0
//	tanh        3e-7                           5.9e-8, 1.9e-7, 2.0e-7
//	gelu        6e-7                           5.0e-7, 5.1e-7, 5.1e-7            x < -13
//	gelu_tanh   1.2e-6 (x >= -3), 2e-5 below   8.8e-7, 9.3e-7, 9.9e-7 (x >= -3)  x < -10
//	                                           1.3e-5 at x = -9.98 (all three)
//
// In the tails the exact values are below float32's normal range or close to its end: sigmoid
// is +0 where the exact value is below 1.2e-38, SiLU x*0 (-0; exact values above -1.1e-36); the
// GELUs (exact values below 1e-37 and 2e-36 in magnitude, intermediates subnormal) are at most
// the exact magnitude (to 2e-5), maybe 0. The tanh form of GELU is 0.5*x*(1+tanh(u)) computed as
// x*sigmoid(2u), whose argument's roundings (a few ulps of 2u) sigmoid scales by |2u| in the
// negative tail; PyTorch's own float32 formula returns rounding noise there.
//
// NaN stays NaN (either sign, quiet or signaling; the payload may change). Infinities and zeros
// give PyTorch's values: sigmoid(+-Inf) = 1, 0 and sigmoid(+-0) = 0.5; SiLU(+Inf) = +Inf and
// SiLU(-Inf) = NaN (-Inf/Inf in PyTorch's x/(1+exp(-x))); tanh(+-Inf) = +-1; GELU(+Inf) = +Inf and
// GELU(-Inf) = NaN (-Inf*0), both forms; the others keep a zero's sign but sigmoid.
//
// The assembly and the Go twins compute the same formulas, the assembly with a short exp (a
// table and a degree-2 or 3 polynomial, within 2.8 u) and a reciprocal estimate refined by
// Newton-Raphson, the twins with Cephes' degree-7 exp, exact division and tanh in float64: they
// agree within 4e-7 relative (GELU: 6e-7; TestKernelTwins, TestActTwinSweep).
type Act uint8

// The activations. The values are not stable across versions: refer to them by name.
const (
	ActNone        Act = iota
	ActReLU            // max(x, 0)
	ActReLU6           // min(max(x, 0), 6)
	ActSigmoid         // 1 / (1 + exp(-x))
	ActSiLU            // x * sigmoid(x) (swish)
	ActTanh            // tanh(x)
	ActHardSigmoid     // relu6(x+3) / 6; in Eltwise max(0, min(1, Alpha*x + Beta))
	ActHardSwish       // x * relu6(x+3) / 6
	ActClip            // Eltwise only: min(max(x, Alpha), Beta)
	ActGELU            // x * Phi(x) = 0.5 * x * (1 + erf(x/sqrt2)), as torch.nn.GELU()
	ActGELUTanh        // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))), torch's approximate='tanh'
	numActs
)

// actInfo is what the generator and Validate need to know of an activation: the name ActByName
// takes (String gives it back), the Go identifier of its constant, and whether an epilogue can
// apply it (it takes no parameters).
var actInfo = [numActs]struct {
	name, ident string
	epilogue    bool
}{
	ActNone:        {"none", "ActNone", true},
	ActReLU:        {"relu", "ActReLU", true},
	ActReLU6:       {"relu6", "ActReLU6", true},
	ActSigmoid:     {"sigmoid", "ActSigmoid", true},
	ActSiLU:        {"silu", "ActSiLU", true},
	ActTanh:        {"tanh", "ActTanh", true},
	ActHardSigmoid: {"hardsigmoid", "ActHardSigmoid", true},
	ActHardSwish:   {"hardswish", "ActHardSwish", true},
	ActClip:        {"clip", "ActClip", false},
	ActGELU:        {"gelu", "ActGELU", true},
	ActGELUTanh:    {"gelu_tanh", "ActGELUTanh", true},
}

// String returns the activation's name, as ActByName takes it ("relu").
func (a Act) String() string {
	if a < numActs {
		return actInfo[a].name
	}
	return "Act(" + strconv.Itoa(int(a)) + ")"
}

// Ident returns the Go identifier of the activation's constant in this package ("ActReLU"), so a
// code generator can write kernels.<Ident> from an op's name; "" for an invalid Act.
func (a Act) Ident() string {
	if a < numActs {
		return actInfo[a].ident
	}
	return ""
}

// Epilogue reports whether a Conv, Linear or Add can apply the activation as it stores its
// output: the activations without parameters (all but ActClip). ActHardSigmoid is then
// relu6(x+3)/6.
func (a Act) Epilogue() bool { return a < numActs && actInfo[a].epilogue }

// ActByName returns the activation of the given name (String's: "none", "relu", "relu6",
// "sigmoid", "silu", "tanh", "hardsigmoid", "hardswish", "clip", "gelu", "gelu_tanh").
func ActByName(name string) (Act, error) {
	for a := range numActs {
		if actInfo[a].name == name {
			return a, nil
		}
	}
	return 0, fmt.Errorf("kernels: unknown activation %q", name)
}

// actChunk is the most elements one activation call processes (about 2 us for sigmoid at
// AVX-512), so that the Go scheduler can preempt between calls (the assembly is not preemptible).
const actChunk = 4096

// apply applies the epilogue activation a to x in place with the active level's kernel. The
// assembly computes a partial last vector under masks, so each value's result does not depend
// on where it falls in x: convolution parts that activate different ranges agree bit for bit.
func apply(a Act, x []float32) {
	if a == ActNone {
		return
	}
	if !a.Epilogue() {
		panic("kernels: activation " + a.String() + " needs Eltwise's parameters")
	}
	f := kern().act[a]
	for len(x) > 0 {
		n := min(len(x), actChunk)
		f(x[:n])
		x = x[n:]
	}
}
