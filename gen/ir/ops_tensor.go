package ir

// The ops that move or reinterpret data.
const (
	OpInput   Op = "input"
	OpFlatten Op = "flatten"
	OpReshape Op = "reshape" // a view with another per-image shape
	OpPad     Op = "pad"     // constant padding of H and W
	OpConcat  Op = "concat"  // along channels
	OpDropout Op = "dropout"
)

// ReshapeAttrs give the per-image output shape.
type ReshapeAttrs struct {
	Shape Shape `attr:"shape,required"`
}

func (a *ReshapeAttrs) Clone() Attrs { return &ReshapeAttrs{Shape: append(Shape(nil), a.Shape...)} }

// PadAttrs pad H and W with a constant: Pads are top, left, bottom, right.
type PadAttrs struct {
	Pads  [4]int  `attr:"pads,required"`
	Value float64 `attr:"value"`
}

func (a *PadAttrs) Clone() Attrs { c := *a; return &c }

// DropoutAttrs give the drop probability (the identity at inference).
type DropoutAttrs struct {
	P float64 `attr:"p" onnx:"ratio"`
}

func (a *DropoutAttrs) Clone() Attrs { c := *a; return &c }

func init() {
	register(&OpDef{
		Op:  OpInput,
		Doc: "the network's input; its shape is the node's Shape",
		Infer: func(n *Node, _ []Shape) (Shape, []Shape, error) {
			if len(n.Shape) == 0 {
				return nil, nil, Errf(n, "input has no shape")
			}
			for _, d := range n.Shape {
				if d <= 0 {
					return nil, nil, Errf(n, "input shape %v has a non-positive dimension", n.Shape)
				}
			}
			return n.Shape, nil, nil
		},
	}, &OpDef{
		Op:     OpFlatten,
		Doc:    "[C H W] -> [C*H*W], a view",
		Inputs: 1,
		Flags:  View,
		Infer:  func(n *Node, in []Shape) (Shape, []Shape, error) { return Shape{in[0].Size()}, nil, nil },
	}, &OpDef{
		Op:     OpReshape,
		Doc:    "the same values with another per-image shape, a view",
		New:    func() Attrs { return &ReshapeAttrs{} },
		Inputs: 1,
		Flags:  View,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			t := As[*ReshapeAttrs](n).Shape
			if err := checkShape(n, t); err != nil || t.Size() != in[0].Size() {
				return nil, nil, Errf(n, "reshape of %v (%d values) to %v", in[0], in[0].Size(), t)
			}
			return append(Shape(nil), t...), nil, nil
		},
	}, &OpDef{
		Op:     OpPad,
		Doc:    "constant padding of H and W",
		New:    func() Attrs { return &PadAttrs{} },
		Inputs: 1,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			x := in[0]
			if err := wantCHW(n, x); err != nil {
				return nil, nil, err
			}
			a := As[*PadAttrs](n)
			for _, p := range a.Pads {
				if p < 0 || p > MaxElems {
					return nil, nil, Errf(n, "padding %v must be in [0, %d]", a.Pads, MaxElems)
				}
			}
			if !finite(a.Value) {
				return nil, nil, Errf(n, "pad value %g is not finite", a.Value)
			}
			return Shape{x[0], x[1] + a.Pads[0] + a.Pads[2], x[2] + a.Pads[1] + a.Pads[3]}, nil, nil
		},
		Blocked: always,
	}, &OpDef{
		Op:     OpConcat,
		Doc:    "concatenation along channels",
		Inputs: Variadic,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			first, c := in[0], 0
			for i, s := range in {
				if len(s) != len(first) || len(s) == 3 && (s[1] != first[1] || s[2] != first[2]) {
					return nil, nil, Errf(n, "concat along channels needs equal spatial sizes: %q is %v, %q is %v", n.Inputs[0].Name, first, n.Inputs[i].Name, s)
				}
				if c += s[0]; c > MaxElems {
					return nil, nil, Errf(n, "concat has more than %d channels", MaxElems)
				}
			}
			return append(Shape{c}, first[1:]...), nil, nil
		},
		// Blocked, each input's channels start on a block: all but the last fill whole blocks.
		Blocked: func(n *Node) bool {
			for _, x := range n.Inputs[:len(n.Inputs)-1] {
				if x.Shape[0]%BlockC != 0 {
					return false
				}
			}
			return true
		},
	}, &OpDef{
		Op:     OpDropout,
		Doc:    "dropout: the identity at inference",
		New:    func() Attrs { return &DropoutAttrs{P: 0.5} },
		Inputs: 1,
		Flags:  Elementwise | InferenceIdentity,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			if p := As[*DropoutAttrs](n).P; !(p >= 0 && p <= 1) {
				return nil, nil, Errf(n, "dropout probability %g is not in [0, 1]", p)
			}
			return in[0], nil, nil
		},
		Unary: func(Attrs) func(float64) float64 { return func(v float64) float64 { return v } },
	})
}
