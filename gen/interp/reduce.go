package interp

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

func init() {
	for _, op := range []ir.Op{ir.OpReduceMean, ir.OpReduceMax, ir.OpReduceSum, ir.OpReduceL2} {
		evals[op] = evalReduce
	}
}

// evalReduce reduces the per-image dims [Axis, AxisEnd) of each image: the values at one position
// of the dims before and one of the dims after, as torch.mean, amax, sum and vector_norm do.
func evalReduce(n *node) ([]float64, error) {
	a := ir.As[*ir.ReduceAttrs](n.Node)
	end := a.End(len(n.in))
	if a.Axis < 0 || a.Axis >= end || end > len(n.in) {
		return nil, nodeErr(n.Node, "reduces dims [%d, %d) of %v", a.Axis, end, n.in)
	}
	want := append(ir.Shape(nil), n.in[:a.Axis]...)
	if a.KeepDims {
		for range end - a.Axis {
			want = append(want, 1)
		}
	}
	want = append(want, n.in[end:]...)
	if err := checkShape(n.Node, want); err != nil {
		return nil, err
	}
	outer, block, inner := n.in[:a.Axis].Size(), n.in[a.Axis:end].Size(), n.in[end:].Size()
	x := n.x()
	out := make([]float64, n.batch*outer*inner)
	for o := range n.batch * outer {
		for i := range inner {
			acc := 0.0
			if n.Op == ir.OpReduceMax {
				acc = math.Inf(-1)
			}
			for b := range block {
				v := x[(o*block+b)*inner+i]
				switch n.Op {
				case ir.OpReduceMax:
					if v > acc || math.IsNaN(v) {
						acc = v
					}
				case ir.OpReduceL2:
					acc += v * v
				default:
					acc += v
				}
			}
			switch n.Op {
			case ir.OpReduceMean:
				acc /= float64(block)
			case ir.OpReduceL2:
				acc = math.Sqrt(acc)
			}
			out[o*inner+i] = acc
		}
	}
	return out, nil
}
