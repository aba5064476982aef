package onnx

import (
	"math"

	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
)

// Constant folding: what exporters compute from initializers and static shapes (PyTorch's
// x.view(x.size(0), -1) is Shape→Gather→Unsqueeze→Concat→Reshape) is evaluated at import time.
// Shape of a computed tensor yields its static per-image dims and, for dim 0, an element
// marked as the batch size; the marks travel through Gather, Unsqueeze, Squeeze, Concat,
// Reshape and integer Casts, so that a Reshape can tell "keep the batch" from a literal.

// maxFold caps the element count of a computed constant (folding is for shapes and small
// tensors; weights are initializers), and foldBudget the elements all folds of one model may
// compute, so that a hostile chain of Expand/Tile-like folds cannot keep the importer busy.
const (
	maxFold    = 1 << 22
	foldBudget = 1 << 24
)

// alloc makes a tensor of dtype with dims, refusing oversized results.
func (c *call) alloc(dtype int32, dims []int) *tensor {
	n, err := numElems(toInt64(dims))
	if err != nil || n > maxFold || !c.charge(n) {
		c.fail("folded constant of dims %v is too large", dims)
		return nil
	}
	t := &tensor{dtype: dtype, dims: dims}
	if isFloatType(dtype) {
		t.f = make([]float32, n)
	} else {
		t.i = make([]int64, n)
	}
	return t
}

// charge counts n folded elements against the model's budget, false once it is spent.
func (c *call) charge(n int) bool {
	c.l.folded += n
	return c.l.folded <= foldBudget
}

// view is t with other dims and the same data.
func (t *tensor) view(dims []int) *tensor {
	return &tensor{dtype: t.dtype, dims: dims, f: t.f, i: t.i, batch: t.batch}
}

