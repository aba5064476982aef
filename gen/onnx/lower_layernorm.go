package onnx

import (
	"math"
	"slices"

	"github.com/cnngen/cnngen/gen/ir"
)

// LayerNormalization (opset 17) and the pattern exporters write for it before: with m =
// ReduceMean(x, axes, keepdims=1) and d = x - m, the output is
//
//	d / Sqrt(ReduceMean(Pow(d, 2), axes) + eps) [* weight] [+ bias]
//
// The steps between the Sub and the Div are not IR nodes (a tensor minus its broadcast mean has
// no op of its own): they are bound as pending values (pendingNorm), which only the next step of
// the pattern reads, and the Div makes the layernorm. A Mul by a constant weight and an Add of a
// constant bias shaped as the normalized dims then fold into it. Either form may read a
// transposed tensor (ConvNeXt normalizes its channels-last view over the last axis): the
// normalized axes are mapped to the IR node's dims.

// normStep is how far a decomposed LayerNorm has come.
type normStep int

const (
	stepCentered normStep = iota // x - mean(x)
	stepSquared                  // (x - mean(x))^2
	stepVariance                 // mean((x - mean(x))^2)
	stepVarEps                   // variance + eps
	stepStd                      // sqrt(variance + eps)
)

var stepNames = [...]string{"x - mean(x)", "(x - mean(x))^2", "the variance", "the variance + eps", "the standard deviation"}

// pendingNorm is a value in the middle of a decomposed LayerNorm of x (read through perm) over
// the ONNX axes.
type pendingNorm struct {
	step normStep
	x    *ir.Node
	perm []int
	axes []int // ONNX axes, normalized and sorted
	dims []int // the value's ONNX dims
	eps  float64
}

// normInfo is what the lowering remembers of a layernorm node for folding a weight and a bias
// into it: the ONNX axes it normalizes, how its input is read, and whether its weight and bias
// are still the identity it was made with (a decomposed LayerNorm has neither until the Mul and
// the Add that follow).
type normInfo struct {
	axes       []int
	perm       []int
	unitWeight bool
	zeroBias   bool
}

func lowerLayerNorm(c *call) {
	axis := c.attrInt("axis", -1)
	eps := c.attrFloat("epsilon", 1e-5)
	// stash_type is the precision of the mean and variance: float32 (1) or wider; cnngen's
	// kernels compute them in float32 and the interpreter in float64, both within it.
	c.attrInt("stash_type", 1)
	if !c.ok() {
		return
	}
	x, perm := c.dynView(0)
	scale, bias := c.konst(1), c.konstOpt(2)
	if x == nil || scale == nil || c.present(2) && bias == nil {
		return
	}
	r := rank(x)
	a, ok := c.normAxis(axis, r, "axis")
	if !ok {
		return
	}
	var axes []int
	for k := a; k < r; k++ {
		axes = append(axes, k)
	}
	n := c.layerNorm(x, perm, axes, eps)
	if n == nil {
		return
	}
	w := c.normParam(scale, n, "Scale")
	b := c.alloc(tFloat, append([]int(nil), n.Params[0].Shape...)) // zeros
	if bias != nil {
		b = c.normParam(bias, n, "B")
	}
	if w == nil || b == nil {
		return
	}
	n.Params[0].Key = c.read[1]
	if bias != nil {
		n.Params[1].Key = c.read[2]
	}
	if c.emit(n, w, b) {
		c.l.norms[n] = &normInfo{axes: axes, perm: perm, zeroBias: bias == nil}
		c.setView(0, n, perm)
	}
}

// layerNorm starts a layernorm node over the ONNX axes of x read through perm, or fails when
// those are not contiguous dims of x in order (the weight's layout would differ) or include the
// batch. Its params have no keys and no data yet.
func (c *call) layerNorm(x *ir.Node, perm []int, axes []int, eps float64) *ir.Node {
	red := irAxes(perm, axes)
	if slices.Contains(red, 0) {
		c.fail("normalizes over dimension 0, the batch")
		return nil
	}
	for k := range red {
		if red[k] != red[0]+k {
			c.fail("normalizes axes %v of a tensor read through %s: not contiguous dims of it in order", axes, permName(perm))
			return nil
		}
	}
	n := c.newNode(ir.OpLayerNorm, x)
	n.Attrs = &ir.LayerNormAttrs{Axis: red[0] - 1, AxisEnd: red[len(red)-1], Eps: eps}
	n.Params = []ir.Param{{}, {}}
	if err := ir.InferNode(n); err != nil {
		c.fail("%v", err)
		return nil
	}
	return n
}

