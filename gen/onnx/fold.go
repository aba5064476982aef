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
	if v.c == nil {
		// Of a transposed tensor, the transposed dims; the batch stays dimension 0.
		dims = append(dims, int64(max(c.l.batch, 1)))
		batch = append(batch, true)
		for _, d := range v.dims()[1:] {
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

// concatAxis is Concat's axis: required from Concat-4 on, 1 by default in Concat-1.
func (c *call) concatAxis() int64 {
	if !c.has("axis") && c.ver >= 4 {
		c.fail("needs an axis")
	}
	return c.attrInt("axis", 1)
}

// idxNoBatch returns t unless it carries batch marks, which indices must not.
func idxNoBatch(c *call, t *tensor) *tensor {
	if t.hasBatch() {
		c.fail("indices depend on the batch size")
		return nil
	}
	return t
}

func foldConcat(c *call) {
	axis := c.concatAxis()
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

// foldArith evaluates Add, Sub, Mul, Div and Pow of two constants with NumPy broadcasting (Pow
// of a float and an integer constant is not folded: both must be of one kind).
func foldArith(c *call) {
	if !c.ready() {
		return
	}
	a, b := c.konst(0), c.konst(1)
	if a == nil || b == nil {
		return
	}
	if c.ver < 7 {
		_, vb := c.legacyBroadcast(&value{c: a}, &value{c: b})
		if vb == nil {
			return
		}
		b = vb.c
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
			case "Pow":
				z = float32(math.Pow(float64(x), float64(y)))
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
			case "Pow":
				if y < 0 {
					c.fail("integer power %d ** %d", x, y)
					return
				}
				z = 1
				for range min(y, 64) { // past 64 only 0, 1 and -1 do not overflow, and they repeat
					z *= x
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

// foldSqrt evaluates Sqrt of a float constant.
func foldSqrt(c *call) {
	if !c.ready() {
		return
	}
	t := c.konst(0)
	if t == nil {
		return
	}
	if !t.isFloat() {
		c.fail("Sqrt of %s", typeName(t.dtype))
		return
	}
	out := c.alloc(t.dtype, t.dims)
	if out == nil {
		return
	}
	for k, v := range t.f {
		out.f[k] = float32(math.Sqrt(float64(v)))
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