func prod(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

func foldConstant(c *call) {
	var set []string
	for _, k := range []string{"value", "value_float", "value_floats", "value_int", "value_ints", "sparse_value", "value_string", "value_strings"} {
		if c.has(k) {
			set = append(set, k)
		}
	}
	if len(set) != 1 {
		c.fail("needs exactly one value attribute, got %v", set)
		return
	}
	var t *tensor
	switch set[0] {
	case "value":
		a := c.attr("value", onnxpb.AttributeProto_TENSOR)
		if a == nil {
			return
		}
		if a.GetT() == nil {
			c.fail("value has no tensor")
			return
		}
		var err error
		ext := &externalFiles{} // Constant values are inline; external data is refused
		if t, err = decodeTensor(a.GetT(), ext); err != nil {
			c.fail("value: %v", err)
			return
		}
	case "value_float":
		t = &tensor{dtype: tFloat, dims: []int{}, f: []float32{float32(c.attrFloat("value_float", 0))}}
	case "value_floats":
		a := c.attr("value_floats", onnxpb.AttributeProto_FLOATS)
		if a == nil {
			return
		}
		t = &tensor{dtype: tFloat, dims: []int{len(a.GetFloats())}, f: append([]float32{}, a.GetFloats()...)}
	case "value_int":
		t = &tensor{dtype: tInt64, dims: []int{}, i: []int64{c.attrInt("value_int", 0)}}
	case "value_ints":
		v := c.attrInts("value_ints")
		t = &tensor{dtype: tInt64, dims: []int{len(v)}, i: append([]int64{}, v...)}
	default:
		c.fail("%s constants are not supported", set[0])
		return
	}
	if len(c.whys) == 0 {
		c.setConst(0, t)
	}
}

func foldShape(c *call) {
	start, end := c.attrInt("start", 0), c.attrInt("end", math.MaxInt64)
	if !c.ready() {
		return
	}
	v := c.val(0)
	if v == nil {
		c.fail("input 0 is missing")
		return
	}
	var dims []int64
	var batch []bool
	if v.n != nil {
		dims = append(dims, int64(max(c.l.batch, 1)))
		batch = append(batch, true)
		for _, d := range v.n.Shape {
			dims = append(dims, int64(d))
			batch = append(batch, false)
		}
	} else {
		dims = toInt64(v.c.dims)
	}
	r := int64(len(dims))
	clamp := func(a int64) int64 {
		if a < 0 {
			a += r
		}
		return min(max(a, 0), r)
	}
	start, end = clamp(start), clamp(end)
	if end < start {
		end = start
	}
	t := &tensor{dtype: tInt64, dims: []int{int(end - start)}, i: dims[start:end]}
	if batch != nil {
		t.batch = batch[start:end]
	}
	c.setConst(0, t)
}

func foldGather(c *call) {
	axis := c.attrInt("axis", 0)
	if !c.ready() {
		return
	}
	data, idx := c.konst(0), c.konst(1)
	if data == nil || idx == nil {
		return
	}
	indices := c.ints(idxNoBatch(c, idx), "indices")
	if indices == nil && idx.size() > 0 {
		return
	}
	r := len(data.dims)
	if r == 0 {
		c.fail("gathers from a scalar")
		return
	}
	a, ok := c.normAxis(axis, r, "axis")
	if !ok {
		return
	}
	dims := append(append(append([]int{}, data.dims[:a]...), idx.dims...), data.dims[a+1:]...)
	out := c.alloc(data.dtype, dims)
	if out == nil {
		return
	}
	outer, n, inner := prod(data.dims[:a]), data.dims[a], prod(data.dims[a+1:])
	if data.batch != nil {
		out.batch = make([]bool, len(out.i))
	}
	pos := 0
	for o := 0; o < outer; o++ {
		for _, j := range indices {
			if j < -int64(n) || j >= int64(n) {
				c.fail("index %d is out of range for a dimension of %d", j, n)
				return
			}
			if j < 0 {
				j += int64(n)
			}
			src := (o*n + int(j)) * inner
			if out.f != nil {
				copy(out.f[pos:pos+inner], data.f[src:src+inner])
			} else {
				copy(out.i[pos:pos+inner], data.i[src:src+inner])
				if data.batch != nil {
					copy(out.batch[pos:pos+inner], data.batch[src:src+inner])
				}
			}
			pos += inner
		}
	}
	c.setConst(0, out)
}

// idxNoBatch returns t unless it carries batch marks, which indices must not.
func idxNoBatch(c *call, t *tensor) *tensor {
	if t.hasBatch() {
		c.fail("indices depend on the batch size")
		return nil
	}
	return t
}

// squeezeAxes returns the axes of Squeeze/Unsqueeze: an attribute before opset 13, an
// optional input from 13 on.
func (c *call) squeezeAxes() ([]int64, bool) {
	if c.l.opset < 13 {
		return c.attrInts("axes"), c.has("axes")
	}
	if c.has("axes") {
		c.fail("axes is an input from opset 13 on, not an attribute")
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

func foldReshape(c *call) {
	allowZero := c.attrInt("allowzero", 0) != 0
	if !c.ready() {
		return
	}
	t, s := c.konst(0), c.konst(1)
	shape := c.ints(s, "the target shape")
	if t == nil || shape == nil && (s == nil || s.size() > 0) {
		return
	}
	if dims := c.reshapeTarget(t.dims, shape, allowZero); dims != nil {
		c.setConst(0, t.view(dims))
	}
}

func foldConcat(c *call) {
	if !c.has("axis") {
		c.fail("needs an axis")
	}
	axis := c.attrInt("axis", 0)
	if !c.ready() || len(c.whys) > 0 {
		return
	}
	var ts []*tensor
	for k := range c.in {
		if c.present(k) {
			if t := c.konst(k); t != nil {
				ts = append(ts, t)
			}
		}
	}
	if len(ts) == 0 || len(c.whys) > 0 {
		c.fail("needs inputs")
		return
	}
	r := len(ts[0].dims)
	if r == 0 {
		c.fail("concatenates scalars")
		return
	}
	a, ok := c.normAxis(axis, r, "axis")
	if !ok {
		return
	}
	dims := append([]int{}, ts[0].dims...)
	dims[a] = 0
	marks := false
	for _, t := range ts {
		if len(t.dims) != r || t.isFloat() != ts[0].isFloat() {
			c.fail("inputs differ in rank or type")
			return
		}
		for k := range dims {
			if k != a && t.dims[k] != dims[k] {
				c.fail("inputs of dims %v and %v do not concatenate along axis %d", ts[0].dims, t.dims, a)
				return
			}
		}
		dims[a] += t.dims[a]
		marks = marks || t.batch != nil
	}
	out := c.alloc(ts[0].dtype, dims)
	if out == nil {
		return
	}
	if marks {
		out.batch = make([]bool, len(out.i))
	}
	outer := prod(dims[:a])
	pos := 0
	for o := 0; o < outer; o++ {
		for _, t := range ts {
			chunk := t.dims[a] * prod(t.dims[a+1:])
			if out.f != nil {
				copy(out.f[pos:], t.f[o*chunk:(o+1)*chunk])
			} else {
				copy(out.i[pos:], t.i[o*chunk:(o+1)*chunk])
				if t.batch != nil {
					copy(out.batch[pos:], t.batch[o*chunk:(o+1)*chunk])
				}
			}
			pos += chunk
		}
	}
	c.setConst(0, out)
}

func foldCast(c *call) {
	to := int32(c.attrInt("to", 0))
	if elemSize(to) == 0 {
		c.fail("cast to %s is not supported", typeName(to))
		return
	}
	if !c.ready() {
		return
	}
	t := c.konst(0)
	if t == nil {
		return
	}
	if !c.charge(t.size()) {
		c.fail("folded constant of dims %v is too large", t.dims)
		return
	}
	out := &tensor{dtype: to, dims: t.dims}
	switch {
	case isFloatType(to) && t.isFloat():
		out.f = t.f
		if to == tFloat16 || to == tBfloat16 {
			out.f = make([]float32, len(t.f))
			for k, v := range t.f {
				out.f[k] = roundHalf(to, v)
			}
		}
	case isFloatType(to):
		if t.hasBatch() {
			c.fail("casts the batch size to a float")
			return
		}
		out.f = make([]float32, len(t.i))
		for k, v := range t.i {
			out.f[k] = float32(v)
		}
	case t.isFloat():
		out.i = make([]int64, len(t.f))
		for k, v := range t.f {
			out.i[k] = castInt(to, float64(v))
		}
	default:
		out.i = make([]int64, len(t.i))
		for k, v := range t.i {
			out.i[k] = wrapInt(to, v)
		}
		out.batch = t.batch
	}
	out.fixEmpty()
	c.setConst(0, out)
}

// roundHalf rounds v to the nearest FLOAT16 or BFLOAT16 value (to nearest even).
func roundHalf(dt int32, v float32) float32 {
	if dt == tBfloat16 {
		b := math.Float32bits(v)
		if v != v {
			return v
		}
		b += 0x7fff + (b>>16)&1
		return math.Float32frombits(b &^ 0xffff)
	}
	return halfToFloat(tFloat16, floatToHalf(v))
}

// floatToHalf converts to IEEE half bits, rounding to nearest even.
func floatToHalf(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	frac := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN
		return sign | 0x7e00
	case exp >= 31: // overflow or inf
		return sign | 0x7c00
	case exp <= 0: // subnormal or zero
		if exp < -10 {
			return sign
		}
		frac |= 0x800000
		shift := uint(14 - exp)
		h := frac >> shift
		rem := frac & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | frac>>13
	rem := frac & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // may carry into the exponent, up to inf: correct
	}
	return sign | uint16(h)
}

// castInt converts a float to an integer type (truncating; bool is v != 0).
func castInt(to int32, v float64) int64 {
	if to == tBool {
		if v != 0 {
			return 1
		}
		return 0
	}
	if v != v {
		return 0
	}
	v = math.Trunc(v)
	if v >= math.MaxInt64 {
		return wrapInt(to, math.MaxInt64)
	}
	if v <= math.MinInt64 {
		return wrapInt(to, math.MinInt64)
	}
	return wrapInt(to, int64(v))
}

// wrapInt narrows an integer to the range of type to, as a C cast does.
func wrapInt(to int32, v int64) int64 {
	switch to {
	case tInt32:
		return int64(int32(v))
	case tInt8:
		return int64(int8(v))
	case tUint8:
		return int64(uint8(v))
	case tBool:
		if v != 0 {
			return 1
		}
		return 0
	}
	return v
}

func foldConstantOfShape(c *call) {
	val := &tensor{dtype: tFloat, dims: []int{1}, f: []float32{0}}
	if a := c.attr("value", onnxpb.AttributeProto_TENSOR); a != nil {
		t, err := decodeTensor(a.GetT(), &externalFiles{})
		if err != nil || t.size() != 1 {
			c.fail("value must be a one-element tensor")
			return
		}
		val = t
	}
	if !c.ready() || len(c.whys) > 0 {
		return
	}
	s := c.konst(0)
	shape := c.ints(s, "the shape")
	if s == nil || shape == nil && s.size() > 0 {
		return
	}
	dims := make([]int, len(shape))
	for k, d := range shape {
		if d < 0 || d > maxFold {
			c.fail("shape %v has an invalid size", shape)
			return
		}
		dims[k] = int(d)
	}
	out := c.alloc(val.dtype, dims)
	if out == nil {
		return
	}
	for k := range out.f {
		out.f[k] = val.f[0]
	}
	for k := range out.i {
		out.i[k] = val.i[0]
	}
	c.setConst(0, out)
}

// foldArith evaluates Add, Sub, Mul and Div of two constants with NumPy broadcasting.
func foldArith(c *call) {
	if !c.ready() {
		return
	}
	a, b := c.konst(0), c.konst(1)
	if a == nil || b == nil {
		return
	}
	if a.isFloat() != b.isFloat() {
		c.fail("inputs of types %s and %s", typeName(a.dtype), typeName(b.dtype))
		return
	}
	if a.hasBatch() || b.hasBatch() {
		c.fail("arithmetic on the batch size is not supported")
		return
	}
	r := max(len(a.dims), len(b.dims))
	pa, pb := padDims(a.dims, r), padDims(b.dims, r)
	dims := make([]int, r)
	for k := range dims {
		switch {
		case pa[k] == pb[k] || pb[k] == 1:
			dims[k] = pa[k]
		case pa[k] == 1:
			dims[k] = pb[k]
		default:
			c.fail("dims %v and %v do not broadcast", a.dims, b.dims)
			return
		}
	}
	dtype := a.dtype
	if a.isFloat() {
		dtype = tFloat
	}
	out := c.alloc(dtype, dims)
	if out == nil {
		return
	}
	sa, sb := bstrides(pa), bstrides(pb)
	idx := make([]int, r)
	ia, ib := 0, 0
	for k := 0; k < out.size(); k++ {
		if out.f != nil {
			x, y := a.f[ia], b.f[ib]
			var z float32
			switch c.op {
			case "Add":
				z = x + y
			case "Sub":
				z = x - y
			case "Mul":
				z = x * y
			case "Div":
				z = x / y
			}
			out.f[k] = z
		} else {
			x, y := a.i[ia], b.i[ib]
			var z int64
			switch c.op {
			case "Add":
				z = x + y
			case "Sub":
				z = x - y
			case "Mul":
				z = x * y
			case "Div":
				if y == 0 {
					c.fail("integer division by zero")
					return
				}
				if y == -1 {
					z = -x // avoids the MinInt64 / -1 trap
				} else {
					z = x / y
				}
			}
			out.i[k] = wrapInt(dtype, z)
		}
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			ia += sa[d]
			ib += sb[d]
			if idx[d] < dims[d] {
				break
			}
			ia -= sa[d] * dims[d]
			ib -= sb[d] * dims[d]
			idx[d] = 0
		}
	}
	c.setConst(0, out)
}

// padDims left-pads dims with ones to rank r.
func padDims(dims []int, r int) []int {
	out := make([]int, r-len(dims), r)
	for k := range out {
		out[k] = 1
	}
	return append(out, dims...)
}

// bstrides are the row-major strides of dims, 0 along the dims of size 1 (broadcast).
func bstrides(dims []int) []int {
	s := make([]int, len(dims))
	step := 1
	for k := len(dims) - 1; k >= 0; k-- {
		if dims[k] != 1 {
			s[k] = step
		}
		step *= dims[k]
	}
	return s
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

// foldSlice slices a constant: starts, ends, axes and steps are attributes before opset 10 and
// inputs from 10 on.
func foldSlice(c *call) {
	var starts, ends, axes, steps []int64
	if c.l.opset < 10 {
		starts, ends, axes = c.attrInts("starts"), c.attrInts("ends"), c.attrInts("axes")
	} else {
		if c.has("starts") || c.has("ends") || c.has("axes") {
			c.fail("starts, ends and axes are inputs from opset 10 on, not attributes")
		}
	}
	if !c.ready() || len(c.whys) > 0 {
		return
	}
	t := c.konst(0)
	if t == nil {
		return
	}
	if c.l.opset >= 10 {
		starts, ends = c.ints(c.konst(1), "starts"), c.ints(c.konst(2), "ends")
		if c.present(3) {
			axes = c.ints(c.konst(3), "axes")
		}
		if c.present(4) {
			steps = c.ints(c.konst(4), "steps")
		}
		if len(c.whys) > 0 {
			return
		}
	}
	r := len(t.dims)
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
		return
	}
	dims := append([]int(nil), t.dims...)
	first := make([]int, r)
	step := make([]int, r)
	for k := range step {
		step[k] = 1
	}
	done := make([]bool, r)
	for k, ax := range axes {
		a, ok := c.normAxis(ax, r, "axis")
		if !ok {
			return
		}
		if done[a] {
			c.fail("axis %d sliced twice", ax)
			return
		}
		done[a] = true
		n := int64(t.dims[a])
		s, e, st := starts[k], ends[k], steps[k]
		if st == 0 || st < -maxElems || st > maxElems {
			c.fail("step %d is not supported", st)
			return
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
	stride := rowStrides(t.dims)
	base := 0
	steps2 := make([]int, r)
	for a := range dims {
		if dims[a] > 0 {
			base += first[a] * stride[a]
		}
		steps2[a] = step[a] * stride[a]
	}
	if out := c.strided(t, dims, base, steps2); out != nil {
		c.setConst(0, out)
	}
}
