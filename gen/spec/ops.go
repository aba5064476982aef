package spec

import (
	"fmt"
	"math"
	"sort"

	"github.com/cnngen/cnngen/gen/ir"
	"gopkg.in/yaml.v3"
)

var containers = map[string]bool{"seq": true, "repeat": true, "add": true, "concat": true, "mul": true, "aux": true}

// opReader fills a node's attributes from a layer's mapping. Each op lists its fields so unknown
// ones are errors.
type opReader struct {
	op     ir.Op
	fields []string
	read   func(a *attrs, n *ir.Node) error
}

func noAttrs(op ir.Op) opReader { return opReader{op: op} }

var primitives = map[string]opReader{
	"conv": {ir.OpConv, []string{"out", "kernel", "stride", "pad", "dilation", "groups", "bias", "keys"}, readConv},
	"maxpool": {ir.OpMaxPool, []string{"kernel", "stride", "pad", "ceil_mode"}, func(a *attrs, n *ir.Node) error {
		return readPool(a, n, false)
	}},
	"avgpool": {ir.OpAvgPool, []string{"kernel", "stride", "pad", "ceil_mode", "count_include_pad"}, func(a *attrs, n *ir.Node) error {
		return readPool(a, n, true)
	}},
	"adaptive_avgpool": {ir.OpAdaptiveAvgPool, []string{"out"}, func(a *attrs, n *ir.Node) (err error) {
		n.OutSize, err = a.pair("out", 0, true, 1)
		return err
	}},
	"gap":            noAttrs(ir.OpGlobalAvgPool),
	"global_avgpool": noAttrs(ir.OpGlobalAvgPool),
	"global_maxpool": noAttrs(ir.OpGlobalMaxPool),
	"lrn": {ir.OpLRN, []string{"size", "alpha", "beta", "k", "lo"}, func(a *attrs, n *ir.Node) (err error) {
		l := &ir.LRNAttrs{}
		if l.Size, err = a.int("size", 0, true, 1); err != nil {
			return err
		}
		if l.Alpha, err = a.float("alpha", 1e-4); err != nil {
			return err
		}
		if l.Beta, err = a.float("beta", 0.75); err != nil {
			return err
		}
		if l.Bias, err = a.float("k", 1); err != nil {
			return err
		}
		// PyTorch's window starts size/2 channels before c, ONNX's (size-1)/2.
		if l.Lo, err = a.int("lo", int64(l.Size/2), false, 0); err != nil {
			return err
		}
		if l.Lo >= l.Size {
			return a.b.errAt(a.raw("lo"), "lrn: lo must be less than size (%d), found %d", l.Size, l.Lo)
		}
		n.LRN = l
		return nil
	}},
	"bn": {ir.OpBatchNorm, []string{"eps", "keys"}, func(a *attrs, n *ir.Node) (err error) {
		if n.Eps, err = a.float("eps", 1e-5); err == nil && n.Eps <= 0 {
			return a.b.errAt(a.raw("eps"), "bn: eps must be positive")
		}
		return err
	}},
	"relu":      noAttrs(ir.OpReLU),
	"relu6":     noAttrs(ir.OpReLU6),
	"sigmoid":   noAttrs(ir.OpSigmoid),
	"silu":      noAttrs(ir.OpSiLU),
	"tanh":      noAttrs(ir.OpTanh),
	"hardswish": noAttrs(ir.OpHardSwish),
	"hardsigmoid": {ir.OpHardSigmoid, []string{"alpha", "beta"}, func(a *attrs, n *ir.Node) (err error) {
		if n.HardAlpha, err = a.float("alpha", 1.0/6); err != nil {
			return err
		}
		n.HardBeta, err = a.float("beta", 0.5)
		return err
	}},
	"flatten": noAttrs(ir.OpFlatten),
	"linear":  {ir.OpLinear, []string{"out", "bias", "alpha", "beta", "transposed", "keys"}, readLinear},
	"dropout": {ir.OpDropout, []string{"p"}, func(a *attrs, n *ir.Node) (err error) {
		if n.Dropout, err = a.float("p", 0.5); err == nil && (n.Dropout < 0 || n.Dropout > 1) {
			return a.b.errAt(a.raw("p"), "dropout: p must be in [0, 1]")
		}
		return err
	}},
	"softmax":    {ir.OpSoftmax, []string{"axis", "axis_end"}, readAxes},
	"logsoftmax": {ir.OpLogSoftmax, []string{"axis", "axis_end"}, readAxes},
	"affine": {ir.OpAffine, []string{"scale", "shift"}, func(a *attrs, n *ir.Node) (err error) {
		if n.Scale, err = a.floats("scale", true, true); err != nil {
			return err
		}
		n.Shift, err = a.floats("shift", true, true)
		return err
	}},
	"reshape": {ir.OpReshape, []string{"shape"}, readReshape},
	"clip": {ir.OpClip, []string{"min", "max"}, func(a *attrs, n *ir.Node) (err error) {
		if n.ClipMin, err = a.floatOrInf("min", math.Inf(-1)); err != nil {
			return err
		}
		if n.ClipMax, err = a.floatOrInf("max", math.Inf(1)); err != nil {
			return err
		}
		if n.ClipMin > n.ClipMax {
			return a.b.errAt(a.node, "clip: min %g is greater than max %g", n.ClipMin, n.ClipMax)
		}
		return nil
	}},
	"pad": {ir.OpPad, []string{"pads", "value"}, func(a *attrs, n *ir.Node) (err error) {
		if n.Pads, err = a.pad("pads", true); err != nil {
			return err
		}
		n.PadValue, err = a.float("value", 0)
		return err
	}},
}

