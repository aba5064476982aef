package interp

import "github.com/cnngen/cnngen/gen/ir"

// unary evaluates an elementwise op by its ir.OpDef.Unary, the float64 semantics gen/ir defines
// once for the interpreter and every back end: activations and clip have no code here.
func unary(n *node) ([]float64, error) {
	if err := checkShape(n.Node, n.in); err != nil {
		return nil, err
	}
	return mapUnary(ir.Def(n.Op).Unary(n.Attrs), n.x()), nil
}

// mapUnary returns f applied to every value of x.
func mapUnary(f func(float64) float64, x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = f(v)
	}
	return out
}
