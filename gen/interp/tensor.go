package interp

import "github.com/cnngen/cnngen/gen/ir"

func init() {
	evals[ir.OpFlatten] = func(n *node) ([]float64, error) {
		// [C H W] row-major is already the flat order.
		return n.x(), checkShape(n.Node, ir.Shape{n.in.Size()})
	}
	evals[ir.OpReshape] = func(n *node) ([]float64, error) {
		t := ir.As[*ir.ReshapeAttrs](n.Node).Shape
		if t.Size() != n.in.Size() {
			return nil, nodeErr(n.Node, "reshape of %v to %v", n.in, t)
		}
		// A view: row-major order is unchanged.
		return n.x(), checkShape(n.Node, t)
	}
	// Dropout is the identity at inference; its Unary would copy the input for nothing.
	evals[ir.OpDropout] = func(n *node) ([]float64, error) { return n.x(), checkShape(n.Node, n.in) }
	evals[ir.OpPad] = func(n *node) ([]float64, error) {
		if err := needCHW(n); err != nil {
			return nil, err
		}
		a, in := ir.As[*ir.PadAttrs](n.Node), n.in
		p := a.Pads
		if err := checkShape(n.Node, ir.Shape{in[0], in[1] + p[0] + p[2], in[2] + p[1] + p[3]}); err != nil {
			return nil, err
		}
		return pad(n.x(), in, n.Shape, p, a.Value, n.batch), nil
	}
	evals[ir.OpConcat] = func(n *node) ([]float64, error) { return concat(n.Node, n.xs, n.batch) }
}

// pad surrounds each channel plane with value.
func pad(x []float64, in, out ir.Shape, pads [4]int, value float64, batch int) []float64 {
	C, H, W, OH, OW := in[0], in[1], in[2], out[1], out[2]
	y := make([]float64, batch*C*OH*OW)
	for i := range y {
		y[i] = value
	}
	for t := range batch * C {
		for r := range H {
			copy(y[t*OH*OW+(r+pads[0])*OW+pads[1]:], x[t*H*W+r*W:t*H*W+(r+1)*W])
		}
	}
	return y
}

// concat joins its inputs along channels (the first per-image axis): per image, the inputs'
// slices one after another.
func concat(n *ir.Node, xs [][]float64, batch int) ([]float64, error) {
	if len(xs) < 2 {
		return nil, nodeErr(n, "needs at least 2 inputs, got %d", len(xs))
	}
	first := n.Inputs[0].Shape
	c := 0
	for _, y := range n.Inputs {
		s := y.Shape
		if len(s) != len(first) || !ir.Shape(s[1:]).Equal(first[1:]) {
			return nil, nodeErr(n, "concat of %v and %v: all but the channel axis must agree", first, s)
		}
		c += s[0]
	}
	if err := checkShape(n, append(ir.Shape{c}, first[1:]...)); err != nil {
		return nil, err
	}
	out := make([]float64, 0, batch*n.Shape.Size())
	for b := range batch {
		for j, y := range n.Inputs {
			size := y.Shape.Size()
			out = append(out, xs[j][b*size:(b+1)*size]...)
		}
	}
	return out, nil
}
