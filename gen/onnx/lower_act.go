package onnx

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

// The activations and normalized exponentials whose ONNX form differs from the IR op's
// attributes; the others are lowered by generic (ops.go).

func lowerClip(c *call) {
	lo, hi := math.Inf(-1), math.Inf(1)
	if c.ver < 11 { // attributes in Clip-1 and Clip-6, inputs from Clip-11 on
		lo, hi = c.attrFloat("min", lo), c.attrFloat("max", hi)
		if len(c.in) > 1 {
			c.fail("%s takes one input (min and max are attributes)", c.versionName())
		}
	}
	if !c.ok() {
		return
	}
	if c.ver >= 11 {
		if v, ok := c.scalar(c.konstOpt(1), "min"); ok {
			lo = v
		}
		if v, ok := c.scalar(c.konstOpt(2), "max"); ok {
			hi = v
		}
	}
	x, perm := c.dynView(0)
	if x == nil || len(c.whys) > 0 {
		return
	}
	var n *ir.Node
	switch {
	case lo == 0 && hi == 6:
		n = c.newNode(ir.OpReLU6, x)
	case lo == 0 && math.IsInf(hi, 1):
		n = c.newNode(ir.OpReLU, x)
	default:
		n = c.newNode(ir.OpClip, x)
		n.Attrs = &ir.ClipAttrs{Min: lo, Max: hi}
	}
	if c.emit(n) {
		c.setView(0, n, perm)
	}
}

func lowerSoftmax(c *call) {
	def := int64(-1)
	if c.ver < 13 {
		def = 1
	}
	axis := c.attrInt("axis", def)
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	if x == nil {
		return
	}
	a, ok := c.normAxis(axis, rank(x), "axis")
	if !ok {
		return
	}
	if a == 0 {
		c.fail("axis 0 normalizes across the batch; only per-image axes are supported")
		return
	}
	op := ir.OpSoftmax
	if c.op == "LogSoftmax" {
		op = ir.OpLogSoftmax
	}
	n := c.newNode(op, x)
	// Before version 13 the input is coerced to 2-D at axis: one softmax over all dims from axis.
	sa := &ir.SoftmaxAttrs{Axis: a - 1, AxisEnd: len(x.Shape)}
	if c.ver >= 13 {
		sa.AxisEnd = a
	}
	n.Attrs = sa
	if c.emit(n) {
		c.setDyn(0, n)
	}
}
