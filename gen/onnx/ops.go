package onnx

import (
	"math"
	"reflect"
	"sort"
	"strings"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx/onnxpb"
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

var opTable = map[string]opDef{}

// Operators lists the ONNX operators (of the ai.onnx domain) Graph can fold or lower, sorted.
// Whether a model imports also depends on its attributes, inputs and shapes.
func Operators() []string {
	var ops []string
	for op := range opTable {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

func init() {
	// Ops that gen/ir says come 1:1 from an ONNX operator need nothing here (see generic); the
	// hand-written entries below take precedence, for operators whose ONNX form differs from
	// the IR op's attributes.
	for _, d := range ir.Ops() {
		if d.ONNX != "" {
			opTable[d.ONNX] = generic(d)
		}
	}
	arith := opDef{fold: foldArith, lower: lowerArith}
	reduce := opDef{attrs: "axes keepdims noop_with_empty_axes", lower: lowerReduce}
	pool := "auto_pad ceil_mode kernel_shape pads strides"
	for op, def := range map[string]opDef{
		// folded
		"Constant":        {attrs: "value value_float value_floats value_int value_ints sparse_value value_string value_strings", fold: foldConstant},
		"ConstantOfShape": {attrs: "value", fold: foldConstantOfShape},
		"Shape":           {attrs: "start end", fold: foldShape, alwaysFold: true},
		"Gather":          {attrs: "axis", fold: foldGather},
		"Slice":           {attrs: "starts ends axes", fold: foldSlice, lower: lowerSlice},
		"Split":           {attrs: "axis split num_outputs", fold: foldSplit, lower: lowerSplit},
		"Transpose":       {attrs: "perm", fold: foldTranspose, lower: lowerTranspose},
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
		"Clip":               {attrs: "min max", lower: lowerClip},
		"Softmax":            {attrs: "axis", lower: lowerSoftmax},
		"LogSoftmax":         {attrs: "axis", lower: lowerSoftmax},
		"Pad":                {attrs: "mode pads value", lower: lowerPad},
		"LayerNormalization": {attrs: "axis epsilon stash_type", lower: lowerLayerNorm},
		"Gelu":               {attrs: "approximate", lower: lowerGelu},
		"Pow":                {fold: foldArith, lower: lowerPow},
		"Sqrt":               {fold: foldSqrt, lower: lowerSqrt},
		"ReduceMean":         reduce,
		"ReduceMax":          reduce,
		"ReduceSum":          reduce,
		"ReduceL2":           reduce,
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
	} {
		opTable[op] = def
	}
}

// generic is the lowering of an ONNX operator that gen/ir maps 1:1 to op d.Op (d.ONNX): one
// input, and attributes named and typed as d's attribute fields (ir.Field.ONNXName), those
// absent taking ONNX's defaults (d.ONNXNew, else d.New). An elementwise op added to gen/ir with
// its ONNX name is thereby imported without a change here.
func generic(d *ir.OpDef) opDef {
	newAttrs := d.ONNXNew
	if newAttrs == nil {
		newAttrs = d.New
	}
	var names []string
	if newAttrs != nil {
		for _, f := range ir.Fields(newAttrs()) {
			names = append(names, f.ONNXName)
		}
	}
	return opDef{attrs: strings.Join(names, " "), lower: func(c *call) {
		var a ir.Attrs
		if newAttrs != nil {
			a = newAttrs()
			c.readAttrs(a, newAttrs)
		}
		if !c.ok() {
			return
		}
		if len(c.in) != 1 {
			c.fail("takes one input, got %d", len(c.in))
			return
		}
		// Elementwise: a transposed input gives an output transposed the same way.
		x, perm := c.dynView(0)
		if x == nil {
			return
		}
		n := c.newNode(d.Op, x)
		n.Attrs = a
		if c.emit(n) {
			c.setView(0, n, perm)
		}
	}}
}

// readAttrs sets each field of a from the node's attribute of its ONNX name, read by the field's
// Go type; a field the node does not give keeps its ONNX default (a Defaulter's, once the given
// fields are read, else newAttrs'), and a required one is an error.
func (c *call) readAttrs(a ir.Attrs, newAttrs func() ir.Attrs) {
	var missing []ir.Field
	for _, f := range ir.Fields(a) {
		if !c.has(f.ONNXName) {
			missing = append(missing, f)
			continue
		}
		c.readField(f)
	}
	for _, f := range missing {
		if f.Required {
			c.fail("attribute %s is required", f.ONNXName)
			continue
		}
		if v := ir.Default(a, newAttrs, f.Name); v != nil && reflect.TypeOf(v) == f.Value.Type() {
			f.Value.Set(reflect.ValueOf(v))
		}
	}
}

// maxIntAttr bounds the int attributes read generically: their meaning is the op's, so only the
// range every int shape computation can take is enforced.
const maxIntAttr = math.MaxInt32

// readField reads one attribute into f: float64 from FLOAT, int from INT, bool from INT 0 or 1,
// string from STRING, int arrays and slices from INTS and []float64 from FLOATS.
func (c *call) readField(f ir.Field) {
	name, v := f.ONNXName, f.Value
	switch t := v.Type(); {
	case t.Kind() == reflect.Float64:
		v.SetFloat(c.attrFloat(name, v.Float()))
	case t.Kind() == reflect.Int:
		i := c.attrInt(name, v.Int())
		if i < -maxIntAttr || i > maxIntAttr {
			c.fail("attribute %s = %d is out of range", name, i)
			return
		}
		v.SetInt(i)
	case t.Kind() == reflect.Bool:
		switch i := c.attrInt(name, 0); i {
		case 0, 1:
			v.SetBool(i == 1)
		default:
			c.fail("attribute %s = %d: want 0 or 1", name, i)
		}
	case t.Kind() == reflect.String:
		v.SetString(c.attrString(name, v.String()))
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Float64:
		a := c.attr(name, onnxpb.AttributeProto_FLOATS)
		if a == nil {
			return
		}
		fs := reflect.MakeSlice(t, len(a.GetFloats()), len(a.GetFloats()))
		for k, x := range a.GetFloats() {
			fs.Index(k).SetFloat(widen(x))
		}
		v.Set(fs)
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t.Elem().Kind() == reflect.Int:
		a := c.attr(name, onnxpb.AttributeProto_INTS)
		if a == nil {
			return
		}
		is := a.GetInts()
		if t.Kind() == reflect.Array && len(is) != t.Len() {
			c.fail("attribute %s %v: want %d values", name, is, t.Len())
			return
		}
		if t.Kind() == reflect.Slice {
			v.Set(reflect.MakeSlice(t, len(is), len(is)))
		}
		for k, i := range is {
			if i < -maxIntAttr || i > maxIntAttr {
				c.fail("attribute %s %v: %d is out of range", name, is, i)
				return
			}
			v.Index(k).SetInt(i)
		}
	default:
		c.fail("internal error: attribute %s is a %s, which the ONNX front end cannot read", name, t)
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
