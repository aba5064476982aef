package interp

import "github.com/cnngen/cnngen/gen/ir"

// The passes (gen/passes) record work on the node that does it in its epilogue: a batch norm
// folded into a conv, a residual added to its output, an activation applied last. The
// interpreter does that work after the node's own op, in that order, so that a fused graph
// computes what the graph did before the passes and either can be the oracle.

// loadFusedBN reads the tensors of a batch norm folded into n: one value per output channel each.
func loadFusedBN(n *ir.Node, w Weights) ([][]float32, error) {
	if n.Fused == nil || n.Fused.BN == nil {
		return nil, nil
	}
	if len(n.Shape) == 0 {
		return nil, nodeErr(n, "has a folded batch norm but no shape")
	}
	c := n.Shape[0]
	return readTensors(n, w, n.Fused.BN.Params, []int{c, c, c, c})
}

// epilogue applies n's fused work to its output out, leaving out unchanged.
func epilogue(n *ir.Node, out []float64, bn [][]float32, vals map[*ir.Node][]float64, batch int) ([]float64, error) {
	f := n.Fused
	if f.BN != nil {
		if !(f.BN.Eps > 0) {
			return nil, nodeErr(n, "folded batch norm %q has eps %g", f.BN.Name, f.BN.Eps)
		}
		out = batchNorm(out, n.Shape, batch, bn[0], bn[1], bn[2], bn[3], f.BN.Eps)
	}
	if r := f.Residual; r != nil {
		if !r.Shape.Equal(n.Shape) {
			return nil, nodeErr(n, "adds residual %q of shape %v to its output of shape %v", r.Name, r.Shape, n.Shape)
		}
		// A new slice: out may be the op's input itself (views return their input).
		sum := make([]float64, len(out))
		for i, v := range vals[r] {
			sum[i] = out[i] + v
		}
		out = sum
	}
	if f.Act != "" {
		out = mapUnary(ir.Def(f.Act).Unary(f.ActAttrs), out)
	}
	return out, nil
}
