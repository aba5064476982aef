package onnx

import (
	"github.com/cnngen/cnngen/gen/ir"
)

// Pooling follows the IR's (PyTorch's) window rules where they compute the same as ONNX's:
// ONNX's padding allowances that PyTorch lacks are first rewritten where the windows come out
// the same (fitPoolPads); dilations, and pads that remain over half the kernel, make
// dilated_maxpool and dilated_avgpool, ONNX Runtime's windows.

func lowerPool(c *call) {
	isMax := c.op == "MaxPool"
	autoPad := c.attrString("auto_pad", "NOTSET")
	checkAutoPad(c, autoPad)
	ceil := c.attrInt("ceil_mode", 0) != 0
	var kernel [2]int
	if !c.has("kernel_shape") {
		c.fail("kernel_shape is required")
	} else {
		kernel = c.pair("kernel_shape", 1, 1)
	}
	strides := c.pair("strides", 1, 1)
	pads := c.pads4("pads")
	dil := c.pair("dilations", 1, 1) // MaxPool from version 10, AveragePool from 19
	inclPad := false
	if isMax {
		c.attrInt("storage_order", 0) // only matters for the Indices output
	} else {
		inclPad = c.attrInt("count_include_pad", 0) != 0
	}
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	if x == nil || !c.needCHW(x) {
		return
	}
	a := ir.PoolAttrs{
		Kernel:   kernel,
		Stride:   strides,
		Pad:      c.autoPads(autoPad, pads, x.Shape[1:], kernel, strides, dil),
		CeilMode: ceil,
	}
	if (isMax || !inclPad) && dil == [2]int{1, 1} {
		fitPoolPads(&a, x.Shape[1:])
	}
	wide := false
	for i, p := range a.Pad {
		wide = wide || 2*p > a.Kernel[i%2]
	}
	var n *ir.Node
	switch {
	case wide || dil != [2]int{1, 1}:
		da := ir.DilatedPoolAttrs{PoolAttrs: a, Dilation: dil}
		if isMax {
			n = c.newNode(ir.OpDilatedMaxPool, x)
			n.Attrs = &da
		} else {
			n = c.newNode(ir.OpDilatedAvgPool, x)
			n.Attrs = &ir.DilatedAvgPoolAttrs{DilatedPoolAttrs: da, CountIncludePad: inclPad}
		}
	case isMax:
		n = c.newNode(ir.OpMaxPool, x)
		n.Attrs = &a
	default:
		n = c.newNode(ir.OpAvgPool, x)
		n.Attrs = &ir.AvgPoolAttrs{PoolAttrs: a, CountIncludePad: inclPad}
	}
	if c.emit(n) {
		c.setDyn(0, n)
	}
}

// fitPoolPads rewrites end pads larger than half the kernel, which ONNX allows (exporters for
// opsets before 10 emulate ceil_mode with them) but PyTorch and the IR do not, as the smaller pad
// with ceil_mode when that gives the same windows. Only for pooling that ignores padded values.
func fitPoolPads(a *ir.PoolAttrs, in []int) {
	fit := a.Pad
	for i := 2; i < 4; i++ {
		if k := a.Kernel[i-2]; 2*fit[i] > k {
			fit[i] = k / 2
		}
	}
	if fit == a.Pad || 2*a.Pad[0] > a.Kernel[0] || 2*a.Pad[1] > a.Kernel[1] {
		return
	}
	for d := 0; d < 2; d++ {
		k, s, lo := a.Kernel[d], a.Stride[d], a.Pad[d]
		span := in[d] + lo + a.Pad[d+2] - k
		if span < 0 {
			return
		}
		want := span/s + 1 // ONNX's output size
		if a.CeilMode {
			want = (span+s-1)/s + 1
		}
		// PyTorch's ceil mode, which drops a last window starting in the end padding.
		span = in[d] + lo + fit[d+2] - k
		if span < 0 {
			return
		}
		got := (span+s-1)/s + 1
		if (got-1)*s >= in[d]+lo {
			got--
		}
		if got != want {
			return
		}
	}
	a.Pad, a.CeilMode = fit, true
}

func lowerGlobalPool(c *call) {
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	if x == nil || !c.needCHW(x) {
		return
	}
	op := ir.OpGlobalAvgPool
	if c.op == "GlobalMaxPool" {
		op = ir.OpGlobalMaxPool
	}
	n := c.newNode(op, x)
	if c.emit(n) {
		c.setDyn(0, n)
	}
}
