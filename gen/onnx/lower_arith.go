package onnx

import (
	"math"
	"slices"

	"github.com/cnngen/cnngen/gen/ir"
)

// Add, Sub, Mul and Div on the network's tensors: with a constant they become (or merge into)
// an affine or a layer's bias (affine.go); between two tensors, an add, a mul, or one of the
// gates x * g(x) exporters write for SiLU (ONNX has no SiLU) and for HardSwish before opset 14.

// lowerArith lowers Add, Sub, Mul and Div with at least one computed input.
func lowerArith(c *call) {
	if !c.ok() {
		return
	}
	if len(c.in) != 2 || !c.present(0) || !c.present(1) {
		c.fail("needs 2 inputs")
		return
	}
	va, vb := c.val(0), c.val(1)
	if va.pend != nil || vb.pend != nil {
		c.normArith(va, vb)
		return
	}
	if c.ver < 7 {
		if va, vb = c.legacyBroadcast(va, vb); va == nil {
			return
		}
	}
	if va.n != nil && vb.n != nil {
		if c.normSub(va, vb) {
			return
		}
		a, pa := c.dynView(0)
		b, pb := c.dynView(1)
		if a == nil || b == nil {
			return
		}
		if !slices.Equal(pa, pb) {
			// Differently transposed operands: only their ONNX layouts can meet.
			if a, b, pa = c.dyn(0), c.dyn(1), nil; a == nil || b == nil {
				return
			}
		}
		lowerBinary(c, a, b, pa)
		return
	}
	k, ki := vb.c, 1
	if va.n == nil {
		k, ki = va.c, 0
	}
	x, perm := c.dynView(1 - ki)
	if x == nil {
		return
	}
	if (c.op == "Mul" || c.op == "Add") && c.foldNorm(x, perm, k, ki) {
		return
	}
	vals := c.channelValues(x, perm, k, c.read[ki])
	if vals == nil {
		return
	}
	var scale, shift []float64
	switch c.op {
	case "Add":
		if c.fuseBias(x, perm, k, ki) {
			return
		}
		scale, shift = []float64{1}, vals
	case "Sub":
		if ki == 1 { // x - k
			for i := range vals {
				vals[i] = -vals[i]
			}
			scale, shift = []float64{1}, vals
		} else { // k - x
			scale, shift = []float64{-1}, vals
		}
	case "Mul":
		scale, shift = vals, []float64{0}
	case "Div":
		if ki == 0 {
			c.fail("divides a constant by a tensor; only division by a constant is supported")
			return
		}
		for i, v := range vals {
			if v == 0 {
				c.fail("divides by zero")
				return
			}
			vals[i] = 1 / v
		}
		scale, shift = vals, []float64{0}
	}
	c.affine(x, perm, scale, shift)
}

// legacyBroadcast rewrites the operands of Add, Sub, Mul and Div before version 7 into NumPy's
// broadcasting, which the later versions use: there B must have A's dims unless broadcast=1,
// and then B's dims match A's starting at axis (by default, A's last ones), so B is given
// trailing ones up to A's rank. It returns nil (after failing) when B cannot be rewritten.
func (c *call) legacyBroadcast(va, vb *value) (*value, *value) {
	dims := func(v *value) []int {
		if v.n != nil {
			return append([]int{-1}, v.n.Shape...) // -1: the batch
		}
		return v.c.dims
	}
	da, db := dims(va), dims(vb)
	if c.attrInt("broadcast", 0) == 0 {
		if !slices.Equal(da, db) {
			c.fail("B of dims %v differs from A's %v; %s broadcasts only with broadcast=1", db, da, c.versionName())
			return nil, nil
		}
		return va, vb
	}
	axis := c.attrInt("axis", int64(len(da)-len(db)))
	if axis < 0 || int(axis)+len(db) > len(da) {
		c.fail("B of dims %v does not fit A's %v at axis %d", db, da, axis)
		return nil, nil
	}
	if vb.n != nil {
		if trail := len(da) - int(axis) - len(db); trail != 0 {
			c.fail("broadcasts a computed B along axis %d; only constants broadcast in %s", axis, c.versionName())
			return nil, nil
		}
		return va, vb
	}
	padded := append(append([]int(nil), db...), make([]int, len(da)-int(axis)-len(db))...)
	for k := len(db); k < len(padded); k++ {
		padded[k] = 1
	}
	return va, &value{c: vb.c.view(padded)}
}

