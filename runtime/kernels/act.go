package kernels

import (
	"fmt"
	"math"
	"strconv"
)

// Act is an activation: fused into a Conv's, Linear's or Add's epilogue (the parameterless
// ones, see Epilogue), or run on its own by Eltwise (all of them, with Eltwise's parameters).
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
// "sigmoid", "silu", "tanh", "hardsigmoid", "hardswish", "clip").
func ActByName(name string) (Act, error) {
	for a := range numActs {
		if actInfo[a].name == name {
			return a, nil
		}
	}
	return 0, fmt.Errorf("kernels: unknown activation %q", name)
}

// Apply applies a to every element of x in place. NaN stays NaN, as in PyTorch. a must be an
// epilogue activation (see Act.Epilogue).
//
// Deprecated: use Eltwise{Act: a}.Run(x, x).
//
// Above the Generic level the activations but tanh run in assembly (act_amd64.s), whose pure-Go
// twin is applyGo. The two agree bit for bit on ReLU, ReLU6, HardSigmoid and HardSwish (up to
// the sign of a zero from ReLU), and within a few ulps on sigmoid and SiLU (fused multiply-adds).
func Apply(a Act, x []float32) { apply(a, x) }

// apply is Apply: the assembly of the active level, or applyGo.
func apply(a Act, x []float32) {
	if applySIMD(a, x) {
		return
	}
	applyGo(a, x)
}

// applyGo is Apply in Go.
func applyGo(a Act, x []float32) {
	switch a {
	case ActNone:
	case ActReLU:
		// Branch-free (max keeps NaN): the signs of conv outputs are unpredictable.
		for i, v := range x {
			x[i] = max(v, 0)
		}
	case ActReLU6:
		for i, v := range x {
			x[i] = min(max(v, 0), 6)
		}
	case ActSigmoid:
		for i, v := range x {
			x[i] = sigmoid(v)
		}
	case ActSiLU:
		for i, v := range x {
			x[i] = silu(v)
		}
	case ActTanh:
		for i, v := range x {
			x[i] = float32(math.Tanh(float64(v)))
		}
	case ActHardSigmoid:
		for i, v := range x {
			x[i] = relu6(v+3) / 6
		}
	case ActHardSwish:
		for i, v := range x {
			x[i] = v * relu6(v+3) / 6
		}
	default:
		panic("kernels: activation " + a.String() + " needs Eltwise's parameters")
	}
}

// sigmoid is 1/(1+exp(-v)) in float32 with a few ulps of error: SiLU and sigmoid run over every
// activation of EfficientNet-style networks, where float64 math.Exp dominated the whole run.
// Only exp of a non-positive number is needed, so nothing overflows. The assembly computes the
// same expressions (see ../../_asm/act.go).
func sigmoid(v float32) float32 {
	if v != v {
		return v // NaN stays NaN
	}
	if v >= 0 {
		return 1 / (1 + expNonPositive(-v))
	}
	e := expNonPositive(v)
	return e / (1 + e)
}

// silu is v*sigmoid(v), as x/(1+e) or (x*e)/(1+e) with e = exp(-|v|): one rounding fewer than
// the product, and the assembly's expression.
func silu(v float32) float32 {
	if v != v {
		return v
	}
	if v >= 0 {
		return v / (1 + expNonPositive(-v))
	}
	e := expNonPositive(v)
	return v * e / (1 + e)
}

// expNonPositive is exp(t) for t <= 0: t = n*ln2 + r with |r| <= ln2/2, exp(r) = 1 + r +
// r^2*P(r) with Cephes' degree-5 minimax polynomial P (error below 1.1e-9 relative on that
// interval, so float32 rounding dominates), times 2^n built from the exponent bits.
func expNonPositive(t float32) float32 {
	if t < -87 { // below float32's normal range: the result is 0 to within float32's precision
		return 0
	}
	const (
		log2e = 1.44269504
		ln2Hi = 0.693359375 // ln2 split so n*ln2Hi is exact
		ln2Lo = -2.12194440e-4
	)
	n := int32(t*log2e - 0.5) // round to nearest for t <= 0 (conversion truncates towards 0)
	fn := float32(n)
	r := t - fn*ln2Hi - fn*ln2Lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*(r*r) + r + 1
	return p * math.Float32frombits(uint32(n+127)<<23)
}

func relu6(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 6 {
		return 6
	}
	return v
}
