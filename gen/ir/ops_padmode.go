package ir

// Padding with copies of the border instead of a constant: reflected without repeating the edge
// (nn.ReflectionPad2d, ONNX Pad mode reflect) or the edge repeated (nn.ReplicationPad2d, mode
// edge). Pads are top, left, bottom, right, as for pad.
const (
	OpReflectionPad  Op = "reflection_pad"
	OpReplicationPad Op = "replication_pad"
)

// BorderPadAttrs give the pads of H and W.
type BorderPadAttrs struct {
	Pads [4]int `attr:"pads,required"`
}

func (a *BorderPadAttrs) Clone() Attrs { c := *a; return &c }

func init() {
	border := func(op Op, doc string, reflect bool) *OpDef {
		return &OpDef{
			Op:     op,
			Doc:    doc,
			New:    func() Attrs { return &BorderPadAttrs{} },
			Inputs: 1,
			Infer: func(n *Node, in []Shape) (Shape, []Shape, error) {
				x := in[0]
				if err := wantCHW(n, x); err != nil {
					return nil, nil, err
				}
				p := As[*BorderPadAttrs](n).Pads
				for i, v := range p {
					if v < 0 || v > MaxElems {
						return nil, nil, Errf(n, "padding %v must be in [0, %d]", p, MaxElems)
					}
					// A reflection reaches at most dim-1 values from the edge, as in PyTorch.
					if dim := x[1+i%2]; reflect && v >= dim {
						return nil, nil, Errf(n, "reflection padding %d must be less than the dimension %d", v, dim)
					}
				}
				return Shape{x[0], x[1] + p[0] + p[2], x[2] + p[1] + p[3]}, nil, nil
			},
		}
	}
	register(
		border(OpReflectionPad, "padding of H and W by reflection, the edge not repeated (nn.ReflectionPad2d)", true),
		border(OpReplicationPad, "padding of H and W by repeating the edge (nn.ReplicationPad2d)", false),
	)
}
