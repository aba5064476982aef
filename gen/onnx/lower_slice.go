package onnx

import (
	"github.com/cnngen/cnngen/gen/ir"
)

// Slice and Split. On constants they are folded; on the network's tensors a range of a
// per-image dimension is a narrow (x[:, a:b], torch.chunk's halves in ShuffleNet), one per
// sliced dimension or per Split output. Slice-1 has its ranges as attributes, later versions as
// inputs (with steps); Split's sizes are an attribute until version 11, an input from 13, and
// Split-18 may give only the number of outputs.

// sliceRanges reads Slice's operands for data of dims and returns, per dim, the output size,
// the first index and the step; nil after a failure.
func (c *call) sliceRanges(in []int) (dims, first, step []int) {
	var starts, ends, axes, steps []int64
	if c.ver < 10 {
		starts, ends, axes = c.attrInts("starts"), c.attrInts("ends"), c.attrInts("axes")
	} else {
		starts, ends = c.ints(c.konst(1), "starts"), c.ints(c.konst(2), "ends")
		if c.present(3) {
			axes = c.ints(c.konst(3), "axes")
		}
		if c.present(4) {
			steps = c.ints(c.konst(4), "steps")
		}
	}
	if len(c.whys) > 0 {
		return nil, nil, nil
	}
	r := len(in)
	if axes == nil {
		for k := range starts {
			axes = append(axes, int64(k))
		}
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for k := range steps {
			steps[k] = 1
		}
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
		c.fail("starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
		return nil, nil, nil
	}
	dims = append([]int(nil), in...)
	first = make([]int, r)
	step = make([]int, r)
	for k := range step {
		step[k] = 1
	}
	done := make([]bool, r)
	for k, ax := range axes {
		a, ok := c.normAxis(ax, r, "axis")
		if !ok {
			return nil, nil, nil
		}
		if done[a] {
			c.fail("axis %d sliced twice", ax)
			return nil, nil, nil
		}
		done[a] = true
		n := int64(in[a])
		s, e, st := starts[k], ends[k], steps[k]
		if st == 0 || st < -maxElems || st > maxElems {
			c.fail("step %d is not supported", st)
			return nil, nil, nil
		}
		if s < 0 {
			s = max(s, -n-1) + n
		}
		if e < 0 {
			e = max(e, -n-1) + n
		}
		var count int64
		if st > 0 {
			s, e = min(max(s, 0), n), min(max(e, 0), n)
			count = max(0, (e-s+st-1)/st)
		} else {
			s, e = min(max(s, 0), n-1), min(max(e, -1), n-1)
			count = max(0, (s-e+(-st)-1)/(-st))
		}
		dims[a], first[a], step[a] = int(count), int(s), int(st)
	}
	return dims, first, step
}

// batchExtent stands for the batch size in slice arithmetic: the static size, or, for a
// dynamic batch, a size no slice of a real batch can tell from "all of it".
func (c *call) batchExtent() int {
	if c.l.batch > 0 {
		return c.l.batch
	}
	return maxElems
}

func lowerSlice(c *call) {
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	if x == nil {
		return
	}
	in := append([]int{c.batchExtent()}, x.Shape...)
	dims, first, step := c.sliceRanges(in)
	if dims == nil {
		return
	}
	if dims[0] != in[0] {
		c.fail("slices dimension 0, the batch")
		return
	}
	for a := 1; a < len(in); a++ {
		if dims[a] == in[a] && first[a] == 0 && step[a] == 1 {
			continue
		}
		switch {
		case dims[a] == 0:
			c.fail("the slice of dimension %d is empty", a)
			return
		case step[a] != 1 && dims[a] > 1:
			c.fail("steps %d along dimension %d: only contiguous ranges (step 1) are supported", step[a], a)
			return
		}
		if x = c.narrow(x, a-1, first[a], dims[a]); x == nil {
			return
		}
	}
	c.setDyn(0, x)
}

// narrow emits x narrowed to [start, start+length) of per-image dim axis.
func (c *call) narrow(x *ir.Node, axis, start, length int) *ir.Node {
	n := c.newNode(ir.OpNarrow, x)
	n.Attrs = &ir.NarrowAttrs{Axis: axis, Start: start, Length: length}
	if !c.emit(n) {
		return nil
	}
	return n
}

// splitSizes reads Split's sizes along a dim of extent n into len(c.out) parts: the split
// attribute (versions 1 to 11) or input (1, and 13 on), else equal parts (Split-18's
// num_outputs: the last part takes what is left).
func (c *call) splitSizes(n int) []int {
	var split []int64
	switch {
	case c.ver < 13 && c.has("split"):
		split = c.attrInts("split")
	case (c.ver == 1 || c.ver >= 13) && c.present(1):
		if split = c.ints(c.konst(1), "split"); split == nil {
			return nil
		}
	}
	parts := len(c.out)
	if split == nil {
		if c.has("num_outputs") {
			if k := c.attrInt("num_outputs", 0); k != int64(parts) {
				c.fail("num_outputs %d for %d outputs", k, parts)
				return nil
			}
		}
		size := (n + parts - 1) / parts
		if c.ver < 18 && n%parts != 0 {
			c.fail("%d does not split into %d equal parts", n, parts)
			return nil
		}
		var out []int
		for left := n; left > 0; left -= size {
			out = append(out, min(size, left))
		}
		if len(out) != parts {
			c.fail("%d does not split into %d parts", n, parts)
			return nil
		}
		return out
	}
	if len(split) != parts {
		c.fail("split %v for %d outputs", split, parts)
		return nil
	}
	total := 0
	out := make([]int, parts)
	for k, s := range split {
		if s < 0 || s > maxElems {
			c.fail("split %v has an invalid size", split)
			return nil
		}
		out[k] = int(s)
		total += int(s)
	}
	if total != n {
		c.fail("split %v does not add up to %d", split, n)
		return nil
	}
	return out
}

func lowerSplit(c *call) {
	axis := c.attrInt("axis", 0)
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
		c.fail("splits dimension 0, the batch")
		return
	}
	sizes := c.splitSizes(x.Shape[a-1])
	start := 0
	for k, s := range sizes {
		if s == 0 {
			c.fail("output %d is empty", k)
			return
		}
		if c.out[k] != "" && c.l.uses[c.out[k]] > 0 {
			part := x
			if s != x.Shape[a-1] {
				if part = c.narrow(x, a-1, start, s); part == nil {
					return
				}
			}
			c.setDyn(k, part)
		}
		start += s
	}
}

func foldSplit(c *call) {
	axis := c.attrInt("axis", 0)
	if !c.ready() {
		return
	}
	t := c.konst(0)
	if t == nil || len(t.dims) == 0 {
		c.fail("splits a scalar")
		return
	}
	a, ok := c.normAxis(axis, len(t.dims), "axis")
	if !ok {
		return
	}
	sizes := c.splitSizes(t.dims[a])
	stride := rowStrides(t.dims)
	start := 0
	for k, s := range sizes {
		dims := append([]int(nil), t.dims...)
		dims[a] = s
		steps := append([]int(nil), stride...)
		out := c.strided(t, dims, start*stride[a], steps)
		if out == nil {
			return
		}
		c.setConst(k, out)
		start += s
	}
}
