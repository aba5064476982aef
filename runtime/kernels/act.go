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
func Apply(a Act, x []float32) {
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
			x[i] = v * sigmoid(v)
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

func sigmoid(v float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(v))))
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
