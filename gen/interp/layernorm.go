package interp

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

func init() {
	evals[ir.OpLayerNorm] = func(n *node) ([]float64, error) {
		a := ir.As[*ir.LayerNormAttrs](n.Node)
		end := a.End(len(n.in))
		if a.Axis < 0 || a.Axis >= end || end > len(n.in) {
			return nil, nodeErr(n.Node, "normalizes dims [%d, %d) of %v", a.Axis, end, n.in)
		}
		if err := checkShape(n.Node, n.in); err != nil {
			return nil, err
		}
		outer, block, inner := n.in[:a.Axis].Size(), n.in[a.Axis:end].Size(), n.in[end:].Size()
		return layerNorm(n.x(), n.batch*outer, block, inner, n.ws[0], n.ws[1], a.Eps), nil
	}
	weightSizes[ir.OpLayerNorm] = func(n *ir.Node, in ir.Shape) []int {
		a := ir.As[*ir.LayerNormAttrs](n)
		w := in[a.Axis:a.End(len(in))].Size()
		return []int{w, w}
	}
}

// layerNorm normalizes, for each of outer blocks and each of inner positions, the block values
// spaced inner apart: (x - mean) / sqrt(var + eps) * weight[b] + bias[b], the variance biased,
// as nn.LayerNorm computes it.
func layerNorm(x []float64, outer, block, inner int, weight, bias []float32, eps float64) []float64 {
	out := make([]float64, len(x))
	parallelFor(outer, func(o int) {
		base := o * block * inner
		for i := range inner {
			mean := 0.0
			for b := range block {
				mean += x[base+b*inner+i]
			}
			mean /= float64(block)
			v := 0.0
			for b := range block {
				d := x[base+b*inner+i] - mean
				v += d * d
			}
			inv := 1 / math.Sqrt(v/float64(block)+eps)
			for b := range block {
				k := base + b*inner + i
				out[k] = (x[k]-mean)*inv*float64(weight[b]) + float64(bias[b])
			}
		}
	})
	return out
}
