package ir

import "math"

// The elementwise activations. Each is one entry below: its float64 function (the reference
// interpreter's semantics), the kernel activation it runs as, and the ONNX operator it comes from.
const (
	OpReLU        Op = "relu"
	OpReLU6       Op = "relu6"
	OpSigmoid     Op = "sigmoid"
	OpSiLU        Op = "silu"
	OpTanh        Op = "tanh"
	OpHardSigmoid Op = "hardsigmoid"
	OpHardSwish   Op = "hardswish"
	OpClip        Op = "clip" // clamp to [Min, Max]
	OpGELU        Op = "gelu"
)

// HardSigmoidAttrs: y = max(0, min(1, alpha*x + beta)).
type HardSigmoidAttrs struct {
	Alpha float64 `attr:"alpha"`
	Beta  float64 `attr:"beta"`
}

func (a *HardSigmoidAttrs) Clone() Attrs { c := *a; return &c }

// ClipAttrs bound a clamp; ONNX's defaults are the infinities.
type ClipAttrs struct {
	Min float64 `attr:"min"`
	Max float64 `attr:"max"`
}

func (a *ClipAttrs) Clone() Attrs { c := *a; return &c }

// GELUAttrs choose GELU's form, as nn.GELU's approximate: "none" (exact) or "tanh".
type GELUAttrs struct {
	Approximate string `attr:"approximate" values:"none,tanh"`
}

func (a *GELUAttrs) Clone() Attrs { c := *a; return &c }

func init() {
	register(
		activation(OpReLU, "Relu", "max(x, 0)", relu),
		activation(OpReLU6, "", "min(max(x, 0), 6)", relu6),
		activation(OpSigmoid, "Sigmoid", "1 / (1 + exp(-x))", sigmoid),
		activation(OpSiLU, "", "x * sigmoid(x) (swish)", func(v float64) float64 { return v * sigmoid(v) }),
		activation(OpTanh, "Tanh", "tanh(x)", math.Tanh),
		activation(OpHardSwish, "HardSwish", "x * relu6(x + 3) / 6", func(v float64) float64 { return v * relu6(v+3) / 6 }),
		&OpDef{
			Op:      OpHardSigmoid,
			Doc:     "max(0, min(1, alpha*x + beta)); PyTorch's nn.Hardsigmoid is alpha 1/6, beta 0.5",
			New:     func() Attrs { return &HardSigmoidAttrs{Alpha: 1.0 / 6, Beta: 0.5} },
			ONNX:    "HardSigmoid",
			ONNXNew: func() Attrs { return &HardSigmoidAttrs{Alpha: 0.2, Beta: 0.5} },
			Inputs:  1,
			Flags:   Elementwise,
			Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
				a := As[*HardSigmoidAttrs](n)
				if !finite(a.Alpha) || !finite(a.Beta) || a.Alpha == 0 {
					return nil, nil, Errf(n, "hardsigmoid needs a finite, non-zero alpha and a finite beta (got %g, %g)", a.Alpha, a.Beta)
				}
				return in[0], nil, nil
			},
			Unary: func(at Attrs) func(float64) float64 {
				a := at.(*HardSigmoidAttrs)
				return func(v float64) float64 { return clamp(a.Alpha*v+a.Beta, 0, 1) }
			},
			Act: func(at Attrs) KernelAct {
				a := at.(*HardSigmoidAttrs)
				// The epilogue kernel is PyTorch's relu6(x+3)/6.
				return KernelAct{Name: "hardsigmoid", Alpha: a.Alpha, Beta: a.Beta, Epilogue: a.Alpha == 1.0/6 && a.Beta == 0.5}
			},
		},
		&OpDef{
			Op:     OpGELU,
			Doc:    "x * Phi(x), Phi the standard normal CDF (nn.GELU); approximate tanh: PyTorch's tanh form",
			New:    func() Attrs { return &GELUAttrs{Approximate: "none"} },
			Inputs: 1,
			Flags:  Elementwise,
			Infer:  same,
			Unary: func(at Attrs) func(float64) float64 {
				if at.(*GELUAttrs).Approximate == "tanh" {
					return func(v float64) float64 { return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v))) }
				}
				return func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }
			},
			Act: func(at Attrs) KernelAct {
				if at.(*GELUAttrs).Approximate == "tanh" {
					return KernelAct{Name: "gelu_tanh", Epilogue: true}
				}
				return KernelAct{Name: "gelu", Epilogue: true}
			},
		},
		&OpDef{
			Op:     OpClip,
			Doc:    "clamp to [min, max] (NaN stays NaN)",
			New:    func() Attrs { return &ClipAttrs{Min: math.Inf(-1), Max: math.Inf(1)} },
			Inputs: 1,
			Flags:  Elementwise,
			Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
				a := As[*ClipAttrs](n)
				if math.IsNaN(a.Min) || math.IsNaN(a.Max) || a.Min > a.Max {
					return nil, nil, Errf(n, "clip bounds [%g, %g] are not an interval", a.Min, a.Max)
				}
				return in[0], nil, nil
			},
			Unary: func(at Attrs) func(float64) float64 {
				a := at.(*ClipAttrs)
				return func(v float64) float64 { return clamp(v, a.Min, a.Max) }
			},
			Act: func(at Attrs) KernelAct {
				a := at.(*ClipAttrs)
				switch {
				case a.Min == 0 && math.IsInf(a.Max, 1):
					return KernelAct{Name: "relu", Epilogue: true}
				case a.Min == 0 && a.Max == 6:
					return KernelAct{Name: "relu6", Epilogue: true}
				}
				return KernelAct{Name: "clip", Alpha: a.Min, Beta: a.Max}
			},
		},
	)
}

// activation defines an elementwise activation without attributes, which kernels apply in an
// epilogue under its own name. onnx is the ONNX operator that lowers to it ("" for none).
func activation(op Op, onnx, doc string, f func(float64) float64) *OpDef {
	return &OpDef{
		Op:     op,
		Doc:    doc,
		ONNX:   onnx,
		Inputs: 1,
		Flags:  Elementwise,
		Infer:  same,
		Unary:  func(Attrs) func(float64) float64 { return f },
		Act:    func(Attrs) KernelAct { return KernelAct{Name: string(op), Epilogue: true} },
	}
}

// clamp bounds v to [lo, hi]; NaN goes through unchanged, as in PyTorch.
func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func relu(v float64) float64    { return clamp(v, 0, math.Inf(1)) }
func relu6(v float64) float64   { return clamp(v, 0, 6) }
func sigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
