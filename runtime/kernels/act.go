package kernels

import (
	"fmt"
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
