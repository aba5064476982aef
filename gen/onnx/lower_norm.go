package onnx

import (
	"github.com/cnngen/cnngen/gen/ir"
)

// LRN and inference batch norm. ONNX and PyTorch place LRN's window differently for even sizes,
// which LRNAttrs.Lo records.

func lowerLRN(c *call) {
	size := c.attrInt("size", 0)
	if size < 1 || size > maxAttr {
		c.fail("size %d must be positive", size)
	}
	a := &ir.LRNAttrs{
		Size:  int(size),
		Alpha: c.attrFloat("alpha", 1e-4),
		Beta:  c.attrFloat("beta", 0.75),
		Bias:  c.attrFloat("bias", 1),
		// ONNX sums channels [c - floor((size-1)/2), c + ceil((size-1)/2)]; PyTorch's window
		// starts size/2 before c, which differs for even sizes.
		Lo: int(size-1) / 2,
	}
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	if x == nil {
		return
	}
	n := c.newNode(ir.OpLRN, x)
	n.Attrs = a
	if c.emit(n) {
		c.setDyn(0, n)
	}
}

func lowerBatchNorm(c *call) {
	eps := c.attrFloat("epsilon", 1e-5)
	c.attrFloat("momentum", 0.9) // training only
	if c.attrInt("spatial", 1) != 1 {
		c.fail("spatial=0 (statistics per element) is not supported")
	}
	if c.attrInt("training_mode", 0) != 0 {
		c.fail("training_mode=1 is not supported (inference only)")
	}
	if c.ver < 7 && c.attrInt("is_test", 0) == 0 {
		// Before version 7, is_test=0 (the default) normalizes with the batch's statistics.
		c.fail("is_test=0 is training mode in %s (inference only)", c.versionName())
	}
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	var data []*tensor
	for k := 1; k <= 4; k++ {
		data = append(data, c.konst(k))
	}
	if x == nil || len(c.whys) > 0 {
		return
	}
	n := c.newNode(ir.OpBatchNorm, x)
	n.Attrs = &ir.BatchNormAttrs{Eps: eps}
	n.Params = []ir.Param{{Key: c.read[1]}, {Key: c.read[2]}, {Key: c.read[3], Buffer: true}, {Key: c.read[4], Buffer: true}}
	if c.emit(n, data...) {
		c.setDyn(0, n)
	}
}