func readLinear(a *attrs, n *ir.Node) (err error) {
	if n.Features, err = a.int("out", 0, true, 1); err != nil {
		return err
	}
	if n.LinBias, err = a.bool("bias", true); err != nil {
		return err
	}
	g := ir.GemmAttrs{}
	if g.Alpha, err = a.float("alpha", 1); err != nil {
		return err
	}
	if g.Beta, err = a.float("beta", 1); err != nil {
		return err
	}
	if g.TransW, err = a.bool("transposed", false); err != nil {
		return err
	}
	if g != (ir.GemmAttrs{Alpha: 1, Beta: 1}) {
		n.Gemm = &g
	}
	return nil
}

func readAxes(a *attrs, n *ir.Node) (err error) {
	if n.Axis, err = a.int("axis", 0, false, 0); err != nil {
		return err
	}
	n.AxisEnd, err = a.int("axis_end", 0, false, 0)
	return err
}

// readReshape reads the per-image target shape; one dimension may be -1, inferred from the size.
func readReshape(a *attrs, n *ir.Node) error {
	dims, err := a.ints("shape", nil, true, -1, anyLen)
	if err != nil {
		return err
	}
	if len(dims) > maxRank {
		return a.b.errAt(a.raw("shape"), "reshape: shape has %d dimensions, at most %d are supported", len(dims), maxRank)
	}
	free, known := -1, 1
	for i, d := range dims {
		switch {
		case d == 0:
			return a.b.errAt(a.raw("shape"), "reshape: shape dimensions must be positive (or one -1), found 0")
		case d < 0 && free >= 0:
			return a.b.errAt(a.raw("shape"), "reshape: shape may have only one -1")
		case d < 0:
			free = i
		default:
			if known > math.MaxInt32/d {
				return a.b.errAt(a.raw("shape"), "reshape: shape %v is too large", dims)
			}
			known *= d
		}
	}
	size := n.Inputs[0].Shape.Size()
	if free >= 0 {
		if size%known != 0 {
			return a.b.errAt(a.raw("shape"), "reshape: cannot fit %d values (input %v) into %v", size, n.Inputs[0].Shape, dims)
		}
		dims[free] = size / known
	}
	n.Target = ir.Shape(dims)
	return nil
}

func opNames() []string {
	var ns []string
	for k := range primitives {
		ns = append(ns, k)
	}
	for k := range containers {
		ns = append(ns, k)
	}
	sort.Strings(ns)
	return ns
}

func readConv(a *attrs, n *ir.Node) (err error) {
	c := &ir.ConvAttrs{}
	if c.Out, err = a.int("out", 0, true, 1); err != nil {
		return err
	}
	if c.Kernel, err = a.pair("kernel", 0, true, 1); err != nil {
		return err
	}
	if c.Stride, err = a.pair("stride", 1, false, 1); err != nil {
		return err
	}
	if c.Pad, err = a.pad("pad", false); err != nil {
		return err
	}
	if c.Dilation, err = a.pair("dilation", 1, false, 1); err != nil {
		return err
	}
	if c.Groups, err = a.int("groups", 1, false, 1); err != nil {
		return err
	}
	if c.Bias, err = a.bool("bias", true); err != nil {
		return err
	}
	n.Conv = c
	return nil
}

