package ir

// The reductions over a range of per-image dimensions: torch.mean, torch.amax, torch.sum and
// torch.linalg.vector_norm over dims, with keepdim. Over the spatial dims of a feature map they
// are global poolings (the ONNX front end lowers those to global_avgpool and global_maxpool,
// which have faster kernels); over the channels they are per-pixel statistics.
const (
	OpReduceMean Op = "reduce_mean"
	OpReduceMax  Op = "reduce_max"
	OpReduceSum  Op = "reduce_sum"
	OpReduceL2   Op = "reduce_l2"
)

// ReduceAttrs reduce the per-image dims [Axis, AxisEnd) (AxisEnd 0: to the last), as softmax
// normalizes them; with KeepDims they stay as dims of size 1, else they are removed.
type ReduceAttrs struct {
	Axis     int  `attr:"axis"`
	AxisEnd  int  `attr:"axis_end"`
	KeepDims bool `attr:"keepdims"`
}

func (a *ReduceAttrs) Clone() Attrs { c := *a; return &c }

// End is the end of the reduced dims of a rank-r shape.
func (a *ReduceAttrs) End(r int) int {
	if a.AxisEnd == 0 {
		return r
	}
	return a.AxisEnd
}

// Split gives the sizes a kernel needs: the product of the dims before the reduced ones (outer),
// of the reduced ones (block) and of those after (inner).
func (a *ReduceAttrs) Split(s Shape) (outer, block, inner int) {
	end := a.End(len(s))
	return s[:a.Axis].Size(), s[a.Axis:end].Size(), s[end:].Size()
}

func init() {
	reduce := func(op Op, doc string) *OpDef {
		return &OpDef{
			Op:  op,
			Doc: doc,
			// keepdims by default (ONNX's default; PyTorch's keepdim is false): the defaults then
			// reduce a whole image to a valid shape, [1 1 1] for a feature map.
			New:    func() Attrs { return &ReduceAttrs{KeepDims: true} },
			Inputs: 1,
			Infer:  inferReduce,
		}
	}
	register(
		reduce(OpReduceMean, "mean over the per-image dims [axis, axis_end) (torch.mean)"),
		reduce(OpReduceMax, "maximum over the per-image dims [axis, axis_end) (torch.amax); NaN wins"),
		reduce(OpReduceSum, "sum over the per-image dims [axis, axis_end) (torch.sum)"),
		reduce(OpReduceL2, "square root of the sum of squares over the per-image dims [axis, axis_end) (torch.linalg.vector_norm)"),
	)
}

func inferReduce(n *Node, in []Shape) (Shape, []Shape, error) {
	x, a := in[0], As[*ReduceAttrs](n)
	end := a.End(len(x))
	if a.Axis < 0 || a.Axis >= end || end > len(x) {
		return nil, nil, Errf(n, "%s over dims [%d, %d) of %v", n.Op, a.Axis, end, x)
	}
	out := append(Shape(nil), x[:a.Axis]...)
	if a.KeepDims {
		for range end - a.Axis {
			out = append(out, 1)
		}
	}
	out = append(out, x[end:]...)
	if len(out) == 0 {
		return nil, nil, Errf(n, "%s over every dim of %v leaves one value per image; keep the dims (keepdims) to have a shape", n.Op, x)
	}
	return out, nil, nil
}
