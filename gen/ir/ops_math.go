package ir

// Linear layers, elementwise arithmetic and normalized exponentials.
const (
	OpLinear     Op = "linear"
	OpAdd        Op = "add" // elementwise, equal shapes
	OpMul        Op = "mul" // elementwise; the second input may be [C 1 1] (squeeze-and-excitation)
	OpSoftmax    Op = "softmax"
	OpLogSoftmax Op = "logsoftmax"
)

// LinearAttrs describe a fully connected layer, generalized to ONNX's Gemm:
// y = Alpha*W x + Beta*b, with W stored [in, out] when TransW (ONNX transB=0).
type LinearAttrs struct {
	Out    int     `attr:"out,required"`
	Bias   bool    `attr:"bias"`
	Alpha  float64 `attr:"alpha"`
	Beta   float64 `attr:"beta"`
	TransW bool    `attr:"transposed"`
}

func (a *LinearAttrs) Clone() Attrs { c := *a; return &c }

// SoftmaxAttrs normalize over the per-image dims [Axis, AxisEnd); AxisEnd 0 = to the end.
type SoftmaxAttrs struct {
	Axis    int `attr:"axis"`
	AxisEnd int `attr:"axis_end"`
}

func (a *SoftmaxAttrs) Clone() Attrs { c := *a; return &c }

// End is the end of the normalized dims of a rank-r shape.
func (a *SoftmaxAttrs) End(r int) int {
	if a.AxisEnd == 0 {
		return r
	}
	return a.AxisEnd
}

func init() {
	softmax := func(op Op, doc string) *OpDef {
		return &OpDef{
			Op:     op,
			Doc:    doc,
			New:    func() Attrs { return &SoftmaxAttrs{} },
			Inputs: 1,
			Flags:  InPlace,
			Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
				a := As[*SoftmaxAttrs](n)
				if end := a.End(len(in[0])); a.Axis < 0 || a.Axis >= end || end > len(in[0]) {
					return nil, nil, Errf(n, "%s over dims [%d, %d) of %v", n.Op, a.Axis, end, in[0])
				}
				return in[0], nil, nil
			},
		}
	}
	register(&OpDef{
		Op:     OpLinear,
		Doc:    "fully connected layer (nn.Linear; ONNX Gemm); weights [out, in]",
		New:    func() Attrs { return &LinearAttrs{Bias: true, Alpha: 1, Beta: 1} },
		Inputs: 1,
		Params: func(a Attrs) []string { return weightAndBias(a.(*LinearAttrs).Bias) },
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			x, a := in[0], As[*LinearAttrs](n)
			if len(x) != 1 {
				return nil, nil, Errf(n, "linear needs a flat input; add a flatten before it (input is %v)", x)
			}
			if a.Out <= 0 || a.Out > MaxElems {
				return nil, nil, Errf(n, "linear needs out in [1, %d] features, got %d", MaxElems, a.Out)
			}
			if !finite(a.Alpha) || !finite(a.Beta) {
				return nil, nil, Errf(n, "gemm alpha and beta must be finite")
			}
			w := Shape{a.Out, x[0]}
			if a.TransW {
				w = Shape{x[0], a.Out}
			}
			params := []Shape{w}
			if a.Bias {
				params = append(params, Shape{a.Out})
			}
			return Shape{a.Out}, params, nil
		},
		MACs: func(n *Node) int64 { return int64(n.Params[0].Shape.Size()) },
	}, &OpDef{
		Op:     OpAdd,
		Doc:    "elementwise sum of inputs of equal shapes",
		Inputs: Variadic,
		Flags:  InPlace,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			for i, s := range in[1:] {
				if !s.Equal(in[0]) {
					return nil, nil, Errf(n, "add of unequal shapes: %q is %v, %q is %v", n.Inputs[0].Name, in[0], n.Inputs[i+1].Name, s)
				}
			}
			return in[0], nil, nil
		},
		Blocked: always,
	}, &OpDef{
		Op:     OpMul,
		Doc:    "elementwise product; the second input may be [C 1 1], one factor per channel",
		Inputs: 2,
		Flags:  InPlace,
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			x, s := in[0], in[1]
			chanScale := len(x) == 3 && len(s) == 3 && s[0] == x[0] && s[1] == 1 && s[2] == 1
			if !s.Equal(x) && !chanScale {
				return nil, nil, Errf(n, "mul needs equal shapes or a [C 1 1] second input: %q is %v, %q is %v", n.Inputs[0].Name, x, n.Inputs[1].Name, s)
			}
			return x, nil, nil
		},
		Blocked: always,
	},
		softmax(OpSoftmax, "exp(x) / sum(exp(x)) over the normalized dims"),
		softmax(OpLogSoftmax, "log(softmax(x)) over the normalized dims"),
	)
}
