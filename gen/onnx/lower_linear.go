package onnx

import (
	"github.com/cnngen/cnngen/gen/ir"
)

// Gemm and MatMul become linear layers only in the form a classifier's head takes: a
// [batch, features] input times a constant matrix. The IR keeps ONNX's alpha, beta and
// weight layout (LinearAttrs.TransW) rather than rewriting the weights, so keys and data stay
// the file's.

func lowerGemm(c *call) {
	alpha, beta := c.attrFloat("alpha", 1), c.attrFloat("beta", 1)
	if c.attrInt("transA", 0) != 0 {
		c.fail("transA=1 is not supported (the input must be [batch, features])")
	}
	transB := c.attrInt("transB", 0) != 0
	if !c.ok() {
		return
	}
	x, w, b := c.dyn(0), c.konst(1), c.konstOpt(2)
	if x == nil || w == nil || c.present(2) && b == nil {
		return
	}
	if c.ver < 7 && b != nil && c.attrInt("broadcast", 0) == 0 && !(c.l.batch == 1 && len(b.dims) == 2 && b.dims[0] == 1) {
		// Without broadcast, Gemm-1 and Gemm-6 add a C of [M, N]: one row per image.
		c.fail("C %q of dims %v is added row by row without broadcast=1 in %s", c.read[2], b.dims, c.versionName())
		return
	}
	if len(x.Shape) != 1 {
		c.fail("input is [N %v]; Gemm needs [batch, features] (flatten first)", x.Shape)
		return
	}
	if len(w.dims) != 2 {
		c.fail("B %q has dims %v, want a matrix", c.read[1], w.dims)
		return
	}
	a := &ir.LinearAttrs{Out: w.dims[1], Alpha: alpha, Beta: beta, TransW: !transB}
	if transB {
		a.Out = w.dims[0]
	}
	n := c.newNode(ir.OpLinear, x)
	n.Attrs = a
	n.Params = []ir.Param{{Key: c.read[1]}}
	data := []*tensor{w}
	if b != nil {
		bv := c.vector(b, a.Out, "C "+c.read[2])
		if bv == nil {
			return
		}
		a.Bias = true
		n.Params = append(n.Params, ir.Param{Key: c.read[2]})
		data = append(data, bv)
	}
	if c.emit(n, data...) {
		c.setDyn(0, n)
	}
}

func lowerMatMul(c *call) {
	if !c.ok() {
		return
	}
	x, perm := c.dynView(0)
	w := c.konst(1)
	if x == nil || w == nil {
		return
	}
	if len(x.Shape) == 3 && len(w.dims) == 2 && c.permAt(perm, 3) == 1 {
		c.pixelLinear(x, perm, w)
		return
	}
	if x = c.dyn(0); x == nil {
		return
	}
	if len(x.Shape) != 1 || len(w.dims) != 2 {
		c.fail("only [batch, features] × a constant matrix is supported, got [N %v] × %v", x.Shape, w.dims)
		return
	}
	n := c.newNode(ir.OpLinear, x)
	n.Attrs = &ir.LinearAttrs{Out: w.dims[1], Alpha: 1, Beta: 1, TransW: true}
	n.Params = []ir.Param{{Key: c.read[1]}}
	if c.emit(n, w) {
		c.setDyn(0, n)
	}
}

// pixelLinear lowers a MatMul over the channels of a feature map read channels-last (ONNX's
// last axis is x's channels): a linear layer applied at every pixel, that is a 1x1 convolution
// whose weight is the transposed matrix. The output is read channels-last too.
func (c *call) pixelLinear(x *ir.Node, perm []int, w *tensor) {
	in, out := w.dims[0], w.dims[1]
	if in != x.Shape[0] {
		c.fail("multiplies %s (%s) by %v: the channels do not match", batchShape(x.Shape), permName(perm), w.dims)
		return
	}
	if !w.isFloat() {
		c.fail("weight %q is %s, want a float type", c.read[1], typeName(w.dtype))
		return
	}
	t := &tensor{name: w.name, dtype: tFloat, dims: []int{out, in, 1, 1}, f: make([]float32, in*out)}
	for i := range in {
		for o := range out {
			t.f[o*in+i] = w.f[i*out+o]
		}
	}
	n := c.newNode(ir.OpConv, x)
	n.Attrs = &ir.ConvAttrs{Out: out, Kernel: [2]int{1, 1}, Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1}
	n.Params = []ir.Param{{Key: c.read[1]}}
	if c.emit(n, t) {
		c.setView(0, n, perm)
	}
}

// vector returns a constant as a per-output vector of n values: its own data when it holds n
// values in dims like [n] or [1, n], n copies when it holds one.
func (c *call) vector(t *tensor, n int, what string) *tensor {
	if !t.isFloat() {
		c.fail("%s is %s, want a float type", what, typeName(t.dtype))
		return nil
	}
	if t.hasBatch() || t.size() != n && t.size() != 1 {
		c.fail("%s has dims %v; want %d values or one", what, t.dims, n)
		return nil
	}
	if t.size() == n {
		return t.view([]int{n})
	}
	out := &tensor{name: t.name, dtype: t.dtype, dims: []int{n}, f: make([]float32, n)}
	for k := range out.f {
		out.f[k] = t.f[0]
	}
	return out
}
