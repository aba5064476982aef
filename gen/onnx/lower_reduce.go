package onnx

import (
	"slices"

	"github.com/cnngen/cnngen/gen/ir"
)

// ReduceMean, ReduceMax, ReduceSum and ReduceL2 over a contiguous range of per-image axes. The
// axes are an attribute until version 13 (ReduceSum: 11), an input afterwards; with no axes
// every dimension is reduced, which includes the batch, unless noop_with_empty_axes (from
// those same versions) makes the node the identity. Mean and max over a feature map's spatial
// axes are global poolings.

var reduceOps = map[string]ir.Op{
	"ReduceMean": ir.OpReduceMean,
	"ReduceMax":  ir.OpReduceMax,
	"ReduceSum":  ir.OpReduceSum,
	"ReduceL2":   ir.OpReduceL2,
}

func lowerReduce(c *call) {
	keep := c.attrInt("keepdims", 1) != 0
	noop := c.attrInt("noop_with_empty_axes", 0) != 0
	if !c.ok() {
		return
	}
	var axes []int64
	if c.reduceAxesInput() {
		if c.present(1) {
			if axes = c.ints(c.konst(1), "axes"); axes == nil && len(c.whys) > 0 {
				return
			}
		}
	} else {
		axes = c.attrInts("axes")
	}
	if v := c.val(0); v != nil && v.pend != nil {
		c.reduceNorm(v.pend, axes, keep)
		return
	}
	x, perm := c.dynView(0)
	if x == nil || len(c.whys) > 0 {
		return
	}
	if len(axes) == 0 {
		if noop {
			c.rebindView(x, perm)
		} else {
			c.fail("reduces every dimension, the batch too (no axes)")
		}
		return
	}
	r := rank(x)
	norm := make([]int, 0, len(axes))
	for _, a := range axes {
		k, ok := c.normAxis(a, r, "axis")
		if !ok {
			return
		}
		if slices.Contains(norm, k) {
			c.fail("axis %d given twice", a)
			return
		}
		norm = append(norm, k)
	}
	// The axes of x's tensor: a transposed input is reduced over the dims its axes are.
	red := irAxes(perm, norm)
	slices.Sort(red)
	if red[0] == 0 {
		c.fail("axes %v reduce over the batch (dimension 0)", axes)
		return
	}
	if red[len(red)-1]-red[0] != len(red)-1 {
		c.fail("axes %v are not contiguous (%s); only a range of dimensions is supported", axes, permName(perm))
		return
	}
	axis, end := red[0]-1, red[len(red)-1]
	out := perm
	if !keep && perm != nil {
		out = dropAxes(perm, red)
	}
	op := reduceOps[c.op]
	if (op == ir.OpReduceMean || op == ir.OpReduceMax) && len(x.Shape) == 3 && axis == 1 && end == 3 {
		c.globalPool(op == ir.OpReduceMax, x, keep, out)
		return
	}
	n := c.newNode(op, x)
	n.Attrs = &ir.ReduceAttrs{Axis: axis, AxisEnd: end, KeepDims: keep}
	if c.emit(n) {
		c.setView(0, n, out)
	}
}

// dropAxes is the permutation perm becomes when the dims red of its tensor are removed: their
// positions go, and the dims after them move down.
func dropAxes(perm, red []int) []int {
	var out []int
	for _, p := range perm {
		if slices.Contains(red, p) {
			continue
		}
		below := 0
		for _, r := range red {
			if r < p {
				below++
			}
		}
		out = append(out, p-below)
	}
	return out
}

// reduceAxesInput reports whether the node's axes are its second input: ReduceSum's from
// version 13, the others' from 18.
func (c *call) reduceAxesInput() bool {
	if c.op == "ReduceSum" {
		return c.ver >= 13
	}
	return c.ver >= 18
}

// globalPool makes the output a global pooling of x, flattened to [C] unless keep, read
// through perm.
func (c *call) globalPool(isMax bool, x *ir.Node, keep bool, perm []int) {
	op := ir.OpGlobalAvgPool
	if isMax {
		op = ir.OpGlobalMaxPool
	}
	n := c.newNode(op, x)
	if !c.emit(n) {
		return
	}
	if keep {
		c.setView(0, n, perm)
		return
	}
	c.view(n, ir.Shape{x.Shape[0]})
}
