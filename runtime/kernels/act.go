package kernels

import (
	"math"
	"strconv"
)

// Act is an activation fused into a kernel's epilogue.
type Act uint8

// The activations.
const (
	ActNone        Act = iota
	ActReLU            // max(x, 0)
	ActReLU6           // min(max(x, 0), 6)
	ActSigmoid         // 1 / (1 + exp(-x))
	ActSiLU            // x * sigmoid(x) (swish)
	ActTanh            // tanh(x)
	ActHardSigmoid     // relu6(x+3) / 6
	ActHardSwish       // x * relu6(x+3) / 6
	numActs
)

var actNames = [numActs]string{"none", "relu", "relu6", "sigmoid", "silu", "tanh", "hardsigmoid", "hardswish"}

func (a Act) String() string {
	if a < numActs {
		return actNames[a]
	}
	return "Act(" + strconv.Itoa(int(a)) + ")"
}

func (a Act) valid() bool { return a < numActs }

// Apply applies a to every element of x in place. NaN stays NaN, as in PyTorch.
//
// Above the Generic level the activations but tanh run in assembly (act_amd64.s), whose pure-Go
// twin is applyGo. The two agree bit for bit on ReLU, ReLU6, HardSigmoid and HardSwish (up to
// the sign of a zero from ReLU), and within a few ulps on sigmoid and SiLU (fused multiply-adds).
func Apply(a Act, x []float32) {
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
		panic("kernels: invalid activation " + a.String())
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