func readPool(a *attrs, n *ir.Node, avg bool) (err error) {
	p := &ir.PoolAttrs{}
	if p.Kernel, err = a.pair("kernel", 0, true, 1); err != nil {
		return err
	}
	if p.Stride, err = a.pair("stride", 0, false, 1); err != nil {
		return err
	}
	if !a.has("stride") {
		p.Stride = p.Kernel // PyTorch's default
	}
	if p.Pad, err = a.pad("pad", false); err != nil {
		return err
	}
	if p.CeilMode, err = a.bool("ceil_mode", false); err != nil {
		return err
	}
	if avg {
		if p.CountIncludePad, err = a.bool("count_include_pad", true); err != nil {
			return err
		}
	}
	n.Pool = p
	return nil
}

func (b *builder) primitive(key string, keyNode, body *yaml.Node, c ctx, x *ir.Node) (*ir.Node, error) {
	r := primitives[key]
	a, err := b.attrs(key, keyNode, body, c.sc)
	if err != nil {
		return nil, err
	}
	if err := a.checkKnown(append([]string{"name", "if", "from"}, r.fields...)...); err != nil {
		return nil, err
	}
	skip, name, err := b.common(a)
	if err != nil || skip {
		return x, err
	}
	if x, err = b.source(a, c, x); err != nil {
		return nil, err
	}
	n := &ir.Node{Op: r.op, Inputs: []*ir.Node{x}, Pos: b.pos(keyNode), TrainingOnly: c.training}
	if r.read != nil {
		if err := r.read(a, n); err != nil {
			return nil, err
		}
	}
	n.Name = c.fullName(name)
	var keyPos map[string]*yaml.Node
	if len(ir.ParamRoles(n)) > 0 {
		if n.Name == "" {
			return nil, b.errAt(keyNode, "%s needs a name: its weights are stored as NAME.weight (or put it in a seq, which numbers its layers)", key)
		}
		n.SetParamKeys(n.Name)
		if keyPos, err = b.keys(a, n); err != nil {
			return nil, err
		}
	}
	if n.Name == "" {
		n.Name = b.autoName(c, key)
	}
	out, err := b.place(n, c)
	if err != nil {
		return nil, err
	}
	for i, p := range n.Params {
		at := keyNode
		if kn := keyPos[p.Key]; kn != nil {
			at = kn
		}
		for _, q := range n.Params[:i] {
			if q.Key == p.Key {
				return nil, b.errAt(at, "%s: weight key %q is given to two of the layer's tensors", key, p.Key)
			}
		}
		if prev := b.weights[p.Key]; prev != nil {
			return nil, b.errAt(at, "%s: weight key %q is already used by layer %q at %s", key, p.Key, prev.Name, prev.Pos)
		}
		b.weights[p.Key] = n
	}
	return out, nil
}

// keys applies a layer's `keys: {role: key}`, which overrides the default NAME.role weight keys,
// and returns the position of each explicit key.
func (b *builder) keys(a *attrs, n *ir.Node) (map[string]*yaml.Node, error) {
	kn := a.raw("keys")
	if kn == nil {
		return nil, nil
	}
	roles := ir.ParamRoles(n)
	ka, err := b.attrs(a.owner+" keys", kn, kn, a.sc)
	if err != nil {
		return nil, err
	}
	if err := ka.checkKnown(roles...); err != nil {
		return nil, err
	}
	pos := map[string]*yaml.Node{}
	for i, role := range roles {
		k, vn, err := ka.str(role)
		if err != nil {
			return nil, err
		}
		if vn == nil {
			continue
		}
		if k == "" {
			return nil, b.errAt(vn, "%s: the %s key is empty", ka.owner, role)
		}
		n.Params[i].Key = k
		pos[k] = vn
	}
	return pos, nil
}

// source resolves an item's `from: NAME`: the earlier layer it reads instead of x, the previous
// item's output.
func (b *builder) source(a *attrs, c ctx, x *ir.Node) (*ir.Node, error) {
	if !a.has("from") {
		return x, nil
	}
	name, n, err := a.str("from")
	if err != nil {
		return nil, err
	}
	return b.lookup(a.owner+": from", name, n, c)
}

// lookup finds the layer a `from` or an `inputs` entry names.
func (b *builder) lookup(what, name string, at *yaml.Node, c ctx) (*ir.Node, error) {
	src := b.names[name]
	if src == nil {
		return nil, b.errAt(at, "%s: no layer named %q before this one (give a full layer name, e.g. layer1.0.conv1, or %q for the network input)", what, name, b.g.Input().Name)
	}
	if src.TrainingOnly && !c.training {
		return nil, b.errAt(at, "%s: %q is in a training-only aux head, which the network cannot read", what, name)
	}
	return src, nil
}

func (b *builder) autoName(c ctx, op string) string {
	for {
		b.auto++
		if name := join(c.prefix, fmt.Sprintf("%s#%d", op, b.auto)); b.names[name] == nil {
			return name
		}
	}
}
