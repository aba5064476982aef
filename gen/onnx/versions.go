package onnx

import "fmt"

// Operator versions. A model imports one ai.onnx opset; each operator it uses is then the
// version of that operator with the largest since_version at or below the opset (ONNX's rule).
// Most new versions only add types, which cnngen (float32 networks) does not see; the ones that
// change what a node means are handled where the operator is lowered, keyed by the version
// (call.ver), and listed in README.md. The tables below are ONNX's operator changelog up to
// MaxOpset (onnx.defs.get_all_schemas_with_history() for opsets up to 17, which Debian's ONNX
// knows; ONNX's Changelog.md for 18 to 21).

// opVersions lists every since_version of each operator the front end folds or lowers.
var opVersions = map[string][]int64{
	"Add":                {1, 6, 7, 13, 14},
	"AveragePool":        {1, 7, 10, 11, 19},
	"BatchNormalization": {1, 6, 7, 9, 14, 15},
	"Cast":               {1, 6, 9, 13, 19, 21},
	"Clip":               {1, 6, 11, 12, 13},
	"Concat":             {1, 4, 11, 13},
	"Constant":           {1, 9, 11, 12, 13, 19, 21},
	"ConstantOfShape":    {9, 20, 21},
	"Conv":               {1, 11},
	"Div":                {1, 6, 7, 13, 14},
	"Dropout":            {1, 6, 7, 10, 12, 13},
	"Erf":                {9, 13},
	"Flatten":            {1, 9, 11, 13, 21},
	"Gather":             {1, 11, 13},
	"Gelu":               {20},
	"Gemm":               {1, 6, 7, 9, 11, 13},
	"GlobalAveragePool":  {1},
	"GlobalMaxPool":      {1},
	"HardSigmoid":        {1, 6},
	"HardSwish":          {14},
	"Identity":           {1, 13, 14, 16, 19, 21},
	"LayerNormalization": {17},
	"LogSoftmax":         {1, 11, 13},
	"LRN":                {1, 13},
	"MatMul":             {1, 9, 13},
	"MaxPool":            {1, 8, 10, 11, 12},
	"Mul":                {1, 6, 7, 13, 14},
	"Pad":                {1, 2, 11, 13, 18, 19, 21},
	"Pow":                {1, 7, 12, 13, 15},
	"ReduceL2":           {1, 11, 13, 18},
	"ReduceMax":          {1, 11, 12, 13, 18, 20},
	"ReduceMean":         {1, 11, 13, 18},
	"ReduceSum":          {1, 11, 13},
	"Relu":               {1, 6, 13, 14},
	"Reshape":            {1, 5, 13, 14, 19, 21},
	"Shape":              {1, 13, 15, 19, 21},
	"Sigmoid":            {1, 6, 13},
	"Slice":              {1, 10, 11, 13},
	"Softmax":            {1, 11, 13},
	"Split":              {1, 2, 11, 13, 18},
	"Sqrt":               {1, 6, 13},
	"Squeeze":            {1, 11, 13, 21},
	"Sub":                {1, 6, 7, 13, 14},
	"Tanh":               {1, 6, 13},
	"Transpose":          {1, 13, 21},
	"Unsqueeze":          {1, 11, 13, 21},
}

