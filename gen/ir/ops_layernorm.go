package ir

// OpLayerNorm is a layer normalization over a range of per-image dims (nn.LayerNorm over the last
// ones; over the channels of a feature map, ConvNeXt's LayerNorm2d).
const OpLayerNorm Op = "layernorm"

// LayerNormAttrs normalize the per-image dims [Axis, AxisEnd) (AxisEnd 0: to the last) at each
// position of the other dims: (x - mean) / sqrt(var + Eps) * weight + bias, the variance biased
// (divided by the count), weight and bias shaped as the normalized dims.
type LayerNormAttrs struct {
	Axis    int     `attr:"axis"`
	AxisEnd int     `attr:"axis_end"`
	Eps     float64 `attr:"eps"`
}

func (a *LayerNormAttrs) Clone() Attrs { c := *a; return &c }

// End is the end of the normalized dims of a rank-r shape.
func (a *LayerNormAttrs) End(r int) int {
	if a.AxisEnd == 0 {
		return r
	}
	return a.AxisEnd
}

// Split gives the sizes a kernel needs: the product of the dims before the normalized ones
// (outer), of the normalized ones (block) and of those after (inner).
func (a *LayerNormAttrs) Split(s Shape) (outer, block, inner int) {
	end := a.End(len(s))
	return s[:a.Axis].Size(), s[a.Axis:end].Size(), s[end:].Size()
}

func init() {
	register(&OpDef{
		Op:     OpLayerNorm,
		Doc:    "layer normalization over the per-image dims [axis, axis_end) (nn.LayerNorm); weights shaped as those dims",
		New:    func() Attrs { return &LayerNormAttrs{Eps: 1e-5} },
		Inputs: 1,
		Params: func(Attrs) []string { return []string{"weight", "bias"} },
		Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
			x, a := in[0], As[*LayerNormAttrs](n)
			end := a.End(len(x))
			if a.Axis < 0 || a.Axis >= end || end > len(x) {
				return nil, nil, Errf(n, "layernorm over dims [%d, %d) of %v", a.Axis, end, x)
			}
			if !(a.Eps > 0) || !finite(a.Eps) {
				return nil, nil, Errf(n, "layernorm eps must be positive, got %g", a.Eps)
			}
			w := append(Shape(nil), x[a.Axis:end]...)
			return x, []Shape{w, append(Shape(nil), w...)}, nil
		},
	})
}
