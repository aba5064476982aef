package onnx

// Folding of the operators that only rearrange a constant (Squeeze, Unsqueeze, Flatten,
// Reshape, Transpose, Slice), and the axis and shape rules lower_shape.go shares with them.

// squeezeAxes returns the axes of Squeeze/Unsqueeze: an attribute before version 13, an
// optional input from 13 on (checkVersion refuses the attribute there).
func (c *call) squeezeAxes() ([]int64, bool) {
	if c.ver < 13 {
		return c.attrInts("axes"), c.has("axes")
	}
	if !c.present(1) {
		return nil, false
	}
	t := c.konst(1)
	if t == nil {
		return nil, true
	}
	return c.ints(t, "axes"), true
}

// squeezeDims computes Squeeze's output dims; dims[k] of -1 stands for the batch dimension,
// which is never squeezed by default.
func (c *call) squeezeDims(dims []int, axes []int64, given bool) []int {
	drop := make([]bool, len(dims))
	if !given {
		for k, d := range dims {
			drop[k] = d == 1
		}
	}
	for _, a := range axes {
		k, ok := c.normAxis(a, len(dims), "axis")
		if !ok {
			return nil
		}
		if dims[k] != 1 {
			if dims[k] < 0 {
				c.fail("squeezes the batch dimension")
			} else {
				c.fail("squeezes axis %d of size %d", a, dims[k])
			}
			return nil
		}
		drop[k] = true
	}
	out := []int{}
	for k, d := range dims {
		if !drop[k] {
			out = append(out, d)
		}
	}
	return out
}

// unsqueezeDims inserts ones at axes (of the output rank).
func (c *call) unsqueezeDims(dims []int, axes []int64) []int {
	r := len(dims) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		k, ok := c.normAxis(a, r, "axis")
		if !ok {
			return nil
		}
		if ins[k] {
			c.fail("axis %d given twice", a)
			return nil
		}
		ins[k] = true
	}
	out := make([]int, 0, r)
	j := 0
	for k := 0; k < r; k++ {
		if ins[k] {
			out = append(out, 1)
		} else {
			out = append(out, dims[j])
			j++
		}
	}
	return out
}

func foldSqueeze(c *call) {
	axes, given := c.squeezeAxes()
	if !c.ready() || len(c.whys) > 0 {
		return
	}
	t := c.konst(0)
	if t == nil {
		return
	}
	if dims := c.squeezeDims(t.dims, axes, given); dims != nil {
		c.setConst(0, t.view(dims))
	}
}

func foldUnsqueeze(c *call) {
	axes, given := c.squeezeAxes()
	if !c.ready() || len(c.whys) > 0 {
		return
	}
	if !given {
		c.fail("needs axes")
		return
	}
	t := c.konst(0)
	if t == nil {
		return
	}
	if dims := c.unsqueezeDims(t.dims, axes); dims != nil {
		c.setConst(0, t.view(dims))
	}
}

func foldFlatten(c *call) {
	axis := c.attrInt("axis", 1)
	if !c.ready() {
		return
	}
	t := c.konst(0)
	if t == nil {
		return
	}
	a, ok := c.flattenAxis(axis, len(t.dims))
	if !ok {
		return
	}
	c.setConst(0, t.view([]int{prod(t.dims[:a]), prod(t.dims[a:])}))
}

// reshapeTarget resolves Reshape's 0 (copy, unless allowzero) and -1 (infer) entries.
func (c *call) reshapeTarget(in []int, shape []int64, allowZero bool) []int {
	out := make([]int, len(shape))
	infer := -1
	known := 1
	for k, s := range shape {
		switch {
		case s == -1:
			if infer >= 0 {
				c.fail("shape %v has more than one -1", shape)
				return nil
			}
			infer = k
			continue
		case s == 0 && !allowZero:
			if k >= len(in) {
				c.fail("shape %v copies dimension %d of an input of rank %d", shape, k, len(in))
				return nil
			}
			out[k] = in[k]
		case s < 0 || s > maxElems:
			c.fail("shape %v has an invalid size %d", shape, s)
			return nil
		default:
			out[k] = int(s)
		}
		if out[k] == 0 {
			c.fail("shape %v makes an empty tensor", shape)
			return nil
		}
		if known > maxElems/out[k] {
			c.fail("shape %v is too large", shape)
			return nil
		}
		known *= out[k]
	}
	total := prod(in)
	if infer >= 0 {
		if total%known != 0 {
			c.fail("cannot reshape %v to %v", in, shape)
			return nil
		}
		out[infer] = total / known
	}
	if prod(out) != total {
		c.fail("cannot reshape %v (%d values) to %v", in, total, shape)
		return nil
	}
	return out
}