// attrSpans bounds the attributes that only some versions of an operator have, as the first and
// last version that defines them (since_version values; 0 for "still there"). An attribute of
// another version is refused, naming the version: it would be read with a meaning the node does
// not have (Pad-11's pads are an input, a pads attribute there is an error in the model).
var attrSpans = map[string]map[string][2]int64{
	"Add":                legacyArith,
	"Sub":                legacyArith,
	"Mul":                legacyArith,
	"Div":                legacyArith,
	"Pow":                {"broadcast": {1, 1}, "axis": {1, 1}},
	"AveragePool":        {"count_include_pad": {7, 0}, "ceil_mode": {10, 0}, "dilations": {19, 0}},
	"MaxPool":            {"storage_order": {8, 0}, "ceil_mode": {10, 0}, "dilations": {10, 0}},
	"BatchNormalization": {"consumed_inputs": {1, 1}, "is_test": {1, 6}, "spatial": {1, 7}, "training_mode": {14, 0}},
	"Gemm":               {"broadcast": {1, 6}},
	"Clip":               {"consumed_inputs": {1, 1}, "min": {1, 6}, "max": {1, 6}},
	"Dropout":            {"consumed_inputs": {1, 1}, "is_test": {1, 6}, "ratio": {1, 10}, "seed": {12, 0}},
	"Relu":               consumedInputs,
	"Sigmoid":            consumedInputs,
	"Tanh":               consumedInputs,
	"HardSigmoid":        consumedInputs,
	"Sqrt":               consumedInputs,
	"Reshape":            {"consumed_inputs": {1, 1}, "shape": {1, 1}, "allowzero": {14, 0}},
	"Pad":                {"paddings": {1, 1}, "pads": {2, 2}, "value": {1, 2}},
	"Squeeze":            {"axes": {1, 11}},
	"Unsqueeze":          {"axes": {1, 11}},
	"Slice":              {"starts": {1, 1}, "ends": {1, 1}, "axes": {1, 1}},
	"Split":              {"split": {1, 11}, "num_outputs": {18, 0}},
	"Shape":              {"start": {15, 0}, "end": {15, 0}},
	"Constant": {"sparse_value": {11, 0}, "value_float": {12, 0}, "value_floats": {12, 0}, "value_int": {12, 0},
		"value_ints": {12, 0}, "value_string": {12, 0}, "value_strings": {12, 0}},
	"ReduceMean": reduceSpans,
	"ReduceMax":  reduceSpans,
	"ReduceL2":   reduceSpans,
	"ReduceSum":  {"axes": {1, 11}, "noop_with_empty_axes": {13, 0}},
	"Cast":       {"saturate": {19, 0}},
}

var (
	legacyArith    = map[string][2]int64{"consumed_inputs": {1, 1}, "broadcast": {1, 6}, "axis": {1, 6}}
	consumedInputs = map[string][2]int64{"consumed_inputs": {1, 1}}
	reduceSpans    = map[string][2]int64{"axes": {1, 13}, "noop_with_empty_axes": {18, 0}}
)

// opVersion is the version of op a model of the given opset uses: the largest since_version at
// or below it, 0 when op did not exist yet (or is unknown).
func opVersion(op string, opset int64) int64 {
	var v int64
	for _, s := range opVersions[op] {
		if s <= opset {
			v = s
		}
	}
	return v
}

// checkVersion sets c.ver and refuses an operator the opset does not have yet and attributes
// its version does not define. It reports whether lowering may go on.
func (c *call) checkVersion() bool {
	opset := c.l.opset
	c.ver = opVersion(c.op, opset)
	if c.ver == 0 {
		if vs := opVersions[c.op]; len(vs) > 0 {
			c.fail("%s does not exist at opset %d (it was added at opset %d)", c.op, opset, vs[0])
		} else {
			c.fail("internal error: no version history for %s", c.op)
		}
		return false
	}
	for _, a := range c.pb.GetAttribute() {
		span, ok := attrSpans[c.op][a.GetName()]
		if !ok || c.ver >= span[0] && (span[1] == 0 || c.ver <= span[1]) {
			continue
		}
		switch has := ""; {
		case span[1] == 0:
			c.fail("attribute %s is not part of %s-%d (opset %d); it came with %s-%d", a.GetName(), c.op, c.ver, opset, c.op, span[0])
		default:
			for _, v := range opVersions[c.op] {
				if v >= span[0] && v <= span[1] {
					has += fmt.Sprintf(", %s-%d", c.op, v)
				}
			}
			c.fail("attribute %s is not part of %s-%d (opset %d); it belongs to %s", a.GetName(), c.op, c.ver, opset, has[2:])
		}
	}
	return len(c.whys) == 0
}

// versionName is the operator and its version, for messages: "Pad-11".
func (c *call) versionName() string { return fmt.Sprintf("%s-%d", c.op, c.ver) }
