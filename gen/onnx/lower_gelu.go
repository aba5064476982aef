package onnx

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

// GELU. Gelu (opset 20) is the gelu op. Before it, exporters write nn.GELU out, and the lowering
// recognises it when the product that completes it is lowered:
//
//	exact: x * (1 + erf(x / sqrt(2)))                          (then * 0.5)
//	tanh:  x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))    (then * 0.5)
//
// x*(...) is gelu(x) followed by an affine times 2, which the trailing * 0.5 cancels (the two
// affines compose to the identity, affine.go). The constants are matched to float32 precision:
// the exporter writes them as float32, which changes GELU by less than float32 can show. The
// nodes the pattern was lowered to (affine, erf, tanh, mul, add) stay only if something else
// reads them.

func lowerGelu(c *call) {
	mode := c.attrString("approximate", "none")
	if mode != "none" && mode != "tanh" {
		c.fail("approximate %q is not none or tanh", mode)
	}
	if !c.ok() {
		return
	}
	x, perm := c.dynView(0)
	if x == nil {
		return
	}
	n := c.newNode(ir.OpGELU, x)
	n.Attrs = &ir.GELUAttrs{Approximate: mode}
	if c.emit(n) {
		c.setView(0, n, perm)
	}
}

// geluMul lowers a * b when b is GELU's bracket of a (or of the tensor a scales by a constant,
// 0.5 * x * bracket): gelu(x) times 2*scale. It reports whether it did.
func (c *call) geluMul(a, b *ir.Node, perm []int) bool {
	x, scale := a, 1.0
	if a.Op == ir.OpAffine {
		if s, ok := scalarAffine(a, false); ok {
			x, scale = a.Inputs[0], s
		}
	}
	approx := geluBracket(b, x)
	if approx == "" && x != a {
		x, scale, approx = a, 1, geluBracket(b, a)
	}
	if approx == "" {
		return false
	}
	n := c.newNode(ir.OpGELU, x)
	n.Attrs = &ir.GELUAttrs{Approximate: approx}
	if !c.emit(n) {
		return true // the failure is recorded
	}
	c.affine(n, perm, []float64{2 * scale}, []float64{0})
	return true
}

// geluBracket returns "none" when b is 1 + erf(x/sqrt2), "tanh" when b is 1 + tanh(sqrt(2/pi) *
// (x + 0.044715*x^3)), and "" otherwise.
func geluBracket(b, x *ir.Node) string {
	if s, ok := scalarAffine(b, true); !ok || s != 1 || ir.As[*ir.AffineAttrs](b).Shift[0] != 1 {
		return ""
	}
	f := b.Inputs[0]
	if len(f.Inputs) != 1 {
		return ""
	}
	arg := f.Inputs[0]
	switch f.Op {
	case ir.OpErf:
		if s, ok := scalarAffine(arg, false); ok && near32(s, 1/math.Sqrt2) && arg.Inputs[0] == x {
			return "none"
		}
	case ir.OpTanh:
		s, ok := scalarAffine(arg, false)
		if !ok || !near32(s, math.Sqrt(2/math.Pi)) {
			return ""
		}
		sum := arg.Inputs[0]
		if sum.Op != ir.OpAdd || len(sum.Inputs) != 2 {
			return ""
		}
		for k, y := range sum.Inputs {
			w := sum.Inputs[1-k]
			if k3, ok := scalarAffine(w, false); y == x && ok && near32(k3, 0.044715) && isCube(w.Inputs[0], x) {
				return "tanh"
			}
		}
	}
	return ""
}

// scalarAffine returns the scale of an affine with one scale and one shift, the shift zero
// unless withShift.
func scalarAffine(n *ir.Node, withShift bool) (float64, bool) {
	if n.Op != ir.OpAffine {
		return 0, false
	}
	a := ir.As[*ir.AffineAttrs](n)
	if len(a.Scale) != 1 || len(a.Shift) != 1 || !withShift && a.Shift[0] != 0 {
		return 0, false
	}
	return a.Scale[0], true
}

// isCube reports whether n is x*x*x as products of two: x*(x*x) or (x*x)*x.
func isCube(n, x *ir.Node) bool {
	if n.Op != ir.OpMul || len(n.Inputs) != 2 {
		return false
	}
	square := func(m *ir.Node) bool {
		return m.Op == ir.OpMul && len(m.Inputs) == 2 && m.Inputs[0] == x && m.Inputs[1] == x
	}
	a, b := n.Inputs[0], n.Inputs[1]
	return a == x && square(b) || b == x && square(a)
}

// near32 reports whether v is c to float32 precision.
func near32(v, c float64) bool { return math.Abs(v-c) <= 1e-6*math.Abs(c) }