// channelValues returns a constant operand of elementwise arithmetic as one value (a scalar)
// or one per channel: dims broadcasting only along the channels, dimension 1 of x ([C], [C 1 1],
// [1 C 1 1]); of a tensor read through perm, along the dimension that is x's channels ([C] on
// channels-last [N H W C]).
func (c *call) channelValues(x *ir.Node, perm []int, k *tensor, name string) []float64 {
	if !k.isFloat() {
		c.fail("constant %q is %s; arithmetic with the network's tensors needs a float constant", name, typeName(k.dtype))
		return nil
	}
	r := rank(x)
	bad := len(k.dims) > r || k.size() == 0
	if !bad {
		pd := padDims(k.dims, r)
		for j, d := range pd {
			if d != 1 && (c.permAt(perm, j) != 1 || d != x.Shape[0]) {
				bad = true
			}
		}
	}
	if bad {
		c.fail("constant %q of dims %v on a tensor %s (%s) is neither a scalar nor one value per channel; only those broadcasts are supported", name, k.dims, batchShape(x.Shape), permName(perm))
		return nil
	}
	vals := make([]float64, k.size())
	for i := range vals {
		vals[i] = float64(k.f[i])
	}
	return vals
}

// lowerBinary lowers Add and Mul of two computed tensors, both read through perm.
func lowerBinary(c *call, a, b *ir.Node, perm []int) {
	if c.op == "Mul" && (c.geluMul(a, b, perm) || c.geluMul(b, a, perm)) {
		return
	}
	var n *ir.Node
	switch c.op {
	case "Add":
		if !a.Shape.Equal(b.Shape) {
			c.fail("adds [N %v] and [N %v]; broadcasting between computed tensors is not supported", a.Shape, b.Shape)
			return
		}
		n = c.newNode(ir.OpAdd, a, b)
	case "Mul":
		chanScale := func(x, s *ir.Node) bool {
			return len(x.Shape) == 3 && s.Shape.Equal(ir.Shape{x.Shape[0], 1, 1})
		}
		switch {
		case gate(a, b) != "":
			n = c.newNode(gate(a, b), a)
		case gate(b, a) != "":
			n = c.newNode(gate(b, a), b)
		case a.Shape.Equal(b.Shape), chanScale(a, b):
			n = c.newNode(ir.OpMul, a, b)
		case chanScale(b, a):
			n = c.newNode(ir.OpMul, b, a)
		default:
			c.fail("multiplies [N %v] by [N %v]; only equal shapes or a per-channel [C 1 1] factor are supported", a.Shape, b.Shape)
			return
		}
	default:
		c.fail("%s of two computed tensors is not supported (only Add and Mul)", c.op)
		return
	}
	if c.emit(n) {
		c.setView(0, n, perm)
	}
}

// gate recognises x * g(x) for g = sigmoid (SiLU) and g = hardsigmoid(1/6, 1/2) (HardSwish).
func gate(x, g *ir.Node) ir.Op {
	if len(g.Inputs) != 1 || g.Inputs[0] != x {
		return ""
	}
	switch {
	case g.Op == ir.OpSigmoid:
		return ir.OpSiLU
	case g.Op == ir.OpHardSigmoid:
		if a := ir.As[*ir.HardSigmoidAttrs](g); math.Abs(a.Alpha-1.0/6) < 1e-6 && a.Beta == 0.5 {
			return ir.OpHardSwish
		}
	}
	return ""
}
