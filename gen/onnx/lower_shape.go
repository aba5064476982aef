package onnx

import (
	"github.com/cnngen/cnngen/gen/ir"
)

// Ops that move data or change its shape: Concat, Flatten, Reshape, Squeeze, Unsqueeze, Pad.

func lowerConcat(c *call) {
	axis := c.concatAxis()
	if !c.ok() {
		return
	}
	var xs []*ir.Node
	for k := range c.in {
		if c.present(k) {
			xs = append(xs, c.dyn(k))
		}
	}
	if len(c.whys) > 0 {
		return
	}
	if len(xs) == 0 {
		c.fail("needs inputs")
		return
	}
	a, ok := c.normAxis(axis, rank(xs[0]), "axis")
	if !ok {
		return
	}
	if a != 1 {
		c.fail("concatenates along axis %d; only channels (axis 1) are supported", a)
		return
	}
	if len(xs) == 1 {
		c.rebind(xs[0])
		return
	}
	n := c.newNode(ir.OpConcat, xs...)
	if c.emit(n) {
		c.setDyn(0, n)
	}
}

func lowerFlatten(c *call) {
	axis := c.attrInt("axis", 1)
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	if x == nil {
		return
	}
	a, ok := c.flattenAxis(axis, rank(x))
	if !ok {
		return
	}
	if a != 1 {
		c.fail("axis %d: only flattening each image (axis 1) is supported", a)
		return
	}
	c.view(x, ir.Shape{x.Shape.Size()})
}

// view makes the output x reshaped to the per-image shape target: x itself, a flatten or a
// reshape node.
func (c *call) view(x *ir.Node, target ir.Shape) {
	if len(target) == 0 {
		c.fail("the result has one value per image ([N]); per-image shapes need at least one dimension")
		return
	}
	if target.Equal(x.Shape) {
		c.rebind(x)
		return
	}
	var n *ir.Node
	if len(target) == 1 {
		n = c.newNode(ir.OpFlatten, x)
	} else {
		n = c.newNode(ir.OpReshape, x)
		n.Attrs = &ir.ReshapeAttrs{Shape: target}
	}
	if c.emit(n) {
		c.setDyn(0, n)
	}
}

func lowerReshape(c *call) {
	allowZero := c.attrInt("allowzero", 0) != 0
	if !c.ok() {
		return
	}
	x, perm := c.dynView(0)
	s := c.reshapeShape()
	if x == nil || s == nil {
		return
	}
	if s.isFloat() || len(s.dims) != 1 || s.size() == 0 {
		c.fail("the shape must be a non-empty 1-D integer tensor, got %s %v", typeName(s.dtype), s.dims)
		return
	}
	shape := s.i
	mark := func(k int) bool { return s.batch != nil && s.batch[k] }
	batchInferred := false
	switch {
	case mark(0), shape[0] == 0 && !allowZero, c.l.batch > 0 && shape[0] == int64(c.l.batch):
	case shape[0] == -1:
		batchInferred = true
	default:
		c.fail("shape %v changes the batch dimension (dimension 0 must stay the batch)", shape)
		return
	}
	rest := shape[1:]
	for k := range rest {
		if mark(k + 1) {
			c.fail("shape %v puts the batch size in dimension %d", shape, k+1)
			return
		}
		if batchInferred && rest[k] == -1 {
			c.fail("shape %v infers two dimensions", shape)
			return
		}
	}
	if len(rest) == 0 {
		c.fail("shape %v leaves one value per image; per-image shapes need at least one dimension", shape)
		return
	}
	target := c.reshapeTarget(c.val(0).dims()[1:], rest, allowZero)
	if target == nil {
		return
	}
	if g := shuffleGroups(x, perm, target); g > 0 {
		n := c.newNode(ir.OpChannelShuffle, x.Inputs[0])
		n.Attrs = &ir.ChannelShuffleAttrs{Groups: g}
		if c.emit(n) {
			c.setDyn(0, n)
		}
		return
	}
	if perm != nil {
		if x = c.dyn(0); x == nil {
			return
		}
	}
	c.view(x, target)
}

// shuffleGroups recognises a channel shuffle, x.view(N, g, C/g, ...).transpose(1, 2) reshaped
// back to x's shape, and returns g (0 for anything else): x is the reshape of a tensor
// [C ...] to [g C/g ...], read with its dims 1 and 2 swapped, and target is [C ...].
func shuffleGroups(x *ir.Node, perm []int, target ir.Shape) int {
	if perm == nil || x.Op != ir.OpReshape || len(x.Shape) < 3 || len(perm) != len(x.Shape)+1 {
		return 0
	}
	for i, p := range perm {
		want := i
		switch i {
		case 1:
			want = 2
		case 2:
			want = 1
		}
		if p != want {
			return 0
		}
	}
	src := x.Inputs[0].Shape
	g := x.Shape[0]
	if !target.Equal(src) || len(src) != len(x.Shape)-1 || src[0] != g*x.Shape[1] || !src[1:].Equal(x.Shape[2:]) {
		return 0
	}
	return g
}

func lowerSqueeze(c *call) {
	axes, given := c.squeezeAxes()
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	if x == nil || len(c.whys) > 0 {
		return
	}
	dims := append([]int{-1}, x.Shape...) // -1: the batch
	var out []int
	if c.op == "Squeeze" {
		out = c.squeezeDims(dims, axes, given)
	} else {
		if !given {
			c.fail("needs axes")
			return
		}
		out = c.unsqueezeDims(dims, axes)
	}
	if out == nil {
		return
	}
	if out[0] != -1 {
		c.fail("axes %v move the batch dimension", axes)
		return
	}
	c.view(x, out[1:])
}