// reshapeShape is Reshape's target shape: the shape attribute of Reshape-1, the second input
// from Reshape-5 on.
func (c *call) reshapeShape() *tensor {
	if c.ver >= 5 {
		return c.konst(1)
	}
	if !c.has("shape") {
		c.fail("shape is required in %s", c.versionName())
		return nil
	}
	v := c.attrInts("shape")
	return &tensor{dtype: tInt64, dims: []int{len(v)}, i: v}
}

func foldReshape(c *call) {
	allowZero := c.attrInt("allowzero", 0) != 0
	if !c.ready() {
		return
	}
	t, s := c.konst(0), c.reshapeShape()
	shape := c.ints(s, "the target shape")
	if t == nil || shape == nil && (s == nil || s.size() > 0) {
		return
	}
	if dims := c.reshapeTarget(t.dims, shape, allowZero); dims != nil {
		c.setConst(0, t.view(dims))
	}
}

func foldTranspose(c *call) {
	perm := c.attrInts("perm")
	if !c.ready() || len(c.whys) > 0 {
		return
	}
	t := c.konst(0)
	if t == nil {
		return
	}
	r := len(t.dims)
	if perm == nil {
		for k := r - 1; k >= 0; k-- {
			perm = append(perm, int64(k))
		}
	}
	if len(perm) != r {
		c.fail("perm %v for rank %d", perm, r)
		return
	}
	seen := make([]bool, r)
	stride := rowStrides(t.dims)
	dims, steps := make([]int, r), make([]int, r)
	for k, p := range perm {
		if p < 0 || p >= int64(r) || seen[p] {
			c.fail("perm %v is not a permutation", perm)
			return
		}
		seen[p] = true
		dims[k], steps[k] = t.dims[p], stride[p]
	}
	if out := c.strided(t, dims, 0, steps); out != nil {
		c.setConst(0, out)
	}
}

// foldSlice slices a constant (sliceRanges reads the operands).
func foldSlice(c *call) {
	if !c.ready() {
		return
	}
	t := c.konst(0)
	if t == nil {
		return
	}
	dims, first, step := c.sliceRanges(t.dims)
	if dims == nil {
		return
	}
	stride := rowStrides(t.dims)
	base := 0
	steps := make([]int, len(dims))
	for a := range dims {
		if dims[a] > 0 {
			base += first[a] * stride[a]
		}
		steps[a] = step[a] * stride[a]
	}
	if out := c.strided(t, dims, base, steps); out != nil {
		c.setConst(0, out)
	}
}

// strided copies the elements of t at base + Σ idx[k]*steps[k] for every index of dims.
func (c *call) strided(t *tensor, dims []int, base int, steps []int) *tensor {
	out := c.alloc(t.dtype, dims)
	if out == nil {
		return nil
	}
	if t.batch != nil {
		out.batch = make([]bool, len(out.i))
	}
	idx := make([]int, len(dims))
	off := base
	for k := 0; k < out.size(); k++ {
		if out.f != nil {
			out.f[k] = t.f[off]
		} else {
			out.i[k] = t.i[off]
			if t.batch != nil {
				out.batch[k] = t.batch[off]
			}
		}
		for d := len(dims) - 1; d >= 0; d-- {
			idx[d]++
			off += steps[d]
			if idx[d] < dims[d] {
				break
			}
			off -= steps[d] * dims[d]
			idx[d] = 0
		}
	}
	return out
}

// rowStrides are the row-major strides of dims.
func rowStrides(dims []int) []int {
	s := make([]int, len(dims))
	step := 1
	for k := len(dims) - 1; k >= 0; k-- {
		s[k] = step
		step *= dims[k]
	}
	return s
}
