package onnx

import (
	"math"

	"github.com/cnngen/cnngen/gen/ir"
)

// opDef is what the front end does with one ONNX operator: fold it when its inputs are
// constants (always, for Shape), lower it to IR nodes otherwise. attrs lists the attributes it
// understands; any other is an error.
type opDef struct {
	attrs      string
	fold       func(*call)
	lower      func(*call)
	alwaysFold bool
}

var opTable map[string]opDef

func init() {
	arith := opDef{fold: foldArith, lower: lowerArith}
	unary := opDef{lower: lowerUnary}
	pool := "auto_pad ceil_mode kernel_shape pads strides"
	opTable = map[string]opDef{
		// folded
		"Constant":        {attrs: "value value_float value_floats value_int value_ints sparse_value value_string value_strings", fold: foldConstant},
		"ConstantOfShape": {attrs: "value", fold: foldConstantOfShape},
		"Shape":           {attrs: "start end", fold: foldShape, alwaysFold: true},
		"Gather":          {attrs: "axis", fold: foldGather},
		"Slice":           {attrs: "starts ends axes", fold: foldSlice},
		"Transpose":       {attrs: "perm", fold: foldTranspose},
		// folded or lowered
		"Add":       arith,
		"Sub":       arith,
		"Mul":       arith,
		"Div":       arith,
		"Cast":      {attrs: "to", fold: foldCast, lower: lowerCast},
		"Concat":    {attrs: "axis", fold: foldConcat, lower: lowerConcat},
		"Flatten":   {attrs: "axis", fold: foldFlatten, lower: lowerFlatten},
		"Reshape":   {attrs: "allowzero", fold: foldReshape, lower: lowerReshape},
		"Squeeze":   {attrs: "axes", fold: foldSqueeze, lower: lowerSqueeze},
		"Unsqueeze": {attrs: "axes", fold: foldUnsqueeze, lower: lowerSqueeze},
		// lowered
		"Conv":               {attrs: "auto_pad dilations group kernel_shape pads strides", lower: lowerConv},
		"MaxPool":            {attrs: pool + " dilations storage_order", lower: lowerPool},
		"AveragePool":        {attrs: pool + " count_include_pad", lower: lowerPool},
		"GlobalAveragePool":  {lower: lowerGlobalPool},
		"GlobalMaxPool":      {lower: lowerGlobalPool},
		"LRN":                {attrs: "alpha beta bias size", lower: lowerLRN},
		"BatchNormalization": {attrs: "epsilon momentum spatial training_mode", lower: lowerBatchNorm},
		"Gemm":               {attrs: "alpha beta transA transB broadcast", lower: lowerGemm},
		"MatMul":             {lower: lowerMatMul},
		"Relu":               unary,
		"Sigmoid":            unary,
		"Tanh":               unary,
		"HardSwish":          unary,
		"HardSigmoid":        {attrs: "alpha beta", lower: lowerUnary},
		"Clip":               {attrs: "min max", lower: lowerClip},
		"Softmax":            {attrs: "axis", lower: lowerSoftmax},
		"LogSoftmax":         {attrs: "axis", lower: lowerSoftmax},
		"Pad":                {attrs: "mode pads value", lower: lowerPad},
		// Identity and Dropout are resolved before lowering; Dropout comes here only when its
		// mask output is read.
		"Identity": {lower: func(c *call) { c.fail("needs one input") }},
		"Dropout": {attrs: "ratio seed", lower: func(c *call) {
			if len(c.in) == 0 {
				c.fail("needs an input")
			} else {
				c.fail("the mask output is not supported")
			}
		}},
	}
}

// autoPads applies auto_pad to explicit pads for a window of kernel k, stride s, dilation d
// over the spatial sizes in.
func (c *call) autoPads(mode string, pads [4]int, in []int, k, s, d [2]int) [4]int {
	switch mode {
	case "NOTSET":
		return pads
	case "VALID":
		return [4]int{}
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < 2; i++ {
			out := (in[i] + s[i] - 1) / s[i]
			total := max(0, (out-1)*s[i]+(k[i]-1)*d[i]+1-in[i])
			lo := total / 2 // SAME_UPPER: the extra pad goes at the end
			if mode == "SAME_LOWER" {
				lo = total - total/2
			}
			pads[i], pads[i+2] = lo, total-lo
		}
		return pads
	}
	c.fail("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", mode)
	return pads
}