// normParam returns a layernorm's weight or bias constant t as n's param data: its values for
// the normalized dims (in ONNX's order, which layerNorm made n's), or one value for all.
func (c *call) normParam(t *tensor, n *ir.Node, what string) *tensor {
	shape := n.Params[0].Shape
	if !t.isFloat() || t.hasBatch() {
		c.fail("%s %q must be a float constant", what, t.name)
		return nil
	}
	if t.size() == 1 {
		// Spelled out like a folded constant, within the same bounds (a hostile model's
		// normalized dims could be huge).
		out := c.alloc(tFloat, append([]int(nil), shape...))
		if out == nil {
			return nil
		}
		out.name = t.name
		for k := range out.f {
			out.f[k] = t.f[0]
		}
		return out
	}
	if !sameDims(t.dims, shape) {
		c.fail("%s %q has dims %v; the normalized dims are %v", what, t.name, t.dims, shape)
		return nil
	}
	return t.view(append([]int(nil), shape...))
}

// normSub recognises x - ReduceMean(x, axes, keepdims=1), the first step of a decomposed
// LayerNorm, and binds it as pending. It reports whether it did.
func (c *call) normSub(a, b *value) bool {
	if c.op != "Sub" || a.n == nil || b.n == nil || b.n.Op != ir.OpReduceMean || b.n.Inputs[0] != a.n || !slices.Equal(a.perm, b.perm) {
		return false
	}
	ra := ir.As[*ir.ReduceAttrs](b.n)
	if !ra.KeepDims {
		return false
	}
	var axes []int
	for k := range a.dims() {
		if irk := c.permAt(a.perm, k); irk-1 >= ra.Axis && irk-1 < ra.End(len(a.n.Shape)) {
			axes = append(axes, k)
		}
	}
	c.setPending(&pendingNorm{step: stepCentered, x: a.n, perm: a.perm, axes: axes, dims: a.dims()})
	return true
}

// setPending binds output 0 to a pending step.
func (c *call) setPending(p *pendingNorm) {
	if len(c.out) == 0 || c.out[0] == "" {
		return
	}
	c.l.vals[c.out[0]] = &value{pend: p}
}

// normArith continues a decomposed LayerNorm through Add, Sub, Mul or Div with a pending
// operand: variance + eps, and centered / std, which completes it.
func (c *call) normArith(va, vb *value) {
	p, q := va.pend, vb.pend
	switch {
	case c.op == "Add" && (p != nil && p.step == stepVariance && vb.c != nil || q != nil && q.step == stepVariance && va.c != nil):
		if p == nil {
			p, vb = q, va
		}
		eps, ok := c.scalar(vb.c, "eps")
		if !ok {
			return
		}
		// As epsilon attributes are read (widen): LayerNormalization-17 and its written-out
		// form then give the same graph.
		eps = widen(float32(eps))
		if !(eps > 0) || math.IsInf(eps, 0) {
			c.fail("eps %g of a decomposed LayerNorm must be positive", eps)
			return
		}
		next := *p
		next.step, next.eps = stepVarEps, eps
		c.setPending(&next)
	case c.op == "Div" && p != nil && q != nil && p.step == stepCentered && q.step == stepStd && p.x == q.x && slices.Equal(p.axes, q.axes) && slices.Equal(p.perm, q.perm):
		n := c.layerNorm(p.x, p.perm, p.axes, q.eps)
		if n == nil {
			return
		}
		ones := c.alloc(tFloat, append([]int(nil), n.Params[0].Shape...))
		zeros := c.alloc(tFloat, append([]int(nil), n.Params[0].Shape...))
		if ones == nil || zeros == nil {
			return
		}
		for k := range ones.f {
			ones.f[k] = 1
		}
		if c.emit(n, ones, zeros) {
			c.l.norms[n] = &normInfo{axes: p.axes, perm: p.perm, unitWeight: true, zeroBias: true}
			c.setView(0, n, p.perm)
		}
	default:
		c.failPending(va, vb)
	}
}

// failPending explains which pending value an operator cannot take.
func (c *call) failPending(vs ...*value) {
	for k, v := range vs {
		if v != nil && v.pend != nil {
			c.fail("input %d (%q) is %s of a LayerNorm written out (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div); %s cannot read it, only the pattern's next step", k, c.read[k], stepNames[v.pend.step], c.op)
			return
		}
	}
}

