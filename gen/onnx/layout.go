package onnx

import (
	"fmt"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
)

// Transposes of the network's tensors. The IR keeps one layout, NCHW, and has no transpose: an
// ONNX Transpose of a computed tensor binds its output to the same IR node with the permutation
// recorded (value.perm), and the operators that read such a value lower onto the untransposed
// tensor where they can: elementwise operators (a permutation does not change them), arithmetic
// with constants broadcast along the permuted axes, reductions and LayerNormalization over
// them, and a MatMul over the axis that is the channels (a 1x1 convolution). ConvNeXt's blocks
// (permute to channels-last, LayerNorm, Linear, GELU, Linear, permute back) thereby run on the
// network's own layout, and the Transpose back cancels the first. ShuffleNet's channel shuffle
// (Reshape to [N g C/g H W], Transpose of the two group axes, Reshape back) is recognised as
// one op. A reader that needs the transposed layout itself gets a reshape of the untransposed
// tensor when the permutation only moves dims of size 1 (the same values in the same order),
// and refuses it otherwise.

// dims are the value's ONNX dims, -1 for the batch.
func (v *value) dims() []int {
	switch {
	case v.pend != nil:
		return v.pend.dims
	case v.n == nil:
		return v.c.dims
	}
	d := append([]int{-1}, v.n.Shape...)
	if v.perm == nil {
		return d
	}
	out := make([]int, len(d))
	for i, p := range v.perm {
		out[i] = d[p]
	}
	return out
}

// identity reports whether perm leaves every dim in place.
func identity(perm []int) bool {
	for i, p := range perm {
		if p != i {
			return false
		}
	}
	return true
}

// sameLayout reports whether a tensor of IR dims (the batch first), permuted by perm, keeps its
// values in the same order: the dims larger than 1 stay in their order.
func sameLayout(perm []int, irDims []int) bool {
	last := -1
	for _, p := range perm {
		if p == 0 || irDims[p] != 1 {
			if p < last {
				return false
			}
			last = p
		}
	}
	return true
}

// dynView returns computed input k and the permutation ONNX reads it through (nil: none).
func (c *call) dynView(k int) (*ir.Node, []int) {
	v := c.val(k)
	if v != nil && v.n != nil && v.perm != nil {
		return v.n, v.perm
	}
	return c.dyn(k), nil
}

// setView binds output k to n read through perm (nil or the identity: n itself).
func (c *call) setView(k int, n *ir.Node, perm []int) {
	if perm == nil || identity(perm) {
		c.setDyn(k, n)
		return
	}
	if k >= len(c.out) || c.out[k] == "" {
		return
	}
	c.l.bind(c.out[k], n)
	c.l.vals[c.out[k]].perm = perm
}

// rebindView is rebind for an output read through perm.
func (c *call) rebindView(n *ir.Node, perm []int) {
	c.l.refs[n]--
	c.setView(0, n, perm)
}

// plain returns value v of input k in its ONNX layout: the IR node itself, or a reshape of it
// when the permutation keeps the values in order; otherwise it fails.
func (c *call) plain(k int, v *value) *ir.Node {
	if v.flat != nil {
		return v.flat
	}
	irDims := append([]int{-1}, v.n.Shape...)
	if !sameLayout(v.perm, irDims) {
		c.fail("input %d (%q) is a transposed tensor (perm %v of %s); %s reads it in that layout, which only per-position operators, reductions, LayerNormalization and MatMul over the channels can take", k, c.read[k], v.perm, batchShape(v.n.Shape), c.op)
		return nil
	}
	n := c.newNode(ir.OpReshape, v.n)
	n.Attrs = &ir.ReshapeAttrs{Shape: v.dims()[1:]}
	if !c.emit(n) {
		return nil
	}
	v.flat = n
	c.l.refs[n] += c.l.uses[c.in[k]]
	return n
}

// lowerTranspose permutes a computed tensor: it composes the permutation with the value's.
func lowerTranspose(c *call) {
	perm := c.attrInts("perm")
	if !c.ok() {
		return
	}
	x, p := c.dynView(0)
	if x == nil {
		return
	}
	r := rank(x)
	if perm == nil {
		for k := r - 1; k >= 0; k-- {
			perm = append(perm, int64(k))
		}
	}
	if len(perm) != r {
		c.fail("perm %v for rank %d", perm, r)
		return
	}
	out := make([]int, r)
	seen := make([]bool, r)
	for i, q := range perm {
		if q < 0 || q >= int64(r) || seen[q] {
			c.fail("perm %v is not a permutation", perm)
			return
		}
		seen[q] = true
		out[i] = c.permAt(p, int(q))
	}
	if out[0] != 0 {
		c.fail("perm %v moves the batch dimension", perm)
		return
	}
	c.rebindView(x, out)
}

// permAt is dim i of a value read through p (nil: the identity).
func (c *call) permAt(p []int, i int) int {
	if p == nil {
		return i
	}
	return p[i]
}

// irAxes maps ONNX axes of a value read through perm to its IR node's dims (the batch 0).
func irAxes(perm []int, axes []int) []int {
	out := make([]int, len(axes))
	for i, a := range axes {
		if perm == nil {
			out[i] = a
		} else {
			out[i] = perm[a]
		}
	}
	return out
}

// batchShape is a per-image shape with the batch in front, for messages: [N 3 224 224].
func batchShape(s ir.Shape) string {
	return "[N " + strings.Trim(fmt.Sprint([]int(s)), "[]") + "]"
}

// permName describes a layout for messages.
func permName(perm []int) string {
	if perm == nil {
		return "untransposed"
	}
	return fmt.Sprintf("perm %v", perm)
}