func checkAutoPad(c *call, mode string) {
	switch mode {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		c.fail("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", mode)
	}
}

// needCHW fails unless x is a batch of feature maps [N C H W].
func (c *call) needCHW(x *ir.Node) bool {
	if len(x.Shape) != 3 {
		c.fail("input is [N %v]; only 2-D feature maps [N C H W] are supported", x.Shape)
		return false
	}
	return true
}

func lowerConv(c *call) {
	autoPad := c.attrString("auto_pad", "NOTSET")
	checkAutoPad(c, autoPad)
	dil := c.pair("dilations", 1, 1)
	strides := c.pair("strides", 1, 1)
	pads := c.pads4("pads")
	group := c.attrInt("group", 1)
	if group < 1 || group > maxAttr {
		c.fail("group %d is not positive", group)
	}
	ks := c.attrInts("kernel_shape")
	if !c.ok() {
		return
	}
	x, w, b := c.dyn(0), c.konst(1), c.konstOpt(2)
	if x == nil || w == nil || c.present(2) && b == nil || !c.needCHW(x) {
		return
	}
	if len(w.dims) != 4 {
		c.fail("weight %q has dims %v; a 2-D convolution's weight is [out, in/group, kh, kw]", c.read[1], w.dims)
		return
	}
	if ks != nil && (len(ks) != 2 || ks[0] != int64(w.dims[2]) || ks[1] != int64(w.dims[3])) {
		c.fail("kernel_shape %v does not match the weight's dims %v", ks, w.dims)
		return
	}
	k := [2]int{w.dims[2], w.dims[3]}
	pads = c.autoPads(autoPad, pads, x.Shape[1:], k, strides, dil)
	if x.Op == ir.OpPad && x.PadValue == 0 {
		// A zero Pad before a convolution is the convolution's own padding.
		for i := range pads {
			pads[i] += x.Pads[i]
		}
		x = x.Inputs[0]
	}
	n := c.newNode(ir.OpConv, x)
	n.Conv = &ir.ConvAttrs{Out: w.dims[0], Kernel: k, Stride: strides, Pad: pads, Dilation: dil, Groups: int(group), Bias: b != nil}
	n.Params = []ir.Param{{Key: c.read[1]}}
	data := []*tensor{w}
	if b != nil {
		n.Params = append(n.Params, ir.Param{Key: c.read[2]})
		data = append(data, b)
	}
	if c.emit(n, data...) {
		c.setDyn(0, n)
	}
}

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
	inclPad := false
	if isMax {
		if d := c.pair("dilations", 1, 1); d != [2]int{1, 1} {
			c.fail("dilations %v are not supported for pooling", d)
		}
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
	op := ir.OpAvgPool
	if isMax {
		op = ir.OpMaxPool
	}
	n := c.newNode(op, x)
	n.Pool = &ir.PoolAttrs{
		Kernel:          kernel,
		Stride:          strides,
		Pad:             c.autoPads(autoPad, pads, x.Shape[1:], kernel, strides, [2]int{1, 1}),
		CeilMode:        ceil,
		CountIncludePad: inclPad,
	}
	if isMax || !inclPad {
		fitPoolPads(n.Pool, x.Shape[1:])
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
	n.LRN = a
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
	n.Eps = eps
	n.Params = []ir.Param{{Key: c.read[1]}, {Key: c.read[2]}, {Key: c.read[3], Buffer: true}, {Key: c.read[4], Buffer: true}}
	if c.emit(n, data...) {
		c.setDyn(0, n)
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

func lowerGemm(c *call) {
	alpha, beta := c.attrFloat("alpha", 1), c.attrFloat("beta", 1)
	if c.attrInt("transA", 0) != 0 {
		c.fail("transA=1 is not supported (the input must be [batch, features])")
	}
	transB := c.attrInt("transB", 0) != 0
	c.attrInt("broadcast", 0) // opset < 7; broadcasting of C is handled below
	if !c.ok() {
		return
	}
	x, w, b := c.dyn(0), c.konst(1), c.konstOpt(2)
	if x == nil || w == nil || c.present(2) && b == nil {
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
	n := c.newNode(ir.OpLinear, x)
	n.Features = w.dims[1]
	if transB {
		n.Features = w.dims[0]
	}
	if alpha != 1 || beta != 1 || !transB {
		n.Gemm = &ir.GemmAttrs{Alpha: alpha, Beta: beta, TransW: !transB}
	}
	n.Params = []ir.Param{{Key: c.read[1]}}
	data := []*tensor{w}
	if b != nil {
		bv := c.vector(b, n.Features, "C "+c.read[2])
		if bv == nil {
			return
		}
		n.LinBias = true
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
	x, w := c.dyn(0), c.konst(1)
	if x == nil || w == nil {
		return
	}
	if len(x.Shape) != 1 || len(w.dims) != 2 {
		c.fail("only [batch, features] × a constant matrix is supported, got [N %v] × %v", x.Shape, w.dims)
		return
	}
	n := c.newNode(ir.OpLinear, x)
	n.Features = w.dims[1]
	n.Gemm = &ir.GemmAttrs{Alpha: 1, Beta: 1, TransW: true}
	n.Params = []ir.Param{{Key: c.read[1]}}
	if c.emit(n, w) {
		c.setDyn(0, n)
	}
}

func lowerUnary(c *call) {
	var op ir.Op
	var alpha, beta float64
	switch c.op {
	case "Relu":
		op = ir.OpReLU
	case "Sigmoid":
		op = ir.OpSigmoid
	case "Tanh":
		op = ir.OpTanh
	case "HardSwish":
		op = ir.OpHardSwish
	case "HardSigmoid":
		op = ir.OpHardSigmoid
		alpha, beta = c.attrFloat("alpha", 0.2), c.attrFloat("beta", 0.5)
	}
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	if x == nil {
		return
	}
	n := c.newNode(op, x)
	n.HardAlpha, n.HardBeta = alpha, beta
	if c.emit(n) {
		c.setDyn(0, n)
	}
}

func lowerClip(c *call) {
	lo, hi := math.Inf(-1), math.Inf(1)
	if c.l.opset < 11 {
		lo, hi = c.attrFloat("min", lo), c.attrFloat("max", hi)
	} else if c.has("min") || c.has("max") {
		c.fail("min and max are inputs from opset 11 on, not attributes")
	}
	if !c.ok() {
		return
	}
	if c.l.opset >= 11 {
		if v, ok := c.scalar(c.konstOpt(1), "min"); ok {
			lo = v
		}
		if v, ok := c.scalar(c.konstOpt(2), "max"); ok {
			hi = v
		}
	}
	x := c.dyn(0)
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
		n.ClipMin, n.ClipMax = lo, hi
	}
	if c.emit(n) {
		c.setDyn(0, n)
	}
}

func lowerSoftmax(c *call) {
	def := int64(-1)
	if c.l.opset < 13 {
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
	// Before opset 13 the input is coerced to 2-D at axis: one softmax over all dims from axis.
	n.Axis, n.AxisEnd = a-1, len(x.Shape)
	if c.l.opset >= 13 {
		n.AxisEnd = a
	}
	if c.emit(n) {
		c.setDyn(0, n)
	}
}

func lowerConcat(c *call) {
	axis := c.attrInt("axis", 0)
	if !c.has("axis") {
		c.fail("needs an axis")
	}
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
		n.Target = target
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
	x, s := c.dyn(0), c.konst(1)
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
	if target := c.reshapeTarget(x.Shape, rest, allowZero); target != nil {
		c.view(x, target)
	}
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

func lowerPad(c *call) {
	mode := c.attrString("mode", "constant")
	if mode != "constant" {
		c.fail("mode %q is not supported (only constant)", mode)
	}
	var pads []int64
	value := 0.0
	if c.l.opset < 11 {
		if !c.has("pads") {
			c.fail("pads is required")
		}
		pads, value = c.attrInts("pads"), c.attrFloat("value", 0)
	} else if c.has("pads") || c.has("value") {
		c.fail("pads and value are inputs from opset 11 on, not attributes")
	}
	if !c.ok() {
		return
	}
	if c.l.opset >= 11 {
		pads = c.ints(c.konst(1), "pads")
		if v, ok := c.scalar(c.konstOpt(2), "constant_value"); ok {
			value = v
		}
		if c.present(3) {
			c.fail("the axes input is not supported")
		}
	}
	x := c.dyn(0)
	if x == nil || len(c.whys) > 0 {
		return
	}
	if len(pads) != 8 || !c.needCHW(x) {
		if len(pads) != 8 {
			c.fail("pads %v: want 8 values for [N C H W]", pads)
		}
		return
	}
	for _, p := range pads {
		if p < 0 || p > maxAttr {
			c.fail("pads %v: negative pads (cropping) are not supported", pads)
			return
		}
	}
	if pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		c.fail("pads %v pad the batch or channel dimension; only H and W are supported", pads)
		return
	}
	p := [4]int{int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7])}
	if p == [4]int{} {
		c.rebind(x)
		return
	}
	n := c.newNode(ir.OpPad, x)
	n.Pads, n.PadValue = p, value
	if c.emit(n) {
		c.setDyn(0, n)
	}
}

func lowerCast(c *call) {
	to := int32(c.attrInt("to", 0))
	if !c.ok() {
		return
	}
	x := c.dyn(0)
	if x == nil {
		return
	}
	if to != tFloat {
		c.fail("casts the network's tensors to %s; only FLOAT is supported", typeName(to))
		return
	}
	c.rebind(x)
}

// lowerArith lowers Add, Sub, Mul and Div with at least one computed input.
func lowerArith(c *call) {
	if !c.ok() {
		return
	}
	if len(c.in) != 2 || !c.present(0) || !c.present(1) {
		c.fail("needs 2 inputs")
		return
	}
	va, vb := c.val(0), c.val(1)
	if va.n != nil && vb.n != nil {
		lowerBinary(c, va.n, vb.n)
		return
	}
	x, k, ki := va.n, vb.c, 1
	if x == nil {
		x, k, ki = vb.n, va.c, 0
	}
	vals := c.channelValues(x, k, c.read[ki])
	if vals == nil {
		return
	}
	var scale, shift []float64
	switch c.op {
	case "Add":
		if c.fuseBias(x, k, ki) {
			return
		}
		scale, shift = []float64{1}, vals
	case "Sub":
		if ki == 1 { // x - k
			for i := range vals {
				vals[i] = -vals[i]
			}
			scale, shift = []float64{1}, vals
		} else { // k - x
			scale, shift = []float64{-1}, vals
		}
	case "Mul":
		scale, shift = vals, []float64{0}
	case "Div":
		if ki == 0 {
			c.fail("divides a constant by a tensor; only division by a constant is supported")
			return
		}
		for i, v := range vals {
			if v == 0 {
				c.fail("divides by zero")
				return
			}
			vals[i] = 1 / v
		}
		scale, shift = vals, []float64{0}
	}
	c.affine(x, scale, shift)
}

// channelValues returns a constant operand of elementwise arithmetic as one value (a scalar)
// or one per channel (dims broadcasting only along dimension 1: [C], [C 1 1], [1 C 1 1]).
func (c *call) channelValues(x *ir.Node, k *tensor, name string) []float64 {
	if !k.isFloat() {
		c.fail("constant %q is %s; arithmetic with the network's tensors needs a float constant", name, typeName(k.dtype))
		return nil
	}
	r := rank(x)
	bad := len(k.dims) > r || k.size() == 0
	if !bad {
		pd := padDims(k.dims, r)
		for j, d := range pd {
			if d != 1 && (j != 1 || d != x.Shape[0]) {
				bad = true
			}
		}
	}
	if bad {
		c.fail("constant %q of dims %v on a tensor [N %v] is neither a scalar nor one value per channel; only those broadcasts are supported", name, k.dims, x.Shape)
		return nil
	}
	vals := make([]float64, k.size())
	for i := range vals {
		vals[i] = float64(k.f[i])
	}
	return vals
}

// fuseBias folds x + k into the bias of a bias-less convolution or linear layer x that only
// this node reads (MatMul + Add is a linear layer with bias).
func (c *call) fuseBias(x *ir.Node, k *tensor, ki int) bool {
	if !c.singleUse(x) {
		return false
	}
	var n int
	switch {
	case x.Op == ir.OpLinear && !x.LinBias:
		n = x.Features
	case x.Op == ir.OpConv && !x.Conv.Bias:
		n = x.Conv.Out
	default:
		return false
	}
	if k.size() != n && k.size() != 1 {
		return false
	}
	b := c.vector(k, n, "bias")
	if b == nil {
		return false
	}
	saved := *x
	params := append([]ir.Param(nil), x.Params...)
	if x.Op == ir.OpLinear {
		x.LinBias = true
		if x.Gemm != nil {
			g := *x.Gemm
			g.Beta = 1
			x.Gemm = &g
		}
	} else {
		conv := *x.Conv
		conv.Bias = true
		x.Conv = &conv
	}
	x.Params = append(params, ir.Param{Key: c.read[ki]})
	data := append(append([]*tensor(nil), c.l.pdata[x]...), b)
	if !c.infer(x, data) {
		*x = saved
		return true // the failure is recorded
	}
	c.l.pdata[x] = data
	c.rebind(x)
	return true
}

// affine makes the output x*scale+shift, merged into x when x is an affine only this node
// reads, and x itself when the affine is the identity.
func (c *call) affine(x *ir.Node, scale, shift []float64) {
	if x.Op == ir.OpAffine && c.singleUse(x) {
		s, b := composeAffine(x.Scale, x.Shift, scale, shift)
		if s != nil {
			saved := *x
			x.Scale, x.Shift = s, b
			if !c.infer(x, nil) {
				*x = saved
				return
			}
			c.rebind(x)
			return
		}
	}
	identity := true
	for _, v := range scale {
		identity = identity && v == 1
	}
	for _, v := range shift {
		identity = identity && v == 0
	}
	if identity {
		c.rebind(x)
		return
	}
	n := c.newNode(ir.OpAffine, x)
	n.Scale, n.Shift = scale, shift
	if c.emit(n) {
		c.setDyn(0, n)
	}
}

// composeAffine returns (x*s1+b1)*s2+b2 as one scale and shift, nil when the lengths clash.
func composeAffine(s1, b1, s2, b2 []float64) ([]float64, []float64) {
	n := max(len(s1), len(b1), len(s2), len(b2))
	for _, v := range [][]float64{s1, b1, s2, b2} {
		if len(v) != 1 && len(v) != n {
			return nil, nil
		}
	}
	at := func(v []float64, i int) float64 {
		if len(v) == 1 {
			return v[0]
		}
		return v[i]
	}
	s, b := make([]float64, n), make([]float64, n)
	for i := range s {
		s[i] = at(s1, i) * at(s2, i)
		b[i] = at(b1, i)*at(s2, i) + at(b2, i)
	}
	return s, b
}

// lowerBinary lowers Add and Mul of two computed tensors.
func lowerBinary(c *call, a, b *ir.Node) {
	var n *ir.Node
	switch c.op {
	case "Add":
		if !a.Shape.Equal(b.Shape) {
			c.fail("adds [N %v] and [N %v]; broadcasting between computed tensors is not supported", a.Shape, b.Shape)
			return
		}
		n = c.newNode(ir.OpAdd, a, b)
	case "Mul":
		chanScale := func(x, s *ir.Node) bool {
			return len(x.Shape) == 3 && s.Shape.Equal(ir.Shape{x.Shape[0], 1, 1})
		}
		switch {
		case gate(a, b) != "":
			n = c.newNode(gate(a, b), a)
		case gate(b, a) != "":
			n = c.newNode(gate(b, a), b)
		case a.Shape.Equal(b.Shape), chanScale(a, b):
			n = c.newNode(ir.OpMul, a, b)
		case chanScale(b, a):
			n = c.newNode(ir.OpMul, b, a)
		default:
			c.fail("multiplies [N %v] by [N %v]; only equal shapes or a per-channel [C 1 1] factor are supported", a.Shape, b.Shape)
			return
		}
	default:
		c.fail("%s of two computed tensors is not supported (only Add and Mul)", c.op)
		return
	}
	if c.emit(n) {
		c.setDyn(0, n)
	}
}

// gate recognises x * g(x) for g = sigmoid (SiLU) and g = hardsigmoid(1/6, 1/2) (HardSwish).
func gate(x, g *ir.Node) ir.Op {
	if len(g.Inputs) != 1 || g.Inputs[0] != x {
		return ""
	}
	switch {
	case g.Op == ir.OpSigmoid:
		return ir.OpSiLU
	case g.Op == ir.OpHardSigmoid && math.Abs(g.HardAlpha-1.0/6) < 1e-6 && g.HardBeta == 0.5:
		return ir.OpHardSwish
	}
	return ""
}