// lowerPow squares the centered value of a decomposed LayerNorm; Pow of anything else is not
// supported.
func lowerPow(c *call) {
	if !c.ok() {
		return
	}
	v := c.val(0)
	if v == nil || v.pend == nil || v.pend.step != stepCentered {
		c.fail("Pow of a tensor is only supported as the square in a LayerNorm written out (x - mean(x))^2")
		return
	}
	e, ok := c.scalar(c.konst(1), "the exponent")
	if !ok {
		return
	}
	if e != 2 {
		c.fail("exponent %g: only the square of x - mean(x) (a LayerNorm written out) is supported", e)
		return
	}
	next := *v.pend
	next.step = stepSquared
	c.setPending(&next)
}

// lowerSqrt takes the square root of the variance + eps of a decomposed LayerNorm, or of a sum
// of squares, the L2 norm torch.norm is written as (Sqrt(ReduceSum(x*x))); Sqrt of anything else
// is not supported.
func lowerSqrt(c *call) {
	if !c.ok() {
		return
	}
	v := c.val(0)
	if v != nil && v.n != nil && c.l2Norm(v) {
		return
	}
	if v == nil || v.pend == nil || v.pend.step != stepVarEps {
		c.fail("Sqrt of a tensor is only supported in a LayerNorm written out (the standard deviation) and as an L2 norm, Sqrt(ReduceSum(x*x))")
		return
	}
	next := *v.pend
	next.step = stepStd
	c.setPending(&next)
}

// l2Norm makes Sqrt(ReduceSum(x*x)) a reduce_l2 of x over the same dims, reporting whether the
// value is that sum of squares.
func (c *call) l2Norm(v *value) bool {
	s := v.n
	if s.Op != ir.OpReduceSum || s.Inputs[0].Op != ir.OpMul || !c.singleUse(s) {
		return false
	}
	m := s.Inputs[0]
	if m.Inputs[0] != m.Inputs[1] {
		return false
	}
	n := c.newNode(ir.OpReduceL2, m.Inputs[0])
	n.Attrs = s.Attrs.Clone()
	if c.emit(n) {
		c.setView(0, n, v.perm)
	}
	return true
}

// reduceNorm is ReduceMean of the squared centered value: the variance.
func (c *call) reduceNorm(p *pendingNorm, axes []int64, keep bool) {
	var norm []int
	for _, a := range axes {
		k, ok := c.normAxis(a, len(p.dims), "axis")
		if !ok {
			return
		}
		norm = append(norm, k)
	}
	slices.Sort(norm)
	if c.op != "ReduceMean" || p.step != stepSquared || !keep || !slices.Equal(norm, p.axes) {
		c.failPending(&value{pend: p})
		return
	}
	next := *p
	next.step = stepVariance
	c.setPending(&next)
}

// foldNorm folds x * k or x + k into the layernorm x when k is shaped as its normalized dims
// (or one value) and x's weight (for Mul) or bias (for Add) is still the identity. It reports
// whether it did.
func (c *call) foldNorm(x *ir.Node, perm []int, k *tensor, ki int) bool {
	info := c.l.norms[x]
	if info == nil || !c.singleUse(x) || !slices.Equal(perm, info.perm) || !k.isFloat() || k.hasBatch() {
		return false
	}
	role := 1
	switch {
	case c.op == "Mul" && info.unitWeight:
		role = 0
	case c.op == "Add" && info.zeroBias:
	default:
		return false
	}
	// k must vary only along the normalized axes: padded to x's rank, 1 elsewhere.
	r := rank(x)
	if len(k.dims) > r {
		return false
	}
	pd := padDims(k.dims, r)
	dims := (&value{n: x, perm: perm}).dims()
	var norm []int
	for a, d := range pd {
		switch {
		case slices.Contains(info.axes, a):
			norm = append(norm, d)
		case d != 1:
			return false
		}
	}
	if k.size() != 1 {
		for i, a := range info.axes {
			if norm[i] != dims[a] {
				return false
			}
		}
	}
	data := c.normParam(k, x, map[int]string{0: "weight", 1: "bias"}[role])
	if data == nil {
		return true // the failure is recorded
	}
	x.Params[role].Key = c.read[ki]
	c.l.pdata[x][role] = data
	if role == 0 {
		info.unitWeight = false
	} else {
		info.zeroBias = false
	}
	c.rebindView(x, perm)
	return true
}
